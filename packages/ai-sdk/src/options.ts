import type { LanguageModelV2, LanguageModelV3, SharedV3ProviderOptions } from '@ai-sdk/provider';
import { type Pricing, ShoalConfigError } from '@shoal/core';
import { describeValue, expectNumber, isPlainObject, listValues, optionError, rejectUnknownKeys } from '@shoal/core/internal';

/** A language model of the AI SDK: specification v3 (`ai` 6) or v2 (`ai` 5). */
export type AiSdkLanguageModel = LanguageModelV3 | LanguageModelV2;

/**
 * The AI SDK's call settings that shoal passes on: given to `aiSdk()` they go with every
 * call, and a call's own `args` (an agent's `params`) override them key by key.
 */
export interface AiSdkCallSettings {
  /** The most tokens the model may write (the AI SDK's `maxOutputTokens`). */
  readonly maxOutputTokens?: number;
  /** Sampling temperature, from 0 (the most likely tokens). */
  readonly temperature?: number;
  /** Nucleus sampling: only tokens within this share of probability. */
  readonly topP?: number;
  /** Only the K most likely tokens are sampled. */
  readonly topK?: number;
  /** Penalises tokens already present, to favour new topics. */
  readonly presencePenalty?: number;
  /** Penalises tokens by how often they already appeared. */
  readonly frequencyPenalty?: number;
  /** A seed for models that sample deterministically with one. */
  readonly seed?: number;
  /** The model stops writing at any of these. */
  readonly stopSequences?: readonly string[];
  /** The provider's own options, by provider name: `{ openai: { reasoningEffort: 'low' } }`. */
  readonly providerOptions?: SharedV3ProviderOptions;
  /** Extra HTTP headers on every request (their values are kept out of every error). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AiSdkOptions extends AiSdkCallSettings {
  /**
   * The model's prices in USD per million tokens, over its known prices key by key. @default
   * the known prices of `model.modelId`, if it has any; else its calls are counted as unpriced
   * (`totals.unpricedCalls`) and a budget is refused.
   */
  readonly pricing?: Pricing;
  /**
   * How the output's JSON Schema reaches the model. `auto`: as the call's response format
   * (`responseFormat: { type: 'json', schema, name }`), and by the prompt alone from then on for
   * a schema the model refused; `strict`: always as the response format, a refusal being an
   * error; `prompt`: by the prompt alone (which states the schema in every mode).
   * @default 'auto'
   */
  readonly structuredOutputs?: 'auto' | 'strict' | 'prompt';
}

type Check = (name: string, value: unknown) => void;

const number =
  (rule: { min?: number; integer?: boolean } = {}): Check =>
  (name, value) => {
    expectNumber(name, value, rule);
  };

const objectOf =
  (what: string, one: string, item: (value: unknown) => boolean): Check =>
  (name, value) => {
    if (!isPlainObject(value)) throw optionError(name, `an object of ${what}`, value);
    for (const [key, inner] of Object.entries(value)) {
      if (!item(inner)) throw optionError(`${name}.${key}`, one, inner);
    }
  };

const SETTINGS: Readonly<Record<keyof AiSdkCallSettings, Check>> = {
  maxOutputTokens: number({ min: 1, integer: true }),
  temperature: number({ min: 0 }),
  topP: number({ min: 0 }),
  topK: number({ min: 1, integer: true }),
  presencePenalty: number(),
  frequencyPenalty: number(),
  seed: number({ integer: true }),
  stopSequences: (name, value) => {
    if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) throw optionError(name, 'an array of strings', value);
  },
  providerOptions: objectOf('objects (options by provider name)', "an object (that provider's options)", isPlainObject),
  headers: objectOf('strings', 'a string', (v) => typeof v === 'string'),
};
const SETTING_KEYS = Object.keys(SETTINGS) as (keyof AiSdkCallSettings)[];
const MODES = ['auto', 'strict', 'prompt'] as const;

