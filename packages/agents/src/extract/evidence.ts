/**
 * Finding a model's quote in the source. A quote counts as evidence only where it is in
 * the document: exactly, or with differences of white space, letter case and typographic
 * quotes/dashes only ("normalized"). The offsets are always those of the document's own text.
 */

export interface Evidence {
  /** The document's text at [start, end) (not the model's copy). */
  readonly quote: string;
  /** Start offset of the quote in the document (UTF-16 code units). */
  readonly start: number;
  /** End offset, excluded. */
  readonly end: number;
  /** The chunk whose answer gave it. */
  readonly chunk: number;
  /** `exact`, or `normalized`: found after white space, letter case and typographic quotes and dashes were made plain. */
  readonly match: 'exact' | 'normalized';
  /** Whether the value itself appears in the quote (after the same normalization); a reformatted date or number does not. */
  readonly valueInQuote: boolean;
}

export type LocateResult =
  | { readonly found: true; readonly start: number; readonly end: number; readonly match: 'exact' | 'normalized' }
  | { readonly found: false };

const TYPOGRAPHIC: Record<string, string> = { '\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"', '\u2013': '-', '\u2014': '-', '\u00a0': ' ' };

/** Lower-cased, typographic marks made plain, runs of white space as one space; with each output code unit's source offset. */
export function normalize(text: string, from = 0, to = text.length): { text: string; offsets: number[] } {
  let out = '';
  const offsets: number[] = [];
  let space = false;
  for (let i = from; i < to; i++) {
    const raw = text[i]!;
    const ch = TYPOGRAPHIC[raw] ?? raw;
    if (/\s/.test(ch)) {
      if (!space && out.length > 0) {
        out += ' ';
        offsets.push(i);
      }
      space = true;
      continue;
    }
    space = false;
    // Lower-casing can lengthen a character ("İ" becomes two code units): one offset per unit.
    const lower = ch.toLowerCase();
    out += lower;
    for (let unit = 0; unit < lower.length; unit++) offsets.push(i);
  }
  if (out.endsWith(' ')) {
    out = out.slice(0, -1);
    offsets.pop();
  }
  return { text: out, offsets };
}

const WORD = /[\p{L}\p{N}]/u;
/** True when [start, end) does not cut a word at either side (or the quote itself starts / ends outside a word). */
function onWordBoundaries(document: string, start: number, end: number): boolean {
  const cutsStart = start > 0 && WORD.test(document[start - 1]!) && WORD.test(document[start]!);
  const cutsEnd = end < document.length && WORD.test(document[end - 1]!) && WORD.test(document[end]!);
  return !cutsStart && !cutsEnd;
}

/** Every index of `needle` in `hay` from `from` up to a match ending by `to`. */
function* occurrences(hay: string, needle: string, from: number, to: number): Generator<number> {
  for (let at = hay.indexOf(needle, from); at !== -1 && at + needle.length <= to; at = hay.indexOf(needle, at + 1)) yield at;
}

/**
 * Where `quote` is in `document`: exactly inside the chunk [from, to) that produced it;
 * else exactly anywhere in the document; else normalized (white space, case, typographic
 * marks) inside the chunk. Of several places, the first that does not cut a word wins
 * ("12" in "Year 2012, item 12" is the item's). A normalized match is checked again on
 * the document's own text before it counts.
 */
export function locate(document: string, quote: string, from: number, to: number): LocateResult {
  const wanted = quote.trim();
  if (wanted.length === 0) return { found: false };
  const pick = (starts: Iterable<number>, length: (start: number) => number): number | undefined => {
    let first: number | undefined;
    for (const start of starts) {
      first ??= start;
      if (onWordBoundaries(document, start, start + length(start))) return start;
    }
    return first;
  };
  const exact =
    pick(occurrences(document, wanted, from, to), () => wanted.length) ?? pick(occurrences(document, wanted, 0, document.length), () => wanted.length);
  if (exact !== undefined) return { found: true, start: exact, end: exact + wanted.length, match: 'exact' };
  const needle = normalize(wanted).text;
  if (needle.length === 0) return { found: false };
  const source = normalize(document, from, to);
  const spans: [number, number][] = [];
  for (const at of occurrences(source.text, needle, 0, source.text.length)) {
    const start = source.offsets[at]!;
    const end = source.offsets[at + needle.length - 1]! + 1;
    // Starting or ending inside a lengthened character would not be the document's text.
    if ((at > 0 && source.offsets[at - 1] === start) || normalize(document, start, end).text !== needle) continue;
    spans.push([start, end]);
  }
  const chosen = spans.find(([start, end]) => onWordBoundaries(document, start, end)) ?? spans[0];
  return chosen ? { found: true, start: chosen[0], end: chosen[1], match: 'normalized' } : { found: false };
}

/** The value as text for the "is it in the quote" check: strings as they are, numbers and booleans printed. */
export function valueAppearsIn(value: unknown, quote: string): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'object') return Object.values(value).some((v) => valueAppearsIn(v, quote));
  const needle = normalize(String(value)).text;
  const hay = normalize(quote).text;
  if (needle.length > 0 && hay.includes(needle)) return true;
  if (typeof value === 'number') {
    // 1234.5 written as "1,234.50" or "$1 234,50".
    const digits = hay.replace(/[^\d.,-]/g, ' ');
    return digits.split(/\s+/).some((token) => token && Number(token.replace(/,(?=\d{3}\b)/g, '').replace(/\s/g, '')) === value);
  }
  return false;
}
