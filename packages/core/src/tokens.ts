/**
 * Token counting with the o200k_base encoding (the GPT-4o / GPT-5 family's), from
 * gpt-tokenizer: an optional peer dependency (its tables take 28 MB on disk), loaded on
 * first use (a third of a second, and most runs never need it: the server reports usage,
 * and no tokens-per-minute limit or budget is set). When it cannot be loaded, counts are
 * estimated on the high side (token-estimate.ts), and that is said once on the process's
 * warnings (`SHOAL_TOKENS_ESTIMATED`) and in every executor's `metrics().tokenizer`.
 */
import { cutToEstimate, estimatedIds, estimateTokens } from './token-estimate.js';

/** How tokens are counted in this process: o200k exactly, or the estimate (gpt-tokenizer is not installed). */
export type TokenizerKind = 'o200k' | 'estimate';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  count(text: string): number;
  /** The text's o200k token ids; with the estimate, one stand-in id per estimated token (equal texts, equal ids). */
  encode(text: string): number[];
  /** The longest start of `text` of at most `maxTokens` tokens, never cut inside a character. */
  cut(text: string, maxTokens: number): string;
}

const ESTIMATE: Tokenizer = { kind: 'estimate', count: estimateTokens, encode: estimatedIds, cut: cutToEstimate };

let loaded: Tokenizer | undefined;
let loading: Promise<Tokenizer> | undefined;

export function loadTokenizer(): Promise<Tokenizer> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then(
    (o200k): Tokenizer =>
      (loaded = {
        kind: 'o200k',
        count: (text) => o200k.countTokens(text),
        encode: (text) => o200k.encode(text),
        cut(text, maxTokens) {
          const tokens = o200k.encode(text);
          // A cut inside a character's bytes decodes to U+FFFD: left out.
          return tokens.length <= maxTokens ? text : o200k.decode(tokens.slice(0, maxTokens)).replace(/\uFFFD+$/, '');
        },
      }),
    (error: unknown) => {
      process.emitWarning(
        `gpt-tokenizer could not be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)}), so shoal estimates token counts instead of counting them with o200k: budget estimates, tokens-per-minute limits, the usage of answers that come without it, and chunk sizes. The estimate errs high (20% to 45% over on shoal's own prompts and answers). For exact counts, install gpt-tokenizer@^4 beside @shoal/core; executor.metrics().tokenizer says which is in use.`,
        { type: 'ShoalWarning', code: 'SHOAL_TOKENS_ESTIMATED' },
      );
      loaded = ESTIMATE;
      return ESTIMATE;
    },
  );
  return loading;
}

/** Which counting this process uses; undefined until the first count was needed. */
export function tokenizerKind(): TokenizerKind | undefined {
  return loaded?.kind;
}

/** Counts synchronously once loaded; undefined before. */
export function countTokensSync(text: string): number | undefined {
  return loaded?.count(text);
}

export async function countTokens(text: string): Promise<number> {
  return (loaded ?? (await loadTokenizer())).count(text);
}
