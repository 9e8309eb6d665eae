import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the demo (README quick start, first command)', () => {
  it('runs ranking and extraction end to end on the emulator without SHORTAPI_KEY, says so first, shows progress and the cost summary', () => {
    const env = { ...process.env };
    delete env.SHORTAPI_KEY;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^SHORTAPI_KEY is not set: running against the ShortAPI emulator/);
    expect(run.stdout).toMatch(/^Ranking: 16 search results/m);
    expect(run.stdout).toMatch(/^ {2}ranking \[#{20}\] 4\/4/m);
    expect(run.stdout).toMatch(/^ {2}5\. https:\/\//m);
    expect(run.stdout).toMatch(/^Extraction: .* from 3 invoices/m);
    expect(run.stdout).toMatch(/^ {2}extraction \[#{20}\] 3\/3/m);
    for (const file of ['acme-2041.txt', 'globex-q3.txt', 'northwind-778.txt']) expect(run.stdout).toContain(`  ${file}: `);
    for (const label of ['calls', 'retries', 'requests per job', 'tokens', 'cost', 'latency']) expect(run.stdout).toMatch(new RegExp(`^  ${label} `, 'm'));
    expect(run.stdout).toMatch(/ 7 done, 0 failed/);
    expect(run.stdout).toMatch(/shoal\.rank-listwise \$[\d.]+.*shoal\.extract \$[\d.]+/);
    expect(run.stdout).toMatch(/0 duplicate jobs/);
  });
});
