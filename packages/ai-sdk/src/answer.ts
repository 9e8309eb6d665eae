import type { LanguageModelV2Usage, LanguageModelV3Usage } from '@ai-sdk/provider';
import type { Usage } from '@shoal/core';

/**
 * What shoal keeps of a `doGenerate` result, for both specifications: the text parts joined,
 * the usage, the model that answered. Reasoning, sources and files are left out: an agent
 * reads the text.
 */

/** The parts of a v2 or v3 `doGenerate` result that shoal reads. */
export interface GenerateResult {
  readonly content: readonly { readonly type: string; readonly text?: unknown }[];
  readonly finishReason: unknown;
  readonly usage?: LanguageModelV3Usage | LanguageModelV2Usage;
  readonly response?: { readonly modelId?: string };
}

/** The text parts of the answer, joined; undefined when it has none. */
export function answerText(result: GenerateResult): string | undefined {
  let text: string | undefined;
  for (const part of result.content ?? []) {
    if (part.type === 'text' && typeof part.text === 'string') text = (text ?? '') + part.text;
  }
  return text;
}

/** The unified finish reason: a string in v2, `{ unified, raw }` in v3. */
export function finishReason(result: GenerateResult): string | undefined {
  const reason = result.finishReason;
  if (typeof reason === 'string') return reason;
  if (typeof reason === 'object' && reason !== null && typeof (reason as { unified?: unknown }).unified === 'string')
    return (reason as { unified: string }).unified;
  return undefined;
}

/**
 * The model's usage as shoal's `Usage`: v3's `{ inputTokens: { total, noCache, cacheRead,
 * cacheWrite }, outputTokens: { total, ... } }` or v2's flat counts. Cache reads are the
 * cached input tokens; cache writes are counted as input at the input price (shoal has no
 * price of its own for them). Undefined when the model did not report both input and output,
 * so that the executor counts the tokens itself.
 */
export function toUsage(usage: LanguageModelV3Usage | LanguageModelV2Usage | undefined): Usage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  let input: number | undefined;
  let cached: number | undefined;
  let output: number | undefined;
  if (typeof usage.inputTokens === 'object' && usage.inputTokens !== null) {
    const v3 = usage as LanguageModelV3Usage;
    const { total, noCache, cacheRead, cacheWrite } = v3.inputTokens;
    cached = count(cacheRead);
    input = count(total) ?? (count(noCache) === undefined ? undefined : count(noCache)! + (cached ?? 0) + (count(cacheWrite) ?? 0));
    output = count(v3.outputTokens?.total) ?? sum(count(v3.outputTokens?.text), count(v3.outputTokens?.reasoning));
  } else {
    const v2 = usage as LanguageModelV2Usage;
    input = count(v2.inputTokens);
    cached = count(v2.cachedInputTokens);
    output = count(v2.outputTokens);
  }
  if (input === undefined || output === undefined) return undefined;
  return { inputTokens: input, cachedInputTokens: Math.min(cached ?? 0, input), outputTokens: output };
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}
