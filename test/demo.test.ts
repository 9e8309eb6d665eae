import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the demo (README quick start, first command)', () => {
  it('runs on the emulator without SHORTAPI_KEY, says so first, and prints the summary', () => {
    const env = { ...process.env };
    delete env.SHORTAPI_KEY;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^SHORTAPI_KEY is not set: running against the ShortAPI emulator/);
    for (const label of ['calls', 'retries', 'requests per job', 'tokens', 'cost', 'latency']) expect(run.stdout).toMatch(new RegExp(`^  ${label} `, 'm'));
    expect(run.stdout).toMatch(/48 done, 0 failed/);
    expect(run.stdout).toMatch(/0 duplicate jobs/);
    // Priority lanes finish in priority order.
    expect(run.stdout).toMatch(/urgent \(\d+\) → triage \(\d+\) → summary \(\d+\) → reply \(\d+\)/);
  });
});
