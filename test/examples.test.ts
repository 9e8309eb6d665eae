import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Each example runs with one command; without SHORTAPI_KEY on the emulator, saying so first. */
function runExample(file: string, args: string[] = []) {
  const env = { ...process.env };
  delete env.SHORTAPI_KEY;
  const run = spawnSync(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout.split('\n')[0]).toMatch(/^SHORTAPI_KEY is not set: running against the ShortAPI emulator/);
  expect(run.stdout).toMatch(/^ {2}cost {13}\$\d+\.\d{6}/m);
  expect(run.stdout).toMatch(/0 duplicate jobs/);
  return run.stdout;
}

describe('examples', () => {
  it('ranking: re-ranks the search results, top 5 with calls, rounds and repairs', () => {
    const out = runExample('ranking.ts');
    expect(out).toMatch(/planned 4 calls in 3 rounds/);
    expect(out.match(/^ {2}\d\. https:\/\//gm)).toHaveLength(5);
    expect(out).toMatch(/4 calls, 3 rounds, \d+ tokens/);
  });

  it('extraction: every invoice file, values with evidence offsets, flagged values said so', () => {
    const out = runExample('extraction.ts');
    for (const file of ['acme-2041.txt', 'globex-q3.txt', 'northwind-778.txt']) expect(out).toContain(`  ${file}: `);
    // Offline the simulator's quotes are mostly not in the files: each value is then shown flagged with its reason, never as found.
    expect(out).toMatch(/← ".*" \[\d+-\d+, (exact|normalized)|flagged .*: (quote-not-in-document|value-not-in-quote)/);
    expect(out).toMatch(/3 calls, \d+ values flagged/);
  });

  it('classification: 24 tickets in 2 packed calls, each with a label or an abstain reason', () => {
    const out = runExample('classification.ts');
    expect(out).toMatch(/2 calls \(2 packed\) for 24 tickets/);
    expect(out).toMatch(/per queue: billing \d+, bug \d+, account \d+, feature-request \d+; abstained \d+; failed 0/);
  });

  it('coordinator: the simulator plans two fan-outs over the tickets, and they run through the executor', () => {
    const out = runExample('coordinator.ts');
    expect(out).toMatch(/plan: triage \(support\.triage, fan-out\) → draft-reply \(support\.draft-reply, fan-out\)/);
    // Each ticket's row: its triage (queue/priority from the triage agent's enums) and a reply.
    expect(out.match(/^ {2}(Charged twice|Export broken|Locked out|Dark mode\?) +(billing|bug|account|feature)\/(low|normal|high|urgent) +\S/gm)).toHaveLength(
      4,
    );
    expect(out).toMatch(/9 agent runs, 9 model calls/);
  });

  it('plugin: the support-agents package registered, listed and run', () => {
    const out = runExample('plugin.ts');
    expect(out).toMatch(/Plugin @shoal\/example-support-agents@1\.0\.0: support\.draft-reply, support\.triage/);
    expect(out).toMatch(/1 calls \(1 packed\) for 4 tickets/);
  });

  it('priority lanes: higher lanes finish first', () => {
    const out = runExample('priority-lanes.ts');
    expect(out).toMatch(/48 done, 0 failed/);
    expect(out).toMatch(/urgent \(\d+\) → triage \(\d+\) → summary \(\d+\) → reply \(\d+\)/);
  });
});
