import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalConfigError } from '@shoal/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunRecord, renderReport, writeReport } from '../src/report/index.js';
import { header, writeLines } from './report-record.js';

let dir: string;
let files = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-report-unit-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the lines as a record and reads it back. */
async function read(lines: readonly unknown[], options: { readonly run?: number } = {}) {
  const file = join(dir, `run-${files++}.jsonl`);
  await writeLines(file, lines);
  return readRunRecord(file, options);
}

const queued = (id: string, t = 0, extra: Record<string, unknown> = {}) => ({ ev: 'queued', id, t, priority: 0, agent: 'a.b', tags: ['a.b', 'x'], ...extra });
const started = (id: string, t = 1) => ({ ev: 'started', id, t, waitMs: t });
const end = (id: string, t: number, extra: Record<string, unknown> = {}) => ({
  ev: 'end',
  id,
  t,
  ms: t,
  attempts: 1,
  requests: 2,
  in: 10,
  cachedIn: 2,
  out: 5,
  usd: 0.1,
  ...extra,
});
const totalsLine = (extra: Record<string, unknown> = {}) => ({
  ev: 'totals',
  t: 10,
  done: 1,
  failed: 0,
  cached: 0,
  deduplicated: 0,
  retries: 0,
  jobs: 0,
  rateLimited: 0,
  inputTokens: 10,
  cachedInputTokens: 2,
  outputTokens: 5,
  costUsd: 0.1,
  ...extra,
});

