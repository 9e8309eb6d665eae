import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobFailedError, ShoalConfigError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import type { RunRecordLine } from '../src/record/format.js';
import { recordRun } from '../src/record/record-run.js';
import { formatSummary } from '../src/record/summary.js';
import { manualClock } from '../src/testing/manual-clock.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';

const usage = { inputTokens: 100, cachedInputTokens: 0, outputTokens: 10 };
const read = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunRecordLine);

describe('recordRun()', () => {
  it('says in the totals line how many jobs had no known price (and says nothing when all had one)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-record-'));
    for (const [pricing, expected] of [
      ['unknown', 2],
      [undefined, undefined],
    ] as const) {
      const file = join(dir, `run-${pricing ?? 'priced'}.jsonl`);
      const executor = createExecutor({ provider: scriptedProvider([{ reply: { text: 'ok', usage } }], pricing ? { pricing } : {}), cache: false });
      const recorder = recordRun(executor, file);
      await Promise.all([executor.complete({ prompt: 'a' }), executor.complete({ prompt: 'b' })]);
      await recorder.close();
      expect((read(file).at(-1) as { unpricedCalls?: number }).unpricedCalls).toBe(expected);
      await executor.close();
    }
  });

  it('writes a header, one line per call event (no prompt text), and the executor totals last', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'shoal-record-')), 'run.jsonl');
    const provider = scriptedProvider([{ match: 'fails', reply: new JobFailedError('the job failed', 3, undefined, {}) }, { reply: { text: 'ok', usage } }]);
    const executor = createExecutor({ provider, concurrency: 2, clock: manualClock(), retry: { maxAttempts: 1 } });
    const recorder = recordRun(executor, file, { label: 'unit' });
    const calls = [
      executor.complete({ prompt: 'secret prompt one' }, { tags: ['agent.a', 'batch'], priority: 2 }),
      executor.complete({ prompt: 'secret prompt one' }, { tags: ['agent.a'] }), // joins the first (dedup)
      executor.complete({ prompt: 'secret prompt fails' }, { tags: ['agent.b'] }),
    ];
    await Promise.allSettled(calls);
    await executor.complete({ prompt: 'secret prompt one' }); // from the cache
    await recorder.close();
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/secret prompt/);
    const lines = read(file);
    expect(lines[0]).toMatchObject({ ev: 'run', v: 1, provider: 'scripted', concurrency: 2, budgetUsd: null, label: 'unit' });
    const count = (ev: string) => lines.filter((l) => l.ev === ev).length;
    expect(count('queued')).toBe(4);
    expect(count('end')).toBe(3);
    expect(count('error')).toBe(1);
    expect(lines.find((l) => l.ev === 'queued' && l.priority === 2)).toMatchObject({ agent: 'agent.a', tags: ['agent.a', 'batch'] });
    const ends = lines.filter((l): l is Extract<RunRecordLine, { ev: 'end' }> => l.ev === 'end');
    expect(ends.filter((e) => e.dedup)).toHaveLength(1);
    expect(ends.filter((e) => e.cached)).toHaveLength(1);
    expect(lines.find((l) => l.ev === 'error')).toMatchObject({ code: 'JOB_FAILED', attempts: 1 });
    const m = executor.metrics();
    expect(lines.at(-1)).toMatchObject({ ev: 'totals', done: m.done, failed: m.failed, cached: m.cached, deduplicated: m.deduplicated, costUsd: m.costUsd });
    expect(recorder.lines).toBe(lines.length);
    await executor.close();
  });

  it('appends by default and stops listening once closed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'shoal-record-')), 'run.jsonl');
    const executor = createExecutor({ provider: scriptedProvider([{ reply: 'x' }]), cache: false });
    const first = recordRun(executor, file);
    await executor.complete({ prompt: 'a' });
    await first.close();
    await executor.complete({ prompt: 'b' }); // not recorded
    const second = recordRun(executor, file);
    await second.close();
    expect(read(file).map((l) => l.ev)).toEqual(['run', 'queued', 'started', 'job', 'end', 'totals', 'run', 'totals']);
    await executor.close();
  });

  it('refuses a file it cannot open with what to check', () => {
    const executor = createExecutor({ provider: scriptedProvider([{ reply: 'x' }]) });
    expect(() => recordRun(executor, '/nonexistent-folder/run.jsonl')).toThrow(ShoalConfigError);
    expect(() => recordRun(executor, '/nonexistent-folder/run.jsonl')).toThrow(/cannot open \/nonexistent-folder\/run\.jsonl for writing \(ENOENT\)/);
  });
});

describe('formatSummary()', () => {
  it('is the demo summary: calls, retries, requests per job, tokens, cost by agent tag, latency, and extra lines', async () => {
    const executor = createExecutor({ provider: scriptedProvider([{ reply: { text: 'x', usage } }]) });
    await executor.complete({ prompt: 'a' }, { tags: ['shoal.rank', 'rank'] });
    const lines = formatSummary(executor.metrics(), { wallMs: 1500, extra: [['emulator', '1 creates']] });
    expect(lines[0]).toBe('Summary');
    expect(lines).toContain('  calls            1 done, 0 failed, in 1.50 s');
    expect(lines.find((l) => l.startsWith('  cost'))).toMatch(/\(shoal\.rank \$[\d.]+\)$/);
    expect(lines.at(-1)).toBe('  emulator         1 creates');
    await executor.close();
  });
});
