import { ShoalError } from '../errors.js';
import { GPT_5_4_NANO_PRICES, knownPrices, type Pricing, resolvePrices } from '../providers/prices.js';
import { abortErrorOf, type CompletionRequest, type ModelProvider, type ProviderCallContext, type ProviderResult, type Usage } from '../providers/types.js';
import { sleep } from '../util/sleep.js';

/** A scripted answer: its text, an error to throw (a shoal error, to test retries), or a text with its usage and a delay. */
export type ScriptedReply =
  | string
  | Error
  | {
      /** The answer's text. */
      readonly text: string;
      /** The usage to report. @default a quarter of the prompt's and the text's characters, as tokens */
      readonly usage?: Usage;
      /** Wait this long (on the executor's clock) before answering. @default 0 */
      readonly delayMs?: number;
    };

/** A scripted rule: the first whose `match` fits the request gives the reply. */
export interface ScriptedRule {
  /** Substring or regular expression over the prompt, or a predicate over the request. @default every request */
  readonly match?: string | RegExp | ((request: CompletionRequest) => boolean);
  /** A fixed reply, a list used in turn (the last one repeats), or a function. */
  readonly reply: ScriptedReply | readonly ScriptedReply[] | ((request: CompletionRequest, attempt: number) => ScriptedReply);
}

/** The provider `scriptedProvider()` makes: it also records every request. */
export interface ScriptedProvider extends ModelProvider {
  /** Every request seen, in order. */
  readonly calls: readonly CompletionRequest[];
}

/** `scriptedProvider(rules, options)`: the model it names and the prices it states. */
export interface ScriptedProviderOptions {
  /** @default 'scripted' */
  readonly model?: string;
  /**
   * The prices it states, or `'unknown'` to test an unpriced model. @default the known prices
   * of `model`, else gpt-5.4-nano's (the model it stands in for)
   */
  readonly pricing?: Pricing | 'unknown';
}

/**
 * An in-memory provider for unit tests: no HTTP, answers from rules (or from one function of
 * the request). A reply may be a string, a function of the request, or an error to throw (a
 * shoal error, to test retries). A request no rule matches fails with `API_ERROR`.
 */
export function scriptedProvider(
  rules: readonly ScriptedRule[] | ((request: CompletionRequest) => ScriptedReply),
  options: ScriptedProviderOptions = {},
): ScriptedProvider {
  const model = options.model ?? 'scripted';
  const base = knownPrices(model) ?? GPT_5_4_NANO_PRICES;
  const pricing =
    options.pricing === 'unknown' ? undefined : options.pricing === undefined ? base : resolvePrices('scriptedProvider()', options.pricing, base, model);
  const calls: CompletionRequest[] = [];
  const turns = new Map<ScriptedRule, number>();
  let jobs = 0;
  const pick = (request: CompletionRequest, attempt: number): ScriptedReply => {
    if (typeof rules === 'function') return rules(request);
    for (const rule of rules) {
      const m = rule.match;
      const hit = m === undefined || (typeof m === 'string' ? request.prompt.includes(m) : m instanceof RegExp ? m.test(request.prompt) : m(request));
      if (!hit) continue;
      if (typeof rule.reply === 'function') return rule.reply(request, attempt);
      if (Array.isArray(rule.reply)) {
        const turn = turns.get(rule) ?? 0;
        turns.set(rule, turn + 1);
        return rule.reply[Math.min(turn, rule.reply.length - 1)] as ScriptedReply;
      }
      return rule.reply as ScriptedReply;
    }
    throw new ShoalError('API_ERROR', `scriptedProvider: no rule matches the prompt ${JSON.stringify(request.prompt.slice(0, 80))}`, false);
  };
  return {
    specificationVersion: 'shoal.provider.v1',
    name: 'scripted',
    model,
    ...(pricing ? { pricing } : {}),
    calls,
    async doComplete(request: CompletionRequest, context: ProviderCallContext): Promise<ProviderResult> {
      calls.push(request);
      context.onRequest?.('create');
      const reply = pick(request, context.attempt);
      if (reply instanceof Error) {
        const status = (reply as { status?: unknown }).status;
        if (typeof status === 'number') context.onAnswer?.(status);
        throw reply;
      }
      context.onAnswer?.(200);
      const jobId = `scripted_${++jobs}`;
      context.onJobCreated?.(jobId);
      const text = typeof reply === 'string' ? reply : reply.text;
      const delayMs = typeof reply === 'string' ? 0 : (reply.delayMs ?? 0);
      if (delayMs > 0) await sleep(delayMs, context.signal, abortErrorOf(context.signal), context.clock);
      return {
        text,
        jobId,
        usage:
          typeof reply === 'string' || !reply.usage
            ? { inputTokens: Math.ceil(request.prompt.length / 4), cachedInputTokens: 0, outputTokens: Math.ceil(text.length / 4) }
            : reply.usage,
        requests: 1,
        model,
      };
    },
  };
}
