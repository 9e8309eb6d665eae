/**
 * The public API of `@shoal/ai-sdk`: any AI SDK language model (specification v3 or v2) as a shoal provider, with the
 * executor's queue, limits, retries, cache, ledger, budget and journal on top of it.
 *
 * @module @shoal/ai-sdk
 */
export type { AiSdkCallSettings, AiSdkLanguageModel, AiSdkOptions } from './options.js';
export { AiSdkProvider, aiSdk } from './provider.js';
