import { describe, expect, it, vi } from 'vitest';
import { createExecutor, shortApi, ShoalError } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';

const KEY = 'sk-shoal-RECOGNISABLE-7f3a9c1e5b';

/** Everything reachable from an error: message, stack, fields, causes, nested errors. */
function dumpError(error: unknown, seen = new Set<unknown>()): string {
  if (error === null || typeof error !== 'object' || seen.has(error)) return String(error);
  seen.add(error);
  const e = error as Record<string, unknown> & Error;
  const parts = [e.message, e.stack ?? '', JSON.stringify(ShoalError.isInstance(e) ? e.toJSON() : {})];
  for (const [k, v] of Object.entries(e)) parts.push(k, typeof v === 'object' ? dumpError(v, seen) : String(v));
  if (e.cause) parts.push(dumpError(e.cause, seen));
  if (Array.isArray(e.errors)) for (const inner of e.errors) parts.push(dumpError(inner, seen));
  return parts.join('\n');
}

describe('the API key stays secret', () => {
  it('never appears in errors, events, metrics or console output of a faulty workload', async () => {
    const writes: string[] = [];
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    const emulator = await startShortApiEmulator({
      apiKey: KEY,
      latencyMs: 2,
      seed: 7,
      // Faults, and answers that echo the key back, as a misbehaving proxy might.
      faults: { rateLimit: 0.1, retryAfterSeconds: 0, serverError: 0.1, dropQuery: 0.05, invalidJson: 0.05, failJob: 0.1 },
      rules: [
        { match: 'echo', reply: { fail: `backend rejected Authorization: Bearer ${KEY}` } },
        { match: '', reply: (prompt) => `ok ${prompt}` },
      ],
    });
    const events: string[] = [];
    const collect = (name: string) => (event: unknown) => events.push(`${name} ${JSON.stringify(event, (_k, v) => (ShoalError.isInstance(v) ? dumpError(v) : v))}`);
    const good = createExecutor({ provider: shortApi({ apiKey: KEY, baseUrl: emulator.url, poll: { initialDelayMs: 2 } }), retry: { maxAttempts: 2, baseDelayMs: 1 } });
    const wrongKey = `${KEY}-wrong`;
    const bad = createExecutor({ provider: shortApi({ apiKey: wrongKey, baseUrl: emulator.url }) });
    for (const name of ['call-queued', 'call-start', 'job-created', 'call-retry', 'call-end', 'call-error', 'call-cached'] as const) {
      good.events.on(name, collect(name));
      bad.events.on(name, collect(name));
    }
    const errors: string[] = [];
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 200 }, (_, i) => good.complete({ prompt: i % 10 === 0 ? `echo ${i}` : `p${i}` })),
      ...Array.from({ length: 5 }, (_, i) => bad.complete({ prompt: `bad ${i}` })),
    ]);
    for (const o of outcomes) if (o.status === 'rejected') errors.push(dumpError(o.reason));
    // A bad option error too: its message must not echo the key.
    try {
      shortApi({ apiKey: `has space ${KEY}` });
    } catch (error) {
      errors.push(dumpError(error));
    }
    const metrics = JSON.stringify([good.metrics(), bad.metrics()]);
    await good.close();
    await bad.close();
    await emulator.close();
    out.mockRestore();
    err.mockRestore();
    expect(errors.length).toBeGreaterThan(10);
    expect(errors.some((e) => e.includes('AUTH_FAILED'))).toBe(true);
    expect(events.length).toBeGreaterThan(500);
    const everything = [...errors, ...events, metrics, ...writes].join('\n');
    expect(everything).toContain('[redacted]'); // the echoed key was seen and redacted
    expect(everything).not.toContain(KEY.slice(8)); // not even the key's tail
  });
});
