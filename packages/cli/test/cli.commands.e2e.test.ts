import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, node, readJsonLines, SENTIMENT_AGENT, shoal, tempDir, writeLines } from './cli-helpers.js';

const NAMED_ONLY = fileURLToPath(new URL('./fixtures/named-export-agent.ts', import.meta.url));
const CORE_EMULATOR_BIN = fileURLToPath(new URL('../../core/dist/testing/emulator-bin.js', import.meta.url));

let emulator: ShortApiEmulator;
let env: Record<string, string>;
beforeAll(async () => {
  emulator = await startShortApiEmulator({ latencyMs: { min: 0, max: 10 }, seed: 5 });
  env = { SHORTAPI_KEY: emulator.apiKey, SHORTAPI_BASE_URL: emulator.url };
});
afterAll(() => emulator.close());

const tickets = [
  { id: 't1', text: 'I was charged twice for my subscription this month.' },
  { id: 't2', text: 'The app crashes when I open the settings page.' },
  { id: 't3', text: 'How do I change the email address on my account?' },
  { id: 't4', subject: 'no text field here' },
  { id: 't5', text: 'Refund please, the invoice total is wrong.' },
];

describe('the ready-made agents from the shell', () => {
  it('shoal classify labels every line, packing items into calls; a line without text is a bad line', async () => {
    const dir = tempDir();
    writeLines(join(dir, 'tickets.jsonl'), tickets);
    const run = await shoal(['classify', '-i', join(dir, 'tickets.jsonl'), '-o', join(dir, 'out.jsonl'), '--labels', 'billing,bug,account'], { env });
    expect(run.code, run.stderr).toBe(1);
    const out = readJsonLines<{ id: string; ok: boolean; output?: { label: string }; error?: { code: string; line: number } }>(join(dir, 'out.jsonl'));
    expect(out.map((l) => l.id)).toEqual(['t1', 't2', 't3', 't4', 't5']);
    for (const line of out.filter((l) => l.id !== 't4')) expect(['billing', 'bug', 'account']).toContain(line.output?.label);
    expect(out[3]).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', line: 4 } });
  });

  it('shoal rank gives each line its rank for the query, or null outside the top K', async () => {
    const dir = tempDir();
    const docs = Array.from({ length: 12 }, (_, i) => ({
      id: `d${i}`,
      text: `Passage ${i} about ${i % 2 ? 'solar panels on roofs' : 'the history of bread'}.`,
    }));
    writeLines(join(dir, 'docs.jsonl'), docs);
    const run = await shoal(['rank', '-i', join(dir, 'docs.jsonl'), '-o', join(dir, 'out.jsonl'), '--query', 'rooftop solar', '--top-k', '5'], { env });
    expect(run.code, run.stderr).toBe(0);
    const out = readJsonLines<{ id: string; ok: boolean; output: { rank: number | null } }>(join(dir, 'out.jsonl'));
    expect(out.map((l) => l.id)).toEqual(docs.map((d) => d.id));
    const ranks = out.map((l) => l.output.rank).filter((r): r is number => r !== null);
    expect(ranks.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  });

  it('shoal extract reads the fields from a JSON Schema file', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'invoice.schema.json'),
      JSON.stringify({ type: 'object', properties: { vendor: { type: 'string' }, total: { type: 'number' } }, required: ['vendor'] }),
    );
    writeLines(join(dir, 'docs.jsonl'), [
      { id: 'inv-1', text: 'Invoice from Acme Corp. Total due: 120.50 USD.' },
      { id: 'inv-2', text: 'Globex Ltd invoice, amount 99 EUR.' },
    ]);
    const run = await shoal(['extract', '-i', join(dir, 'docs.jsonl'), '-o', join(dir, 'out.jsonl'), '--schema', join(dir, 'invoice.schema.json')], { env });
    expect(run.code, run.stderr).toBe(0);
    const out = readJsonLines<{ id: string; ok: boolean; output: { data: Record<string, unknown>; complete: boolean } }>(join(dir, 'out.jsonl'));
    expect(out.map((l) => [l.id, l.ok])).toEqual([
      ['inv-1', true],
      ['inv-2', true],
    ]);
    for (const line of out) expect(typeof line.output.complete).toBe('boolean');
  });

  it('shoal extract refuses a schema file that is not an object schema, before anything is sent', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ type: 'string' }));
    writeLines(join(dir, 'docs.jsonl'), [{ text: 'x' }]);
    const before = emulator.stats().creates;
    const run = await shoal(['extract', '-i', join(dir, 'docs.jsonl'), '--schema', join(dir, 'bad.json')], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/must be the JSON Schema of an object/);
    expect(emulator.stats().creates).toBe(before);
  });
});

