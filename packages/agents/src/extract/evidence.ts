/**
 * Finding a model's quote in the source. A quote counts as evidence only where it is in
 * the document: exactly, or with differences of white space, letter case and typographic
 * quotes/dashes only ("normalized"). The offsets are always those of the document's own text.
 */

export interface Evidence {
  /** The document's text at [start, end) (not the model's copy). */
  readonly quote: string;
  readonly start: number;
  readonly end: number;
  /** The chunk whose answer gave it. */
  readonly chunk: number;
  readonly match: 'exact' | 'normalized';
  /** Whether the value itself appears in the quote (after the same normalization); a reformatted date or number does not. */
  readonly valueInQuote: boolean;
}

export type LocateResult = { readonly found: true; readonly start: number; readonly end: number; readonly match: 'exact' | 'normalized' } | { readonly found: false };

const TYPOGRAPHIC: Record<string, string> = { '\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"', '\u2013': '-', '\u2014': '-', '\u00a0': ' ' };

/** Lower-cased, typographic marks made plain, runs of white space as one space; with each kept character's source offset. */
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
    out += ch.toLowerCase();
    offsets.push(i);
  }
  if (out.endsWith(' ')) {
    out = out.slice(0, -1);
    offsets.pop();
  }
  return { text: out, offsets };
}

/**
 * Where `quote` is in `document`: first inside the chunk [from, to) that produced it, then
 * anywhere (exact only: a normalized search of a whole large document per quote costs too much).
 */
export function locate(document: string, quote: string, from: number, to: number): LocateResult {
  const wanted = quote.trim();
  if (wanted.length === 0) return { found: false };
  const inChunk = document.indexOf(wanted, from);
  if (inChunk !== -1 && inChunk + wanted.length <= to) return { found: true, start: inChunk, end: inChunk + wanted.length, match: 'exact' };
  const anywhere = inChunk !== -1 ? inChunk : document.indexOf(wanted);
  if (anywhere !== -1) return { found: true, start: anywhere, end: anywhere + wanted.length, match: 'exact' };
  const source = normalize(document, from, to);
  const needle = normalize(wanted).text;
  if (needle.length === 0) return { found: false };
  const at = source.text.indexOf(needle);
  if (at === -1) return { found: false };
  return { found: true, start: source.offsets[at]!, end: source.offsets[at + needle.length - 1]! + 1, match: 'normalized' };
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
