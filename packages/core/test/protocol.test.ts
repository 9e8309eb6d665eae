import { describe, expect, it } from 'vitest';
import {
  extractText,
  extractUsage,
  PayloadMismatch,
  parseCreateData,
  parseEnvelope,
  parseJobData,
  parseRetryAfterMs,
} from '../src/providers/shortapi/protocol.js';
import { parseUsdToPico, picoToDecimalString, picoToUsd } from '../src/util/money.js';
import { rawForError, redact } from '../src/util/redact.js';

describe('protocol: envelope and create', () => {
  it('reads the job id from data.job_id (not from the top level, as the vendor samples do)', () => {
    const envelope = parseEnvelope({ code: 0, data: { amount: '0.02', job_id: 'abc' } });
    expect(envelope.ok).toBe(true);
    expect(parseCreateData(envelope.ok ? envelope.data : undefined)).toEqual({ jobId: 'abc', amountUsd: '0.02' });
    expect(() => parseCreateData({ amount: '0.02' })).toThrow(PayloadMismatch);
  });

  it('keeps a non-zero code and its message', () => {
    expect(parseEnvelope({ code: 1003, msg: 'insufficient balance' })).toEqual({ ok: false, code: 1003, message: 'insufficient balance' });
    expect(parseEnvelope({ code: 7, message: 'other' })).toEqual({ ok: false, code: 7, message: 'other' });
    expect(() => parseEnvelope({ data: {} })).toThrow(PayloadMismatch);
  });
});

describe('protocol: job states', () => {
  it('maps 0 and 1 and unknown positive statuses to pending, 3 and negatives to failed', () => {
    expect(parseJobData({ status: 0 })).toEqual({ state: 'pending', status: 0 });
    expect(parseJobData({ status: 1 })).toEqual({ state: 'pending', status: 1 });
    expect(parseJobData({ status: 7 })).toEqual({ state: 'pending', status: 7 });
    expect(parseJobData({ status: 3, error: 'boom' })).toMatchObject({ state: 'failed', status: 3, message: 'boom' });
    expect(parseJobData({ status: -1, msg: 'gone' })).toMatchObject({ state: 'failed', status: -1, message: 'gone' });
  });

  it('finds the text in every documented place', () => {
    const places: unknown[] = [
      'bare',
      { text: 'bare' },
      { output: 'bare' },
      { output_text: 'bare' },
      { content: 'bare' },
      { choices: [{ message: { content: 'bare' } }] },
      {
        output: [
          {
            content: [
              { type: 'output_text', text: 'ba' },
              { type: 'output_text', text: 're' },
            ],
          },
        ],
      },
    ];
    for (const result of places) expect(extractText(result)).toBe('bare');
  });

  it('refuses a success with no text anywhere, instead of an empty string', () => {
    expect(() => parseJobData({ status: 2, result: { images: [{ url: 'https://x' }] } })).toThrow(/no text/);
  });

  it('reads usage in both namings, with cached tokens', () => {
    expect(extractUsage({ input_tokens: 10, output_tokens: 5, input_tokens_details: { cached_tokens: 4 } })).toEqual({
      inputTokens: 10,
      cachedInputTokens: 4,
      outputTokens: 5,
    });
    expect(extractUsage({ prompt_tokens: 8, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 3 } })).toEqual({
      inputTokens: 8,
      cachedInputTokens: 3,
      outputTokens: 2,
    });
    expect(extractUsage({ foo: 1 })).toBeUndefined();
    const fromData = parseJobData({ status: 2, result: { text: 'x' }, usage: { input_tokens: 1, output_tokens: 1 } });
    expect(fromData).toMatchObject({ state: 'succeeded', usage: { inputTokens: 1, outputTokens: 1 } });
  });

  it('reads Retry-After as seconds, HTTP date, or retry-after-ms', () => {
    expect(parseRetryAfterMs({ 'retry-after': '2' })).toBe(2000);
    expect(parseRetryAfterMs({ 'retry-after-ms': '150', 'retry-after': '2' })).toBe(150);
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(parseRetryAfterMs({ 'retry-after': 'Wed, 25 Nov 2026 10:00:03 GMT' }, now)).toBe(3000);
    expect(parseRetryAfterMs({})).toBeUndefined();
    expect(parseRetryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
  });
});

describe('money', () => {
  it('parses decimal amounts exactly and sums them without drift', () => {
    let total = 0n;
    let float = 0;
    for (let i = 0; i < 1000; i++) {
      total += parseUsdToPico('0.000000123457')!;
      float += 0.000000123457;
    }
    expect(picoToDecimalString(total)).toBe('0.000123457');
    expect(float).not.toBe(0.000123457); // the float sum drifts; ours does not
    expect(parseUsdToPico('1.5')).toBe(1_500_000_000_000n);
    expect(parseUsdToPico('0.0000000000015')).toBe(2n); // rounds half up past 12 decimals
    expect(parseUsdToPico('abc')).toBeUndefined();
    expect(picoToUsd(2_500_000_000_000n)).toBe(2.5);
  });
});

describe('redact', () => {
  it('redacts before cutting, so a secret at the cut leaves no prefix', () => {
    const key = 'sk-live-abcdef123456';
    const body = `${'x'.repeat(290)}key=${key}`;
    const out = rawForError(body, [key], 300);
    expect(out).not.toContain('sk-live');
    expect(out).toContain('key=[redac');
  });

  it('removes known secrets and bearer tokens', () => {
    const key = 'sk-live-abcdef123456';
    expect(redact(`key ${key} in body; Authorization: Bearer ${key}`, [key])).not.toContain(key);
    expect(redact('Authorization: Bearer xyz.abc')).toBe('Authorization: Bearer [redacted]');
  });
});
