import { loadTokenizer } from '@shoal/core/internal';

/** One chunk of a document, from `chunkText()`. */
export interface Chunk {
  /** 0-based, in document order. */
  readonly index: number;
  /** Character offsets into the document (UTF-16 code units, as JavaScript strings index): [start, end). */
  readonly start: number;
  /** End offset, excluded (see `start`). */
  readonly end: number;
  /** The chunk's text: the document's from `start` to `end`. */
  readonly text: string;
  /** Its tokens (o200k). */
  readonly tokens: number;
}

/** How `chunkText()` cuts a document. */
export interface ChunkOptions {
  /** Most tokens (o200k; estimated on the high side without gpt-tokenizer) in one chunk. */
  readonly chunkTokens: number;
  /** Tokens each chunk repeats from the end of the one before, so a fact cut by a boundary is whole in one of them. */
  readonly overlapTokens: number;
}

interface Piece {
  readonly start: number;
  readonly end: number;
  readonly tokens: number;
}

/** Code points per piece of a run without spaces: at most 4 UTF-8 bytes each, so at most 64 tokens, under any chunk size allowed. */
const RUN_PIECE = 16;
/** A line longer than this many characters per token of the limit is split into words before it is counted (counting one huge word costs quadratic time). */
const CHARS_PER_TOKEN_BOUND = 8;

/**
 * Splits a document by tokens, with overlap, at the most natural boundary that fits:
 * lines first, then words, then (for a run without spaces, as in Chinese or Japanese text)
 * pieces of a few code points, never inside a surrogate pair. Offsets are exact, so
 * evidence found in a chunk maps back to the document.
 */
export async function chunkText(text: string, options: ChunkOptions): Promise<Chunk[]> {
  const { chunkTokens, overlapTokens } = options;
  if (text.length === 0) return [];
  const tokenizer = await loadTokenizer();
  const countTokens = (piece: string) => tokenizer.count(piece);
  const pieces: Piece[] = [];
  const add = (start: number, end: number, tokens = countTokens(text.slice(start, end))) => pieces.push({ start, end, tokens });
  for (const line of spans(text, /[^\n]*\n|[^\n]+$/g, 0, text.length)) {
    if (line.end - line.start <= chunkTokens * CHARS_PER_TOKEN_BOUND) {
      const tokens = countTokens(text.slice(line.start, line.end));
      if (tokens <= chunkTokens) {
        add(line.start, line.end, tokens);
        continue;
      }
    }
    for (const word of spans(text, /\S+\s*|\s+/g, line.start, line.end)) {
      if (word.end - word.start <= RUN_PIECE) {
        add(word.start, word.end);
        continue;
      }
      // A long run: pieces of RUN_PIECE code points.
      let start = word.start;
      let points = 0;
      for (let i = word.start; i < word.end; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0xd800 && code <= 0xdbff && i + 1 < word.end) i++; // keep a surrogate pair together
        if (++points === RUN_PIECE) {
          add(start, i + 1);
          start = i + 1;
          points = 0;
        }
      }
      if (start < word.end) add(start, word.end);
    }
  }
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
