export type { AiSdkCallSettings, AiSdkLanguageModel, AiSdkOptions } from './options.js';
export { AiSdkProvider, aiSdk } from './provider.js';
