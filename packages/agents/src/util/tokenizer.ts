/**
 * The o200k tokenizer (gpt-tokenizer), loaded on first use: its tables take a third of a
 * second to load, which an app that only classifies should not pay at import.
 */
export type Tokenizer = typeof import('gpt-tokenizer/encoding/o200k_base');

let loading: Promise<Tokenizer> | undefined;

export function loadTokenizer(): Promise<Tokenizer> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base');
  return loading;
}
