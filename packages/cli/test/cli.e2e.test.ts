import { join } from 'node:path';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { costOf, readJsonLines, review, SENTIMENT_AGENT, shoal, tempDir, writeLines } from './cli-helpers.js';

let emulator: ShortApiEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function startEmulator(latencyMs: number | { min: number; max: number }) {
  emulator = await startShortApiEmulator({ latencyMs, seed: 11 });
  return { SHORTAPI_KEY: emulator.apiKey, SHORTAPI_BASE_URL: emulator.url };
}

type OutLine = { id: string; ok: boolean; output?: { sentiment: string }; error?: { code: string; line?: number; message: string } };

describe('shoal run (a child process over a temp folder, the emulator over HTTP)', () => {
  it('runs an agent over a 2,000-line file: one output line per input line, in input order; bad lines are reported with their line numbers and cost nothing', async () => {
    const env = await startEmulator({ min: 0, max: 20 });
    const dir = tempDir();
    const lines: unknown[] = Array.from({ length: 2_000 }, (_, i) => review(i));
    lines[99] = '{"id": "broken", review: }'; // line 100: not JSON
    lines[499] = { id: 'no-review', stars: 4 }; // line 500: does not fit the agent's input
    writeLines(join(dir, 'items.jsonl'), lines);
    const run = await shoal(['run', SENTIMENT_AGENT, '--input', join(dir, 'items.jsonl'), '--output', join(dir, 'out.jsonl'), '--concurrency', '32'], { env });
    expect(run.code, run.stderr).toBe(1); // partial: two lines failed
    const out = readJsonLines<OutLine>(join(dir, 'out.jsonl'));
    expect(out).toHaveLength(2_000);
    out.forEach((line, i) => {
      if (i === 99 || i === 499) return;
      expect(line.id).toBe(`r${i}`);
      expect(line.ok).toBe(true);
      expect(['positive', 'negative', 'mixed']).toContain(line.output?.sentiment);
    });
    expect(out[99]).toMatchObject({ id: '100', ok: false, error: { code: 'BAD_INPUT', line: 100 } });
    expect(out[99]!.error!.message).toMatch(/line 100 is not JSON/);
    expect(out[499]).toMatchObject({ id: 'no-review', ok: false, error: { code: 'BAD_INPUT', line: 500 } });
    expect(out[499]!.error!.message).toMatch(/review/);
    // Nothing was sent for the two bad lines; every other line was one job, none twice.
    expect(emulator!.stats().creates).toBe(1_998);
    expect(emulator!.stats().duplicateCreates).toBe(0);
    expect(run.stderr).toMatch(/^ {2}calls +1998 done, 0 failed/m);
    expect(run.stderr).toMatch(/^ {2}bad input +2 lines/m);
    expect(run.stderr).toMatch(/progress: 2000\/2000 items \(2 failed\)/);
  });

  it('stops cleanly on SIGINT and the rerun with the same --store finishes, paying for no job twice', async () => {
    const env = await startEmulator({ min: 100, max: 300 });
    const dir = tempDir();
    writeLines(
      join(dir, 'items.jsonl'),
      Array.from({ length: 300 }, (_, i) => review(i)),
    );
    const args = ['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '-o', join(dir, 'out.jsonl'), '-c', '16', '--store', join(dir, 'run.db')];
    // Interrupted once 40 items are done, with no time for the calls in flight: their jobs stay in the store's journal.
    const first = await shoal([...args, '--shutdown-seconds', '0', '--progress-seconds', '0'], {
      env,
      interruptWhen: (stderr) => /progress: ([4-9]\d|\d{3})\//.test(stderr),
    });
    expect(first.code, first.stderr).toBe(130);
    expect(first.stderr).toMatch(/SIGINT: no new work starts/);
    const partial = readJsonLines<OutLine>(join(dir, 'out.jsonl'));
    expect(partial).toHaveLength(300); // every item has a line: done, or INTERRUPTED
    const interrupted = partial.filter((l) => !l.ok);
    expect(interrupted.length).toBeGreaterThan(0);
    for (const line of interrupted) expect(line.error?.code).toMatch(/^(INTERRUPTED|EXECUTOR_CLOSED)$/);
    const createsBefore = emulator!.stats().creates;
    expect(createsBefore).toBeLessThan(300);

    const second = await shoal(args, { env });
    expect(second.code, second.stderr).toBe(0);
    const out = readJsonLines<OutLine>(join(dir, 'out.jsonl'));
    expect(out).toHaveLength(300);
    expect(out.every((l, i) => l.ok && l.id === `r${i}`)).toBe(true);
    // Every item's job was created once across both runs: the rerun took finished results from the
    // store and re-attached to the jobs the first run left running.
    expect(emulator!.stats().creates).toBe(300);
    expect(emulator!.stats().duplicateCreates).toBe(0);
  });

  it('a second SIGINT stops at once and still writes every output line that was in order', async () => {
    const env = await startEmulator({ min: 100, max: 300 });
    const dir = tempDir();
    writeLines(
      join(dir, 'items.jsonl'),
      Array.from({ length: 300 }, (_, i) => review(i)),
    );
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '-o', join(dir, 'out.jsonl'), '-c', '16', '--progress-seconds', '0'], {
      env,
      interruptWhen: (stderr) => /progress: ([4-9]\d|\d{3})\//.test(stderr),
      interruptTwice: true,
    });
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/SIGINT again: stopped\. The output holds every line that was in order; results not yet written are lost \(with --store/);
    const out = readJsonLines<OutLine>(join(dir, 'out.jsonl'));
    expect(out.length).toBeGreaterThan(0); // the first items were done long before: 40 had ended when the first SIGINT came
    expect(out.length).toBeLessThan(300);
    out.forEach((line, i) => expect(line.id).toBe(`r${i}`));
  });

  it('--dry-run sends nothing and prints a cost within 15% of the real run', async () => {
    const env = await startEmulator({ min: 0, max: 10 });
    const dir = tempDir();
    writeLines(
      join(dir, 'items.jsonl'),
      Array.from({ length: 400 }, (_, i) => review(i)),
    );
    const input = join(dir, 'items.jsonl');
    const dry = await shoal(['run', SENTIMENT_AGENT, '-i', input, '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(emulator!.stats().creates).toBe(0);
    expect(dry.stderr).toMatch(/^Dry run: nothing was sent, nothing was paid\./m);
    expect(dry.stderr).toMatch(/^ {2}model calls +400$/m);
    expect(dry.stderr).toMatch(/^ {2}input tokens +\d+ \(counted with the tokenizer/m);
    expect(dry.stderr).toMatch(/^ {2}time +about/m);
    const real = await shoal(['run', SENTIMENT_AGENT, '-i', input, '-o', join(dir, 'out.jsonl'), '-c', '32'], { env });
    expect(real.code, real.stderr).toBe(0);
    const estimate = costOf(dry.stderr);
    const actual = costOf(real.stderr);
    expect(Math.abs(estimate - actual) / actual).toBeLessThan(0.15);
  });

  it('stops at the budget: exit code 3, the items after it are marked BUDGET_EXCEEDED, the spend stays near the budget', async () => {
    const env = await startEmulator({ min: 0, max: 10 });
    const dir = tempDir();
    writeLines(
      join(dir, 'items.jsonl'),
      Array.from({ length: 300 }, (_, i) => review(i)),
    );
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '-o', join(dir, 'out.jsonl'), '-c', '4', '--budget', '0.002'], { env });
    expect(run.code, run.stderr).toBe(3);
    const out = readJsonLines<OutLine>(join(dir, 'out.jsonl'));
    expect(out).toHaveLength(300);
    const stopped = out.filter((l) => l.error?.code === 'BUDGET_EXCEEDED');
    expect(stopped.length).toBeGreaterThan(100);
    expect(out.filter((l) => l.ok).length + stopped.length).toBe(300);
    // The budget admits calls while spent + in flight fits: at most one call over.
    expect(costOf(run.stderr)).toBeLessThanOrEqual(0.002 * 1.1);
    expect(emulator!.stats().creates).toBe(out.filter((l) => l.ok).length);
  });

  it('reads CSV; a row with the wrong number of fields is a bad line with its number', async () => {
    const env = await startEmulator(0);
    const dir = tempDir();
    writeLines(join(dir, 'items.csv'), ['id,review', 'a,"Great blender, quiet"', 'b,Broke in a week', 'c,too,many,fields', 'd,Fine']);
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'items.csv'), '-o', join(dir, 'out.jsonl')], { env });
    expect(run.code, run.stderr).toBe(1);
    const out = readJsonLines<OutLine>(join(dir, 'out.jsonl'));
    expect(out.map((l) => [l.id, l.ok])).toEqual([
      ['a', true],
      ['b', true],
      ['4', false],
      ['d', true],
    ]);
    expect(out[2]!.error).toMatchObject({ code: 'BAD_INPUT', line: 4 });
    expect(emulator!.stats().creates).toBe(3);
  });
});
