import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecutor, type Executor, ShoalError, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
import { sqliteStore } from '@shoal/store-sqlite';
import { afterAll, describe, expect, it } from 'vitest';

const KEY = 'sk-shoal-JOURNAL-SECRET-4b8e2d6a1c';
const PROMPT_MARK = 'PROMPT-TEXT-MARKER';
const dir = mkdtempSync(join(tmpdir(), 'shoal-store-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every string reachable from an error or event, causes included. */
function dump(value: unknown, seen = new Set<unknown>()): string {
  if (value === null || typeof value !== 'object') return String(value);
  if (seen.has(value)) return '';
  seen.add(value);
  const parts: string[] = [];
  if (value instanceof Error) parts.push(value.message, value.stack ?? '', ShoalError.isInstance(value) ? JSON.stringify(value.toJSON()) : '');
  for (const [k, v] of Object.entries(value)) parts.push(k, dump(v, seen));
  if (value instanceof Error && value.cause) parts.push(dump(value.cause, seen));
  return parts.join('\n');
}

describe('the API key never reaches the store, its errors or its events', () => {
  it('leaves no trace of the key (nor of prompts, stored only as hashes) in the file, errors or events of a run and its recovery', async () => {
    const path = join(dir, 'secret.db');
    const seen: string[] = [];
    const watch = (executor: Executor) => {
      for (const name of ['job-created', 'job-resumed', 'job-recreated', 'call-end', 'call-error', 'call-retry'] as const) {
        executor.events.on(name, (event: unknown) => seen.push(dump(event)));
      }
    };
    const slow = await startShortApiEmulator({
      apiKey: KEY,
      latencyMs: 400,
      seed: 5,
      faults: { dropCreate: 0.2 },
      rules: [{ match: '', reply: 'ANSWER-MARK' }],
    });
    const first = createExecutor({ provider: shortApi({ apiKey: KEY, baseURL: slow.url, poll: { initialDelayMs: 5 } }), store: sqliteStore(path) });
    watch(first);
    // Callers that stop waiting once their job exists leave jobs in the journal; lost create answers leave intents.
    const leave = new AbortController();
    first.events.on('job-created', () => leave.abort());
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => first.complete({ prompt: `${PROMPT_MARK} ${i}` }, { signal: leave.signal })),
    );
    await first.close();
    const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [dump(o.reason)] : []));
    const left = sqliteStore(path);
    const counts = left.counts();
    left.close();
    expect(counts.jobs).toBeGreaterThan(0);
    expect(counts.intents).toBeGreaterThan(0);

    // The rerun meets a server that knows none of those jobs: unknown-job errors, re-creates.
    const other = await startShortApiEmulator({ apiKey: KEY, latencyMs: 2, rules: [{ match: '', reply: 'ANSWER-MARK' }] });
    const second = createExecutor({ provider: shortApi({ apiKey: KEY, baseURL: other.url, poll: { initialDelayMs: 5 } }), store: sqliteStore(path) });
    watch(second);
    const again = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => second.complete({ prompt: `${PROMPT_MARK} ${i}` })));
    for (const o of again) if (o.status === 'rejected') errors.push(dump(o.reason));
    expect(errors.some((e) => e.includes('JOB_NOT_FOUND'))).toBe(true);
    expect(second.metrics().recovery.recreated).toBe(counts.intents);
    const metrics = JSON.stringify([first.metrics(), second.metrics()]);
    await second.close();
    await slow.close();
    await other.close();

    const files = [path, `${path}-wal`, `${path}-journal`].filter(existsSync).map((file) => readFileSync(file).toString('latin1'));
    const everything = [...files, ...errors, ...seen, metrics].join('\n');
    expect(seen.some((e) => e.includes('idempotencyKey'))).toBe(true); // job-recreated events were seen
    expect(everything).not.toContain(KEY.slice(8));
    expect(files.join('\n')).toContain('ANSWER-MARK'); // the bytes read are the store's: answers are kept as text
    expect(files.join('\n')).not.toContain(PROMPT_MARK);
  }, 30_000);
});
