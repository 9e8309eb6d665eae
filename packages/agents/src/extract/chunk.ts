import { loadTokenizer } from '../util/tokenizer.js';

export interface Chunk {
  /** 0-based, in document order. */
  readonly index: number;
  /** Character offsets into the document (UTF-16 code units, as JavaScript strings index): [start, end). */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly tokens: number;
}

export interface ChunkOptions {
  /** Most tokens (o200k) in one chunk. */
  readonly chunkTokens: number;
  /** Tokens each chunk repeats from the end of the one before, so a fact cut by a boundary is whole in one of them. */
  readonly overlapTokens: number;
}

interface Piece {
  readonly start: number;
  readonly end: number;
  readonly tokens: number;
}

/**
 * Splits a document by tokens, with overlap, at the most natural boundary that fits:
 * lines first, then words, then (for a "word" longer than a chunk) plain character runs.
 * Offsets are exact, so evidence found in a chunk maps back to the document.
 */
export async function chunkText(text: string, options: ChunkOptions): Promise<Chunk[]> {
  const { chunkTokens, overlapTokens } = options;
  if (text.length === 0) return [];
  const { countTokens } = await loadTokenizer();
  const pieces: Piece[] = [];
  for (const line of spans(text, /[^\n]*\n|[^\n]+$/g, 0, text.length)) split(text, line, chunkTokens, pieces, 0, countTokens);
  const chunks: Chunk[] = [];
  let first = 0;
  while (first < pieces.length) {
    let last = first;
    let tokens = pieces[first]!.tokens;
    while (last + 1 < pieces.length && tokens + pieces[last + 1]!.tokens <= chunkTokens) tokens += pieces[++last]!.tokens;
    const start = pieces[first]!.start;
    const end = pieces[last]!.end;
    chunks.push({ index: chunks.length, start, end, text: text.slice(start, end), tokens });
    if (last === pieces.length - 1) break;
    // The next chunk starts far enough back to repeat up to `overlapTokens`, and always moves forward.
    let next = last + 1;
    let overlap = 0;
    while (next - 1 > first && overlap + pieces[next - 1]!.tokens <= overlapTokens) overlap += pieces[--next]!.tokens;
    first = next;
  }
  return chunks;
}

function* spans(text: string, pattern: RegExp, from: number, to: number): Generator<{ start: number; end: number }> {
  const slice = text.slice(from, to);
  for (const match of slice.matchAll(pattern)) {
    if (match[0].length === 0) continue;
    yield { start: from + match.index!, end: from + match.index! + match[0].length };
  }
}

/** Adds `span` to `pieces`, split into finer spans while it is larger than a chunk. */
function split(text: string, span: { start: number; end: number }, limit: number, pieces: Piece[], level: number, countTokens: (text: string) => number): void {
  const tokens = countTokens(text.slice(span.start, span.end));
  if (tokens <= limit) {
    pieces.push({ ...span, tokens });
    return;
  }
  if (level === 0) {
    // Words, each with the spaces after it.
    for (const word of spans(text, /\S+\s*|\s+/g, span.start, span.end)) split(text, word, limit, pieces, 1, countTokens);
    return;
  }
  // A single run without spaces longer than a chunk: cut by characters (a token is at least one).
  const step = Math.max(1, limit);
  for (let start = span.start; start < span.end; start += step) {
    const end = Math.min(span.end, start + step);
    pieces.push({ start, end, tokens: countTokens(text.slice(start, end)) });
  }
}
