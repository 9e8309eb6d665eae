import { createExecutor, ShoalConfigError } from '@shoal/core';
import { scriptedProvider } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { locate, normalize, valueAppearsIn } from '../src/extract/evidence.js';
import { chunkText, extract } from '../src/index.js';

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

describe('extract: evidence offsets after case folding, chunk limits, per-field validity, budget and unreadable answers', () => {
  it('maps normalized matches back correctly after characters that lengthen when lower-cased (İ)', () => {
    const doc = 'İİİ İstanbul office.\nInvoice  number: INV-7';
    const hit = locate(doc, 'invoice number: INV-7', 0, doc.length);
    expect(hit).toMatchObject({ found: true, match: 'normalized' });
    expect(hit.found && doc.slice(hit.start, hit.end)).toBe('Invoice  number: INV-7');
    const doc2 = 'Firma: İİ Ltd, İzmir.\nInvoice  number: INV-7\nTotal: 5 TL';
    const hit2 = locate(doc2, 'invoice number: inv-7', 0, doc2.length);
    expect(hit2.found && doc2.slice(hit2.start, hit2.end)).toBe('Invoice  number: INV-7');
  });

  it('prefers a match that does not cut a word', () => {
    const doc = 'Year 2012, item 12';
    expect(locate(doc, '12', 0, doc.length)).toMatchObject({ start: 16, end: 18 });
  });
});

describe('chunkText: text without spaces', () => {
  it('CJK text: chunks overlap, stay within the limit, never split a surrogate pair', async () => {
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    const text = '東京の天気は晴れです。明日は雨が降るでしょう。🙂🙃'.repeat(400);
    const chunks = await chunkText(text, { chunkTokens: 500, overlapTokens: 100 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const [i, chunk] of chunks.entries()) {
      expect(countTokens(chunk.text)).toBeLessThanOrEqual(520); // counted piece by piece: within a few tokens of the limit
      expect(chunk.text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
      if (i > 0) expect(chunk.start).toBeLessThan(chunks[i - 1]!.end);
    }
    expect(chunks.at(-1)!.end).toBe(text.length);
  });

  it('a 200,000-character run without spaces is cut into pieces (no quadratic token count)', async () => {
    const chunks = await chunkText('x'.repeat(200_000), { chunkTokens: 2000, overlapTokens: 100 });
    expect(chunks.at(-1)!.end).toBe(200_000);
    for (const chunk of chunks) expect(chunk.tokens).toBeLessThanOrEqual(2000);
  });
});

describe('extract(): values, budget and failures', () => {
  const text = 'Contact: Bob Stone\nMail: not-an-email\nIssued: 15 January 2026\n';
  const model = (answer: unknown) => scriptedProvider([{ reply: JSON.stringify(answer) }]);

  it('one invalid value is flagged on its own; the other fields of the chunk still count', async () => {
    const provider = model({ email: { value: 'not-an-email', quote: 'not-an-email' }, name: { value: 'Bob Stone', quote: 'Bob Stone' } });
    const executor = createExecutor({ provider });
    const result = await extract({ schema: z.object({ email: z.email(), name: z.string() }), documents: [text], executor });
    const doc = result.documents[0]!;
    expect(doc.data).toEqual({ name: 'Bob Stone' });
    expect(doc.unverified).toEqual([{ field: 'email', value: 'not-an-email', quote: 'not-an-email', chunk: 0, reason: 'invalid-value' }]);
    expect(doc.missing).toEqual(['email']);
    expect(doc.failedChunks).toEqual([]);
    await executor.close();
  });

  it('a value that is not in its own quote is flagged, unless requireValueInQuote is off', async () => {
    const answer = { issued: { value: '2026-01-15', quote: 'Issued: 15 January 2026' } };
    const schema = z.object({ issued: z.string() });
    const strict = await extract({ schema, documents: [text], executor: createExecutor({ provider: model(answer) }) });
    expect(strict.documents[0]!.unverified[0]).toMatchObject({ field: 'issued', reason: 'value-not-in-quote' });
    expect(strict.documents[0]!.data).toEqual({});
    const relaxed = await extract({ schema, documents: [text], executor: createExecutor({ provider: model(answer) }), requireValueInQuote: false });
    expect(relaxed.documents[0]!.fields.issued).toMatchObject({ value: '2026-01-15', evidence: [{ quote: 'Issued: 15 January 2026', valueInQuote: false }] });
  });

  it('missing agrees with complete: an array below its minimum counts as missing', async () => {
    const executor = createExecutor({ provider: model({ a: null, b: [] }) });
    const result = await extract({ schema: z.object({ a: z.string().nullable(), b: z.array(z.string()).min(1) }), documents: [text], executor });
    expect(result.documents[0]).toMatchObject({ complete: false, missing: ['a', 'b'] });
  });

  it('a budget stops new chunk calls (the first runs alone), and the chunks not run are reported', async () => {
    const provider = scriptedProvider([{ reply: { text: '{"name":null}', usage: { inputTokens: 1000, cachedInputTokens: 0, outputTokens: 10 } } }]);
    const executor = createExecutor({ provider, concurrency: 16 });
    const long = Array.from({ length: 2000 }, (_, i) => `line ${i} of the ledger`).join('\n');
    const result = await extract({ schema: z.object({ name: z.string() }), documents: [long], executor, chunkTokens: 200, overlapTokens: 0, budgetUsd: 1e-7 });
    const doc = result.documents[0]!;
    expect(provider.calls.length).toBe(1);
    expect(result.calls).toBe(1);
    expect(result.costUsd).toBeGreaterThan(0);
    expect(doc.failedChunks.length).toBe(doc.chunks.length - 1);
    expect(doc.failedChunks.every((f) => f.error.code === 'BUDGET_EXCEEDED')).toBe(true);
    expect(doc.complete).toBe(false);
  });

  it('counts the spend of answers that could not be read', async () => {
    const provider = scriptedProvider([{ reply: 'not json at all' }]);
    const result = await extract({ schema: z.object({ name: z.string() }), documents: ['x'], executor: createExecutor({ provider }) });
    expect(provider.calls).toHaveLength(2);
    expect(result.calls).toBe(2);
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.documents[0]!.failedChunks[0]!.error.code).toBe('STRUCTURED_OUTPUT_INVALID');
  });
});