describe('reading a run record', () => {
  it('counts malformed lines and lines of an unknown ev, with the first of each, and says so in the page', async () => {
    const data = await read([
      header(),
      queued('a'),
      'not json',
      started('a'),
      '{"ev":"end","id":"a"}',
      '{"ev":"mystery","t":1}',
      '[1,2]',
      '',
      end('a', 5),
      '{"ev":"later-thing"}',
      end('a', 6),
    ]);
    // The blank line is not counted; a second end for the same call is: it contradicts the first.
    expect(data.issues).toMatchObject({
      lines: 10,
      malformed: 4,
      firstMalformedLine: 3,
      unknown: 2,
      firstUnknownLine: 6,
      unknownNames: ['mystery', 'later-thing'],
    });
    expect(data.totals.done).toBe(1);
    const html = renderReport(data);
    expect(html).toContain('4 malformed lines skipped (the first at line 3)');
    expect(html).toContain('2 lines of an unknown <code>ev</code> skipped (mystery, later-thing; the first at line 6)');
  });

  it.each([
    ['no header', [queued('a'), end('a', 5)], /first line should be the header .* but it is \{"ev":"queued"/],
    ['not JSON', ['hello', end('a', 5)], /first line should be the header .* but it is hello/],
    ['another version', [header({ v: 2, shape: 'new' }), queued('a')], /format version 2, and this report reads version 1/],
    ['a header without its fields', [{ ev: 'run', v: 1 }], /header lacks a field/],
    ['nothing in it', ['', '  '], /is empty: a run record starts with the header line/],
  ])('refuses a file with %s, saying what is wrong', async (_, lines, message) => {
    const error = await read(lines).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShoalConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a path it cannot read, and a folder', async () => {
    await expect(readRunRecord(join(dir, 'missing.jsonl'))).rejects.toThrow(/Cannot read the run record .*missing\.jsonl.*ENOENT/);
    await expect(readRunRecord(dir)).rejects.toThrow(ShoalConfigError);
  });

  it('sums money in pico-dollars, charges failed calls their jobs, and books no tokens for cached or shared answers', async () => {
    const lines: unknown[] = [header()];
    for (let i = 0; i < 10; i++) lines.push(queued(`ok${i}`, i), started(`ok${i}`, i + 1), end(`ok${i}`, i + 5));
    lines.push(
      queued('cached', 1, { agent: 'c.d', tags: ['c.d'] }),
      started('cached', 2),
      end('cached', 2.1, { usd: 0, cached: true, attempts: 0, requests: 0 }),
      queued('shared', 1),
      started('shared', 2),
      end('shared', 9, { usd: 0, dedup: true, attempts: 0, requests: 0 }),
      queued('failed', 1, { agent: 'c.d', tags: ['c.d'] }),
      started('failed', 2),
      { ev: 'job', id: 'failed', t: 3, job: 'j1', attempt: 1, usd: 0.0000254 },
      { ev: 'retry', id: 'failed', t: 4, attempt: 1, delayMs: 1, code: 'JOB_FAILED' },
      { ev: 'job', id: 'failed', t: 5, job: 'j2', attempt: 2, usd: 0.0000258 },
      { ev: 'job', id: 'failed', t: 6, job: 'j2', attempt: 2, resumed: true },
      { ev: 'error', id: 'failed', t: 12, ms: 11, attempts: 2, code: 'RETRIES_EXHAUSTED', message: 'gave up' },
      // Charged after its call gave up (a create answered late): the executor's ledger books it too.
      { ev: 'job', id: 'failed', t: 13, job: 'j3', attempt: 3, usd: 0.0000001 },
    );
    const data = await read(lines);
    // As floats, ten times 0.1 is 0.9999999999999999.
    expect(Array.from({ length: 10 }, () => 0.1).reduce((a, b) => a + b)).not.toBe(1);
    expect(data.totals).toEqual({
      done: 12,
      failed: 1,
      cached: 1,
      deduplicated: 1,
      retries: 1,
      rateLimited: 0,
      jobs: 3,
      inputTokens: 100,
      cachedInputTokens: 20,
      outputTokens: 50,
      costUsd: 1.0000513,
    });
    expect(data.byAgent).toEqual([
      { name: 'a.b', calls: 11, failed: 0, costUsd: 1 },
      { name: 'c.d', calls: 2, failed: 1, costUsd: 0.0000513 },
    ]);
    expect(data.byTag.map((row) => row.name)).toEqual(['a.b', 'x', 'c.d']);
    expect(data.failuresByCode).toEqual([{ code: 'RETRIES_EXHAUSTED', count: 1 }]);
    expect(data.slowest.find((call) => call.failed)).toMatchObject({ id: 'failed', ms: 11, attempts: 2 });
    expect(renderReport(data)).toContain('$<span data-total="costUsd">1.000051</span>');
  });

  it('warns, naming the field, when a computed total differs from the totals line', async () => {
    const agreeing = await read([header(), queued('a'), started('a'), end('a', 5), totalsLine()]);
    expect(agreeing.mismatches).toEqual([]);
    expect(renderReport(agreeing)).not.toContain('data-mismatch');

    const data = await read([header(), queued('a'), started('a'), end('a', 5), totalsLine({ done: 2, costUsd: 0.100000000001 })]);
    expect(data.mismatches).toEqual([
      { name: 'done', computed: 1, recorded: 2 },
      { name: 'costUsd', computed: 0.1, recorded: 0.100000000001 },
    ]);
    const html = renderReport(data);
    expect(html).toContain('<b data-mismatch="done">done</b>');
    expect(html).toContain('<b data-mismatch="costUsd">costUsd</b>');
    expect(html).toContain('<div class="total mismatch"><div class="label">answered</div>');
  });

  it('warns when the totals line says jobs had no known price: the cost leaves them out', async () => {
    const priced = await read([header(), queued('a'), started('a'), end('a', 5), totalsLine()]);
    expect(renderReport(priced)).not.toContain('no known price');
    const data = await read([header(), queued('a'), started('a'), end('a', 5, { usd: 0 }), totalsLine({ costUsd: 0, unpricedCalls: 1 })]);
    expect(data.mismatches).toEqual([]);
    expect(renderReport(data)).toContain('1 job had no known price');
  });

  it('takes the 429 count from the totals line, else from the retries after a 429, and says which', async () => {
    const lines = [
      header(),
      queued('a'),
      started('a'),
      { ev: 'retry', id: 'a', t: 2, attempt: 1, delayMs: 0, code: 'RATE_LIMITED', status: 429 },
      { ev: 'retry', id: 'a', t: 3, attempt: 2, delayMs: 0, code: 'SERVER_ERROR', status: 502 },
      end('a', 5, { attempts: 3 }),
    ];
    const fromRetries = await read(lines);
    expect(fromRetries.rateLimitedFrom).toBe('retries');
    expect(fromRetries.totals.rateLimited).toBe(1);
    expect(fromRetries.retryCodes).toEqual([
      { code: 'RATE_LIMITED', count: 1 },
      { code: 'SERVER_ERROR', count: 1 },
    ]);
    expect(renderReport(fromRetries)).toContain('No totals line');

    const fromTotals = await read([...lines, totalsLine({ retries: 2, rateLimited: 4 })]);
    expect(fromTotals.rateLimitedFrom).toBe('totals');
    expect(fromTotals.totals.rateLimited).toBe(4);
    expect(fromTotals.mismatches).toEqual([]);
  });

  it('reports the last run of a file that holds two (recordRun appends; a resumed run adds its own), or the one asked for', async () => {
    const lines = [header(), queued('a'), started('a'), end('a', 5), totalsLine(), header({ label: 'next' }), queued('b'), started('b'), queued('c')];
    const last = await read(lines);
    expect(last.header.label).toBe('next');
    expect(last.issues.runs).toEqual({ inFile: 2, shown: 2 });
    expect(last.issues.withoutQueued).toBe(0);
    expect(renderReport(last)).toContain('This file holds 2 runs');
    expect(renderReport(last)).toContain('this report shows run 2, the last');
    const first = await read(lines, { run: 1 });
    expect(first.calls).toBe(1);
    expect(first.issues.laterRunLine).toBe(6);
    expect(renderReport(first)).toContain('this report shows run 1.');
    await expect(read(lines, { run: 3 })).rejects.toThrow(/holds 2 runs: there is no run 3/);
  });

  it('counts calls with no queued line and calls that never ended, and draws them', async () => {
    const data = await read([header(), started('early', 0), end('early', 4), queued('a', 1, { priority: 2 }), started('a', 2)]);
    expect(data.issues).toMatchObject({ withoutQueued: 1, unfinished: 1 });
    expect(data.charts.lanes).toEqual([
      { priority: 2, calls: 1, failed: 0 },
      { priority: undefined, calls: 1, failed: 0 },
    ]);
    expect(data.charts.timeline).toEqual({
      mode: 'calls',
      rows: [1, 1],
      calls: [
        [1, 0, 0, 0, 4, 0],
        [0, 0, 1, 2, 4, 0],
      ],
    });
  });

  it('keeps the most calls queued and running at once per bucket, in the order events happened', async () => {
    const lines: unknown[] = [header()];
    for (let i = 0; i < 5; i++) lines.push(queued(`c${i}`, 0));
    // One slot: each call starts when the one before ends, at the same 0.1 ms.
    for (let i = 0; i < 5; i++) lines.push(started(`c${i}`, i * 100), end(`c${i}`, (i + 1) * 100));
    const data = await read(lines);
    expect(Math.max(...data.charts.queued)).toBe(5);
    expect(Math.max(...data.charts.running)).toBe(1);
    expect(data.charts.queued.at(-1)).toBe(0);
  });

  it('counts a call that joined an identical one as waiting on it, not as holding a slot', async () => {
    const data = await read([
      header(),
      queued('owner', 0),
      queued('joiner', 0),
      started('owner', 1),
      started('joiner', 2),
      end('owner', 10),
      end('joiner', 10, { usd: 0, dedup: true, attempts: 0, requests: 0 }),
    ]);
    expect(Math.max(...data.charts.running)).toBe(1);
  });

  it('states latency percentiles over log-spaced buckets', async () => {
    const lines: unknown[] = [header()];
    for (let i = 1; i <= 100; i++) lines.push(queued(`c${i}`, 0), started(`c${i}`, 0), end(`c${i}`, i));
    const { latency } = (await read(lines)).charts;
    expect(latency).toMatchObject({ p50: 50, p95: 95, p99: 99, max: 100 });
    expect(latency.counts.reduce((a, b) => a + b)).toBe(100);
    expect(latency.edges[0]).toBe(1);
    expect(latency.edges.at(-1)).toBeGreaterThan(100);
  });

  it("escapes the record's text in the page, and `<` in the embedded data", async () => {
    const data = await read([
      header({ label: '</title><script>alert(1)</script>' }),
      queued('a', 0, { agent: '<b>agent</b>', tags: ['<b>agent</b>'] }),
      started('a'),
      { ev: 'retry', id: 'a', t: 2, attempt: 1, delayMs: 0, code: '</script><script>alert(2)</script>' },
      { ev: 'error', id: 'a', t: 3, ms: 3, attempts: 2, code: 'X', message: '<img src=x onerror=alert(3)>' },
    ]);
    const html = renderReport(data);
    expect(html).not.toMatch(/<script>alert|<b>agent|<img/);
    expect(html).toContain('&#60;img src=x onerror=alert(3)&#62;');
    const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(json).not.toContain('<');
    expect(JSON.parse(json).retries[0].code).toBe('</script><script>alert(2)</script>');
  });

  it('writes the page and says how big it is', async () => {
    const input = join(dir, 'small.jsonl');
    await writeFile(input, `${[header(), queued('a'), started('a'), end('a', 5)].map((line) => JSON.stringify(line)).join('\n')}\n`);
    const output = join(dir, 'small.html');
    const result = await writeReport(input, output);
    expect(result).toEqual({ calls: 1, bytes: Buffer.byteLength(await readFile(output, 'utf8')), runs: 1 });
    await expect(writeReport(input, join(dir, 'no-such-folder', 'r.html'))).rejects.toThrow(
      /Cannot write the report to .*: give a path in a folder that exists/,
    );
  });
});
