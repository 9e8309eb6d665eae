import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import {
  type CompletionRequest,
  type ModelPrices,
  type ModelProvider,
  ProtocolError,
  type ProviderCallContext,
  type ProviderResult,
  type ShoalError,
} from '@shoal/core';
import { abortError, providerPrices, rawForError, withoutSecrets } from '@shoal/core/internal';
import { answerText, finishReason, type GenerateResult, toUsage } from './answer.js';
import { type ErrorSource, refusesSchema, toShoalError } from './errors.js';
import { type AiSdkCallSettings, type AiSdkLanguageModel, type AiSdkOptions, checkArgs, checkModel, checkOptions } from './options.js';
import { modelSecrets } from './secrets.js';

/**
 * Any AI SDK language model as a shoal provider: `createExecutor({ provider: aiSdk(model) })`
 * puts the executor's queue, limits, retries, dedup, cache, ledger, budget and journal on top
 * of it. One call is one `doGenerate` with the prompt as a single user message; structured
 * output goes as the response format when the model takes it, and by the prompt otherwise.
 */
export function aiSdk(model: AiSdkLanguageModel, options?: AiSdkOptions): AiSdkProvider {
  return new AiSdkProvider(model, options);
}

type Outcome = { readonly ok: true; readonly result: GenerateResult } | { readonly ok: false; readonly error: unknown };

export class AiSdkProvider implements ModelProvider {
  readonly specificationVersion = 'shoal.provider.v1' as const;
  /** `ai-sdk:` and the AI SDK provider's name, e.g. `ai-sdk:openai.chat`. */
  readonly name: string;
  /** Aborting a call aborts its `doGenerate` (the SDK's providers close the request). */
  readonly cancelsWork = true;
  /** The model's id, as the AI SDK names it (`gpt-4o-mini`). */
  readonly model: string;
  /** The model's prices: the `pricing` option over the known ones; undefined when unknown. */
  readonly pricing: Required<ModelPrices> | undefined;
  /** The AI SDK model this provider calls. */
  readonly languageModel: AiSdkLanguageModel;
  readonly #settings: AiSdkCallSettings;
  readonly #mode: 'auto' | 'strict' | 'prompt';
  /** Schemas this model refused as the response format: sent by prompt from then on. */
  readonly #refused = new WeakSet<object>();
  readonly #service: string;

  constructor(model: AiSdkLanguageModel, options?: AiSdkOptions) {
    this.languageModel = checkModel(model);
    const { settings, mode, pricing } = checkOptions(options);
    this.#settings = settings;
    this.#mode = mode;
    this.model = this.languageModel.modelId;
    this.name = `ai-sdk:${this.languageModel.provider}`;
    this.#service = `AI SDK provider ${JSON.stringify(this.languageModel.provider)}`;
    this.pricing = providerPrices('aiSdk()', pricing, this.model);
  }

  async doComplete(request: CompletionRequest, context: ProviderCallContext): Promise<ProviderResult> {
    const { signal } = context;
    // Checked before anything is sent: a wrong key here would otherwise be dropped by the model without a word.
    const args = request.args ? checkArgs(request.args) : undefined;
    const source = this.#source(signal, args?.headers);
    const output = request.output;
    const schemaFormat = output !== undefined && this.#mode !== 'prompt' && !this.#refused.has(output.schema);
    let requests = 1;
    let outcome = await this.#generate(request, args, schemaFormat, context);
    if (!outcome.ok && schemaFormat && this.#mode === 'auto' && !signal.aborted && refusesSchema(outcome.error)) {
      // The model refused the schema as its response format: the prompt states it anyway, so ask again without.
      this.#refused.add(output!.schema);
      requests++;
      outcome = await this.#generate(request, args, false, context);
    }
    if (!outcome.ok) throw toShoalError(outcome.error, source, signal);
    const result = outcome.result;
    const secrets = source.secrets;
    const text = answerText(result);
    if (text === undefined) {
      const reason = finishReason(result);
      const why =
        reason === 'content-filter'
          ? "the model's content filter stopped the answer"
          : reason === 'tool-calls'
            ? 'the model answered with tool calls, and aiSdk() sends no tools'
            : `the answer has no text part (finish reason ${JSON.stringify(reason ?? 'unknown')})`;
      const parts = JSON.stringify((result.content ?? []).map((part) => part.type));
      throw new ProtocolError(
        `The answer of ${this.#service} does not fit: ${why}.`,
        rawForError(`content parts: ${parts}`, secrets()),
        [{ code: 'no_text', path: ['content'], message: why }],
        false,
        {},
      );
    }
    const usage = toUsage(result.usage);
    const answeredBy = result.response?.modelId;
    return {
      text: withoutSecrets(text, secrets()),
      ...(usage ? { usage } : {}),
      requests,
      ...(typeof answeredBy === 'string' && answeredBy !== '' ? { model: answeredBy } : {}),
    };
  }

  /** One `doGenerate`: told to the executor as one request and its answer, and never left running past the call's signal. */
  async #generate(request: CompletionRequest, args: AiSdkCallSettings | undefined, schemaFormat: boolean, context: ProviderCallContext): Promise<Outcome> {
    const { headers, providerOptions, ...settings } = { ...this.#settings, ...args };
    const mergedHeaders = this.#settings.headers || args?.headers ? { ...this.#settings.headers, ...args?.headers } : undefined;
    const output = request.output;
    const options: LanguageModelV3CallOptions = {
      ...settings,
      ...(settings.stopSequences ? { stopSequences: [...settings.stopSequences] } : {}),
      prompt: [{ role: 'user', content: [{ type: 'text', text: request.prompt }] }],
      ...(schemaFormat && output ? { responseFormat: { type: 'json', schema: output.schema as never, name: output.name } } : {}),
      ...(mergedHeaders ? { headers: mergedHeaders } : {}),
      ...(providerOptions ? { providerOptions } : {}),
      abortSignal: context.signal,
    } as LanguageModelV3CallOptions;
    if (context.signal.aborted) return { ok: false, error: context.signal.reason };
    context.onRequest?.('create');
    try {
      // Both specifications take the same call options for a text prompt; their results differ only where answer.ts reads them.
      const pending: PromiseLike<GenerateResult> = this.languageModel.doGenerate(options as never);
      const result = await untilAborted(pending, context.signal);
      context.onAnswer?.(200);
      return { ok: true, result };
    } catch (error) {
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      if (typeof status === 'number' && !context.signal.aborted) context.onAnswer?.(status);
      return { ok: false, error };
    }
  }

  #source(signal: AbortSignal, callHeaders: AiSdkCallSettings['headers']): ErrorSource {
    return {
      service: this.#service,
      where: `request for ${JSON.stringify(this.model)}`,
      secrets: () => modelSecrets(this.languageModel, callHeaders ? { ...this.#settings.headers, ...callHeaders } : this.#settings.headers),
      abortError: (): ShoalError => abortError(signal, { provider: this }),
    };
  }
}

/** `promise`, or a rejection as soon as `signal` fires: a model that ignores its abort signal does not hold the call. */
function untilAborted<T>(promise: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(promise).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