describe('shoal run --pack', () => {
  it('packs K inputs a model call (runMany) and still writes one line per item, in order', async () => {
    const dir = tempDir();
    writeLines(
      join(dir, 'items.jsonl'),
      Array.from({ length: 20 }, (_, i) => ({ id: `p${i}`, review: `Packed review number ${i}: works as described.` })),
    );
    const before = emulator.stats().creates;
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '-o', join(dir, 'out.jsonl'), '--pack', '5'], { env });
    expect(run.code, run.stderr).toBe(0);
    const out = readJsonLines<{ id: string; ok: boolean }>(join(dir, 'out.jsonl'));
    expect(out.map((l) => l.id)).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
    expect(out.every((l) => l.ok)).toBe(true);
    // Four packed calls; an item a packed answer missed would be asked alone (more creates, never fewer).
    expect(emulator.stats().creates - before).toBeGreaterThanOrEqual(4);
    expect(emulator.stats().creates - before).toBeLessThan(20);
  });
});

describe('arguments', () => {
  it('a mistyped option gets "did you mean" and exit code 2', async () => {
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', 'x.jsonl', '--concurency', '4'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown option '--concurency'/);
    expect(run.stderr).toMatch(/Did you mean --concurrency\?/);
  });

  it('a mistyped command gets "did you mean"', async () => {
    const run = await shoal(['clasify'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Did you mean classify\?/);
  });

  it('a bad number is refused with what was expected', async () => {
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', 'x.jsonl', '--concurrency', 'lots'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--concurrency.*expected a whole number of 1 or more, got "lots"/);
  });

  it('a missing input file and a module without a default agent are one line each, no stack', async () => {
    const missing = await shoal(['run', SENTIMENT_AGENT, '-i', '/nonexistent/items.jsonl'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^shoal: Cannot read the input file \/nonexistent\/items\.jsonl/m);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const dir = tempDir();
    writeLines(join(dir, 'i.jsonl'), [{ word: 'a' }]);
    const named = await shoal(['run', NAMED_ONLY, '-i', join(dir, 'i.jsonl')], { env });
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/has no agent as its default export.*It exports `echo`: add `export default echo;`/);
  });

  for (const [label, bin] of [
    ['shoal emulator', [BIN, 'emulator']],
    ['shoal-emulator', [CORE_EMULATOR_BIN]],
  ] as const) {
    it(`${label} refuses --bogus and --latency abc with one line, no stack`, async () => {
      const bogus = await node([...bin, '--bogus']);
      expect(bogus.code).toBe(2);
      expect(bogus.stderr).toMatch(/unknown option --bogus/);
      expect(bogus.stderr).not.toMatch(/\n\s+at /);
      const typo = await node([...bin, '--latncy', '5']);
      expect(typo.stderr).toMatch(/did you mean --latency\?/);
      const latency = await node([...bin, '--latency', 'abc']);
      expect(latency.code).toBe(2);
      expect(latency.stderr).toMatch(/--latency expects milliseconds .* got "abc"/);
    });
  }

  it('shoal emulator --json serves the job API and prints its url and key', async () => {
    const child = spawn(process.execPath, [BIN, 'emulator', '--json', '--latency', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('close', (code) => reject(new Error(`the emulator exited (${code}) before printing its url`)));
    });
    const { url, apiKey } = JSON.parse(line) as { url: string; apiKey: string };
    const dir = tempDir();
    writeLines(join(dir, 'items.jsonl'), [{ review: 'Lovely.' }]);
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '-o', join(dir, 'out.jsonl')], {
      env: { SHORTAPI_KEY: apiKey, SHORTAPI_BASE_URL: url },
    });
    child.kill('SIGTERM');
    expect(run.code, run.stderr).toBe(0);
    expect(readJsonLines(join(dir, 'out.jsonl'))).toHaveLength(1);
  });
});

