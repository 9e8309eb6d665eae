/**
 * A token count without the tokenizer: what shoal counts with when gpt-tokenizer (an
 * optional peer) is not installed. The text is cut into runs of one kind (letters, digits,
 * whitespace, anything else) and each run is given tokens from its kind and length, by
 * rules chosen to land above the o200k count, so that a budget or a tokens-per-minute limit
 * reserves too much rather than too little:
 *
 * - a word in ASCII letters: a token per 4 letters, a word in camelCase or with capitals
 *   inside counted piece by piece ("currencyUSD" is "currency" and "USD", "YWwg" is "YW" and "wg");
 * - a word in another alphabet (accented Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari):
 *   a token per 2 letters; in Chinese, Japanese, Korean or Thai: a token per character;
 * - digits: a token per 3 (o200k cuts numbers into groups of three);
 * - ASCII punctuation: a token per 3 characters; any other symbol a token, an emoji two;
 * - whitespace: a single space before a word or punctuation joins it (no token); any other
 *   run of whitespace is a token.
 *
 * bench/token-estimate.ts measures it against o200k on the texts shoal counts.
 */

/** Runs of letters (with their marks), digits, whitespace, or anything else. */
const RUNS = /[\p{L}\p{M}]+|\p{N}+|\s+|[^\p{L}\p{M}\p{N}\s]+/gu;
/** Scripts written without spaces between words, where o200k spends about a token per character. */
const DENSE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;
const ASCII_LETTERS = /^[A-Za-z]+$/;
/** Printable ASCII punctuation and symbols. */
const ASCII_SYMBOLS = /^[!-~]+$/;
/** The pieces of a word in ASCII letters, cut where the case changes (a capital may lead small letters). */
const WORD_PIECES = /[A-Z][a-z]+|[A-Z]+|[a-z]+/g;
const LETTER = /[\p{L}\p{M}]/u;
const DIGIT = /\p{N}/u;
const SPACE = /\s/;

/** Tokens of one run that is not whitespace. */
function runTokens(run: string): number {
  const first = run[0]!;
  if (LETTER.test(first)) {
    if (ASCII_LETTERS.test(run)) {
      let tokens = 0;
      for (const piece of run.match(WORD_PIECES)!) tokens += Math.ceil(piece.length / 4);
      return tokens;
    }
    const points = [...run].length;
    return DENSE_SCRIPT.test(run) ? points : Math.ceil(points / 2);
  }
  if (DIGIT.test(first)) return Math.ceil([...run].length / 3);
  if (ASCII_SYMBOLS.test(run)) return Math.ceil(run.length / 3);
  let tokens = 0;
  for (const symbol of run) tokens += symbol.length > 1 ? 2 : 1; // outside the BMP (emoji): two
  return tokens;
}

/** Tokens of a run of whitespace, by what follows it: a single space joins a word or punctuation after it. */
function spaceTokens(run: string, next: string | undefined): number {
  return run === ' ' && next !== undefined && !DIGIT.test(next) ? 0 : 1;
}

function* runs(text: string): Generator<{ run: string; index: number; tokens: number }> {
  let previous: RegExpExecArray | undefined;
  const emit = (match: RegExpExecArray, next: string | undefined) => {
    const run = match[0];
    return { run, index: match.index, tokens: SPACE.test(run[0]!) ? spaceTokens(run, next) : runTokens(run) };
  };
  for (const match of text.matchAll(RUNS)) {
    if (previous) yield emit(previous, match[0][0]);
    previous = match;
  }
  if (previous) yield emit(previous, undefined);
}

/** Estimated o200k tokens of `text`. */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const { tokens: n } of runs(text)) tokens += n;
  return tokens;
}

/** The longest start of `text` whose estimate is at most `maxTokens`, never cut inside a character. */
export function cutToEstimate(text: string, maxTokens: number): string {
  let left = maxTokens;
  /** Where a single space that cost nothing (it joins the run after it) starts, right before this run. */
  let freeSpace: number | undefined;
  for (const { run, index, tokens } of runs(text)) {
    if (tokens <= left) {
      left -= tokens;
      freeSpace = tokens === 0 ? index : undefined;
      continue;
    }
    // A cut right after a free space leaves it out: at the end, it would cost a token.
    const end = freeSpace ?? index;
    if (SPACE.test(run[0]!)) return text.slice(0, end);
    // The longest start of this run that fits in what is left (a binary search over its characters).
    const points = [...run];
    let fits = 0;
    let over = points.length;
    while (over - fits > 1) {
      const mid = (fits + over) >> 1;
      if (runTokens(points.slice(0, mid).join('')) <= left) fits = mid;
      else over = mid;
    }
    return fits === 0 ? text.slice(0, end) : text.slice(0, index) + points.slice(0, fits).join('');
  }
  return text;
}

/**
 * Stand-in token ids for the estimate: one per estimated token of each run, from a hash of
 * the run (and of a space before it that cost nothing), so equal texts give equal ids and a
 * shared start gives a shared prefix of ids (what an emulated prompt cache looks at).
 */
export function estimatedIds(text: string): number[] {
  const ids: number[] = [];
  let before = '';
  for (const { run, tokens } of runs(text)) {
    if (tokens === 0) {
      before = run;
      continue;
    }
    const hash = fnv1a(before + run);
    for (let i = 0; i < tokens; i++) ids.push((hash + i) >>> 0);
    before = '';
  }
  return ids;
}

/** FNV-1a over UTF-16 code units, 32 bits. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
