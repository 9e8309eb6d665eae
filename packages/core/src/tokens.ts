/**
 * Token counting with the o200k_base encoding (the GPT-4o / GPT-5 family's), from
 * gpt-tokenizer. Loaded on first use: its tables take a few MB and most runs never need
 * them (the server reports usage, and no tokens-per-minute limit is set).
 */
type CountTokens = (text: string) => number;

let loaded: CountTokens | undefined;
let loading: Promise<CountTokens> | undefined;

export function loadTokenizer(): Promise<CountTokens> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then((module) => {
    loaded = (text: string) => module.countTokens(text);
    return loaded;
  });
  return loading;
}

/** Counts synchronously once loaded; undefined before. */
export function countTokensSync(text: string): number | undefined {
  return loaded?.(text);
}

export async function countTokens(text: string): Promise<number> {
  return (loaded ?? (await loadTokenizer()))(text);
}
