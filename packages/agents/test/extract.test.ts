import { createExecutor, ShoalConfigError } from '@shoal/core';
import { scriptedProvider } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { chunkText, extract } from '../src/index.js';
import { locate, normalize, valueAppearsIn } from '../src/extract/evidence.js';

describe('chunkText', () => {
  it('covers the text with overlapping chunks within the token limit, at line boundaries where it can', async () => {
    const text = Array.from({ length: 400 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`).join('\n');
    const chunks = await chunkText(text, { chunkTokens: 300, overlapTokens: 40 });
    expect(chunks[0]!.start).toBe(0);
    expect(chunks.at(-1)!.end).toBe(text.length);
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.tokens).toBeLessThanOrEqual(300);
      expect(chunk.text).toBe(text.slice(chunk.start, chunk.end));
      if (i > 0) {
        expect(chunk.start).toBeLessThan(chunks[i - 1]!.end); // overlap
        expect(text[chunk.start - 1]).toBe('\n'); // starts on a line
      }
    }
  });

  it('splits a line longer than a chunk at words, and a run without spaces by characters', async () => {
    const long = `${'word '.repeat(2000)}${'x'.repeat(5000)}`;
    const chunks = await chunkText(long, { chunkTokens: 200, overlapTokens: 0 });
    expect(chunks.map((c) => c.text).join('')).toBe(long);
    for (const chunk of chunks) expect(chunk.tokens).toBeLessThanOrEqual(200);
    expect(await chunkText('', { chunkTokens: 200, overlapTokens: 0 })).toEqual([]);
  });
});

describe('evidence', () => {
  const doc = 'Header\nInvoice   number:\n INV-7 \u2014 paid\nTotal: $1,234.50';
  it('finds a quote exactly, then with white space, case and typographic marks normalized, and maps back to the source', () => {
    expect(locate(doc, 'Total: $1,234.50', 0, doc.length)).toEqual({ found: true, start: doc.indexOf('Total'), end: doc.length, match: 'exact' });
    const hit = locate(doc, 'invoice number: inv-7 - PAID', 0, doc.length);
    expect(hit.found && doc.slice(hit.start, hit.end)).toBe('Invoice   number:\n INV-7 \u2014 paid');
    expect(hit.found && hit.match).toBe('normalized');
    expect(locate(doc, 'Invoice number: INV-8', 0, doc.length)).toEqual({ found: false });
    expect(locate(doc, '   ', 0, doc.length)).toEqual({ found: false });
  });

  it('checks whether the value is in its quote, numbers in their written forms too', () => {
    expect(valueAppearsIn(1234.5, 'Total: $1,234.50')).toBe(true);
    expect(valueAppearsIn('inv-7', 'Invoice INV-7')).toBe(true);
    expect(valueAppearsIn('2026-01-15', 'January 15, 2026')).toBe(false);
    expect(normalize(' A \n b ').text).toBe('a b');
  });
});

describe('extract(): bad input is refused before any call', () => {
  const provider = scriptedProvider([{ reply: '{}' }]);
  const executor = createExecutor({ provider });
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a schema that is not an object', { schema: z.string() }, /zod object schema/],
    ['an overlap of half a chunk', { chunkTokens: 400, overlapTokens: 200 }, /overlapTokens.*under half/],
    ['a document without text', { documents: [{ id: 'a' }] }, /documents/],
    ['an unknown unverified policy', { unverified: 'ignore' }, /unverified/],
  ];
  it.each(cases)('%s', async (_, patch, message) => {
    const error = await extract({ schema: z.object({ a: z.string() }), documents: ['x'], executor, ...patch } as never).catch((e: unknown) => e);
    expect(ShoalConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(provider.calls).toHaveLength(0);
  });
});