/** The settings among `aiSdk()`'s options, checked. */
export function checkOptions(options: unknown): { settings: AiSdkCallSettings; mode: (typeof MODES)[number]; pricing: unknown } {
  if (options === undefined) return { settings: {}, mode: 'auto', pricing: undefined };
  if (!isPlainObject(options))
    throw new ShoalConfigError(`aiSdk(model, options) takes an options object as its second argument, got ${describeValue(options)}.`);
  // `maxTokens` is the name of `ai` 4 and of other SDKs: said as such, since no spelling rule finds `maxOutputTokens` from it.
  if ((options as { maxTokens?: unknown }).maxTokens !== undefined)
    throw new ShoalConfigError('Unknown option `maxTokens` in aiSdk(). Did you mean `maxOutputTokens` (its name since `ai` 5)?');
  rejectUnknownKeys('aiSdk()', options, ['pricing', 'structuredOutputs', ...SETTING_KEYS]);
  const { pricing, structuredOutputs, ...settings } = options;
  if (structuredOutputs !== undefined && !MODES.includes(structuredOutputs as never))
    throw optionError('structuredOutputs', listValues(MODES), structuredOutputs);
  return { settings: checkSettings('aiSdk()', settings, ''), mode: (structuredOutputs as (typeof MODES)[number] | undefined) ?? 'auto', pricing };
}

/** A call's `args` (an agent's `params`) as AI SDK call settings: refused before anything is sent when they are not. */
export function checkArgs(args: Readonly<Record<string, unknown>>): AiSdkCallSettings {
  return checkSettings(
    "the call's `args` (an agent's `params`)",
    args,
    " aiSdk() passes on the AI SDK call settings, in camelCase (e.g. `maxOutputTokens`, not `max_tokens`); put a provider's own options in `providerOptions`.",
  );
}

function checkSettings(where: string, value: Record<string, unknown>, hint: string): AiSdkCallSettings {
  try {
    rejectUnknownKeys(where, value, SETTING_KEYS);
  } catch (error) {
    throw ShoalConfigError.isInstance(error) ? new ShoalConfigError(`${error.message}${hint}`) : error;
  }
  const settings: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    if (value[key] === undefined) continue; // absent, as core's options read it
    SETTINGS[key](key, value[key]);
    settings[key] = value[key];
  }
  return settings as AiSdkCallSettings;
}

/** The model, checked: a v3 or v2 AI SDK language model, else a `ShoalConfigError` that says what to pass. */
export function checkModel(model: unknown): AiSdkLanguageModel {
  const example = "e.g. aiSdk(openai('gpt-4o-mini')) with `openai` from @ai-sdk/openai";
  if (typeof model === 'string') {
    throw new ShoalConfigError(
      `aiSdk() takes an AI SDK language model object, not a model name (${describeValue(model)}): a bare name needs the AI SDK's gateway, which aiSdk() does not load. Make the model with its provider package, ${example}.`,
    );
  }
  if (typeof model === 'function' && typeof (model as { languageModel?: unknown }).languageModel === 'function') {
    throw new ShoalConfigError(`aiSdk() takes a language model, and this is an AI SDK provider (it makes models): call it with a model id, ${example}.`);
  }
  if (typeof model !== 'object' || model === null)
    throw new ShoalConfigError(`aiSdk() takes an AI SDK language model, ${example}; got ${describeValue(model)}.`);
  const { specificationVersion: version, doGenerate, modelId, provider } = model as Record<string, unknown>;
  if (version !== 'v3' && version !== 'v2') {
    if (version === undefined && typeof doGenerate !== 'function') {
      throw new ShoalConfigError(`aiSdk() takes an AI SDK language model, ${example}; got an object with neither \`specificationVersion\` nor \`doGenerate\`.`);
    }
    throw new ShoalConfigError(
      `aiSdk() takes AI SDK language models of specification v3 (ai 6) or v2 (ai 5); this one says ${describeValue(version)}${version === 'v1' ? ' (ai 4)' : ''}. Upgrade its provider package (e.g. @ai-sdk/openai 3.x, which goes with ai 6).`,
    );
  }
  if (typeof doGenerate !== 'function') {
    throw new ShoalConfigError(
      `aiSdk() takes a language model; this ${version} object has no \`doGenerate\` (an embedding or image model?). Pass a language model, ${example}.`,
    );
  }
  if (typeof modelId !== 'string' || modelId.trim() === '')
    throw new ShoalConfigError(`aiSdk(): the model has no \`modelId\` (got ${describeValue(modelId)}): shoal prices and caches calls by it.`);
  if (typeof provider !== 'string') throw new ShoalConfigError(`aiSdk(): the model has no \`provider\` name (got ${describeValue(provider)}).`);
  return model as AiSdkLanguageModel;
}