describe('stopping and bad paths', () => {
  it('a wrong key stops at the first refusal: exit code 2, one line, the other items NOT_STARTED, the key nowhere', async () => {
    const dir = tempDir();
    writeLines(
      join(dir, 'items.jsonl'),
      Array.from({ length: 40 }, (_, i) => ({ review: `Review ${i}` })),
    );
    const guarded = await startShortApiEmulator({ apiKey: 'sk-right-key-67890', seed: 5 });
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '-o', join(dir, 'out.jsonl'), '-c', '2'], {
      env: { SHORTAPI_BASE_URL: guarded.url, SHORTAPI_KEY: 'sk-wrong-key-12345' },
    });
    const creates = guarded.stats().creates;
    await guarded.close();
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^shoal: stopped at the first AUTH_FAILED/m);
    expect(run.stderr).not.toContain('sk-wrong-key-12345');
    const out = readJsonLines<{ ok: boolean; error: { code: string } }>(join(dir, 'out.jsonl'));
    expect(out).toHaveLength(40);
    expect(out.filter((l) => l.error.code === 'NOT_STARTED').length).toBeGreaterThan(30);
    expect(readFileSync(join(dir, 'out.jsonl'), 'utf8')).not.toContain('sk-wrong-key-12345');
    expect(creates).toBe(0);
  });

  it('an output or record path that cannot be written is refused before anything starts, and the process exits', async () => {
    const dir = tempDir();
    writeLines(join(dir, 'items.jsonl'), [{ review: 'Fine.' }]);
    const output = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '-o', join(dir, 'missing', 'out.jsonl')], { env });
    expect(output.code).toBe(2);
    expect(output.stderr).toMatch(/^shoal: Cannot write the output file .*missing\/out\.jsonl \(ENOENT\)/m);
    // Offline (no key), so the emulator starts in-process: the bad record path must still let the process exit.
    const record = await shoal(
      ['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '-o', join(dir, 'out.jsonl'), '-r', join(dir, 'missing', 'run.jsonl')],
      {
        env: { SHORTAPI_KEY: undefined, SHORTAPI_BASE_URL: undefined },
      },
    );
    expect(record.code).toBe(2);
    expect(record.stderr).toMatch(/^shoal: recordRun\(\): cannot open .*missing\/run\.jsonl/m);
    expect(output.stderr + record.stderr).not.toMatch(/\n\s+at /);
  });

  it('an empty input is refused with exit code 2', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty.jsonl'), '\n');
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'empty.jsonl')], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/empty\.jsonl has no items/);
  });

  it('fixing a bad line of a packed run pays only for the batch that holds it on the rerun (--store)', async () => {
    const dir = tempDir();
    const lines: unknown[] = Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, text: `Ticket ${i}: the invoice total looks wrong.` }));
    lines[1] = { id: 't1', note: 'no text yet' };
    writeLines(join(dir, 'tickets.jsonl'), lines);
    const args = [
      'classify',
      '-i',
      join(dir, 'tickets.jsonl'),
      '-o',
      join(dir, 'out.jsonl'),
      '--labels',
      'billing,bug',
      '--pack',
      '5',
      '-s',
      join(dir, 'run.db'),
    ];
    const first = await shoal(args, { env });
    expect(first.code, first.stderr).toBe(1);
    const afterFirst = emulator.stats().creates;
    lines[1] = { id: 't1', text: 'Ticket 1: charged twice.' };
    writeLines(join(dir, 'tickets.jsonl'), lines);
    const second = await shoal(args, { env });
    expect(second.code, second.stderr).toBe(0);
    expect(emulator.stats().creates - afterFirst).toBe(1); // lines 1-5 only; the other three batches come from the store
  });

  it('--dry-run with --budget estimates the whole run and says where the budget would stop it', async () => {
    const dir = tempDir();
    writeLines(
      join(dir, 'items.jsonl'),
      Array.from({ length: 100 }, (_, i) => ({ review: `Review ${i}: works.` })),
    );
    const run = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'items.jsonl'), '--dry-run', '--budget', '0.001'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^ {2}model calls +100$/m);
    expect(run.stderr).toMatch(/^ {2}budget +\$0\.001 would stop the run after about \d+% of its calls/m);
  });
});

describe('--dry-run with --store', () => {
  it('leaves out what the store already holds, and writes nothing to it', async () => {
    const dir = tempDir();
    const items = Array.from({ length: 30 }, (_, i) => ({ id: `s${i}`, review: `Stored review ${i}: fine.` }));
    writeLines(join(dir, 'first.jsonl'), items.slice(0, 20));
    writeLines(join(dir, 'all.jsonl'), items);
    const store = join(dir, 'run.db');
    const first = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'first.jsonl'), '-o', join(dir, 'out.jsonl'), '-s', store], { env });
    expect(first.code, first.stderr).toBe(0);
    const dry = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'all.jsonl'), '-s', store, '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/^ {2}model calls +10 \(20 more answered from --store, free\)$/m);
    // The dry run wrote nothing: a second one sees the same.
    const again = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'all.jsonl'), '-s', store, '--dry-run'], { env });
    expect(again.stderr).toMatch(/^ {2}model calls +10 /m);
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
    const fresh = await shoal(['run', SENTIMENT_AGENT, '-i', join(dir, 'all.jsonl'), '-s', join(dir, 'missing.db'), '--dry-run'], { env });
    expect(fresh.stderr).toMatch(/^ {2}model calls +30$/m);
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
  });
});
