import { extract } from '@shoal/agents';
import { createExecutor, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { extractionReply, GHOST_EMAIL, isExtractPrompt } from './support/extraction-model.js';

const Invoice = z.object({
  invoiceNumber: z.string().describe('The invoice number, e.g. INV-2041'),
  total: z.number().describe('The total due, a plain number'),
  emails: z.array(z.string()).describe('Every email address in the text'),
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
async function setup() {
  const emulator = await startShortApiEmulator({ rules: [{ match: isExtractPrompt, reply: extractionReply }] });
  const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 1 } }), concurrency: 32 });
  cleanups.push(
    () => emulator.close(),
    () => executor.close(),
  );
  return { emulator, executor };
}

/** About `bytes` of prose with `emails` planted at spread-out positions; returns the text and the planted addresses. */
function bigDocument(bytes: number, emails: number) {
  const words = 'ledger account supplier shipment quarterly payment reference balance delivery order contract clause warehouse freight invoice receipt'.split(
    ' ',
  );
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const paragraphs: string[] = [];
  let size = 0;
  const planted: string[] = [];
  const every = Math.floor(bytes / 400 / emails);
  let n = 0;
  while (size < bytes) {
    const sentence = Array.from({ length: 40 + Math.floor(random() * 40) }, () => words[Math.floor(random() * words.length)]).join(' ');
    let paragraph = `${sentence}.`;
    if (n % every === every - 1 && planted.length < emails) {
      const address = `contact${planted.length}@firm${planted.length % 7}.example`;
      planted.push(address);
      paragraph += ` Questions go to ${address} during office hours.`;
    }
    paragraphs.push(paragraph);
    size += paragraph.length + 2;
    n++;
  }
  return { text: paragraphs.join('\n\n'), planted };
}

describe('extract() on the emulator over HTTP', () => {
  it('a small invoice: typed data, every value with checked evidence, the invented email flagged', async () => {
    const { executor } = await setup();
    const text = 'ACME GmbH\nInvoice number: INV-2041\nBilling contact: billing@acme.example\nTotal due: 1,234.50 EUR\n';
    const result = await extract({ schema: Invoice, documents: [text], executor });
    const [doc] = result.documents;
    expect(doc!.data).toEqual({ invoiceNumber: 'INV-2041', total: 1234.5, emails: ['billing@acme.example'] });
    expect(doc!.complete).toBe(true);
    const invoice = doc!.fields.invoiceNumber!;
    expect(invoice.evidence[0]).toMatchObject({ match: 'normalized', quote: 'Invoice number: INV-2041', valueInQuote: true });
    expect(text.slice(invoice.evidence[0]!.start, invoice.evidence[0]!.end)).toBe('Invoice number: INV-2041');
    expect(doc!.fields.total!.evidence[0]).toMatchObject({ match: 'exact', quote: 'Total due: 1,234.50', valueInQuote: true });
    expect(doc!.unverified).toEqual([{ field: 'emails', value: GHOST_EMAIL, quote: `write to ${GHOST_EMAIL}`, chunk: 0, reason: 'quote-not-in-document' }]);
    expect(result.calls).toBe(1);
  });

  it('a 1 MB document: split with overlap, run in parallel, merged without duplicates; only values found in it are returned', async () => {
    const { executor, emulator } = await setup();
    const { text, planted } = bigDocument(1_000_000, 60);
    expect(text.length).toBeGreaterThanOrEqual(1_000_000);
    let progressCalls = 0;
    const result = await extract({
      schema: Invoice,
      documents: [{ id: 'big', text }],
      executor,
      chunkTokens: 2000,
      overlapTokens: 200,
      onProgress: () => progressCalls++,
    });
    const [doc] = result.documents;
    expect(doc!.chunks.length).toBeGreaterThan(50);
    expect(result.calls).toBe(doc!.chunks.length);
    expect(emulator.stats().creates).toBe(doc!.chunks.length);
    expect(progressCalls).toBe(doc!.chunks.length);
    // Chunks cover the document, in order, and overlap.
    expect(doc!.chunks[0]!.start).toBe(0);
    expect(doc!.chunks.at(-1)!.end).toBe(text.length);
    for (let i = 1; i < doc!.chunks.length; i++) {
      expect(doc!.chunks[i]!.start).toBeLessThan(doc!.chunks[i - 1]!.end);
      expect(doc!.chunks[i]!.start).toBeGreaterThan(doc!.chunks[i - 1]!.start);
    }
    // Every planted email once (the overlap found some twice: one value, evidence counted once per place).
    const emails = doc!.fields.emails!;
    expect(emails.map((e) => e.value).sort()).toEqual([...planted].sort());
    for (const email of emails) {
      for (const evidence of email.evidence) expect(text.slice(evidence.start, evidence.end)).toBe(evidence.quote);
      expect(email.evidence.length).toBe(1);
    }
    // The invented email, given by every chunk, never counts as found.
    expect(emails.some((e) => e.value === GHOST_EMAIL)).toBe(false);
    expect(doc!.unverified.filter((u) => u.value === GHOST_EMAIL)).toHaveLength(doc!.chunks.length);
    expect(doc!.missing).toEqual(['invoiceNumber', 'total']);
    expect(doc!.complete).toBe(false);
    expect(doc!.failedChunks).toEqual([]);
  }, 120_000);

  it("unverified: 'drop' discards flagged values and counts them", async () => {
    const { executor } = await setup();
    const result = await extract({ schema: Invoice, documents: ['Invoice number: A-1\nTotal due: 10.00\nmail: a@b.example'], executor, unverified: 'drop' });
    expect(result.documents[0]!.unverified).toEqual([]);
    expect(result.documents[0]!.droppedUnverified).toBe(1);
    expect(result.documents[0]!.data.emails).toEqual(['a@b.example']);
  });

  it('a failed chunk is reported with its error; the other chunks still count', async () => {
    const emulator = await startShortApiEmulator({
      rules: [
        { match: (p) => isExtractPrompt(p) && p.includes('POISON'), reply: { fail: 'model crashed' } },
        { match: isExtractPrompt, reply: extractionReply },
      ],
    });
    const executor = createExecutor({
      provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 1 } }),
      retry: { maxAttempts: 1 },
    });
    cleanups.push(
      () => emulator.close(),
      () => executor.close(),
    );
    const result = await extract({ schema: Invoice, documents: ['mail: ok@fine.example', 'POISON x@y.example'], executor });
    expect(result.documents[0]!.data.emails).toEqual(['ok@fine.example']);
    expect(result.documents[1]!.failedChunks).toHaveLength(1);
    expect(result.documents[1]!.failedChunks[0]!.error.code).toBe('JOB_FAILED');
    expect(result.documents[1]!.complete).toBe(false);
  });
});
