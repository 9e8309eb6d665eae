/**
 * `pnpm bench`: one table, from one run. Every load is bounded in count and time and
 * talks only to emulators on 127.0.0.1. Quote medians and ratios from one run: the
 * machine is shared and noisy.
 */
import { createExecutor, defineAgent, type ModelProvider, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
import { z } from 'zod';
import { bullmqScaleRows, bullmqWorkerRows } from '../packages/bullmq/bench/rows.js';
import { ticketAgent } from './floor/agent.js';
import { jobCpuRows, jobWallRows } from './floor/job-rows.js';
import { floorRows } from './floor/rows.js';
import { median } from './measure.js';
import { rateLimitScenario } from './rate-limit-scenario.js';
import { telemetryRows } from './telemetry.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (pnpm bench does)');

type Row = { metric: string; shoal: string; reference: string; target: string; verdict: string };
const rows: Row[] = [];
const row = (metric: string, shoal: string, reference: string, target: string, ok: boolean | undefined) =>
  rows.push({ metric, shoal, reference, target, verdict: ok === undefined ? '' : ok ? 'met' : 'MISSED' });
const log = (text: string) => process.stderr.write(`${text}\n`);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

// ---- 3. Enqueue 1M calls ----
async function enqueueOnce(N: number) {
  const never: ModelProvider = {
    specificationVersion: 'shoal.provider.v1',
    name: 'never',
    model: 'never',
    doComplete: (_request, context) =>
      new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })),
  };
  const executor = createExecutor({ provider: never, concurrency: 1, cache: false, dedupe: false });
  const requests = Array.from({ length: N }, (_, i) => ({ prompt: `queued ${i}` }));
  const controller = new AbortController();
  const options = Array.from({ length: N }, (_, i) => ({ priority: (i * 7919) % 10, signal: controller.signal }));
  const promises: Promise<unknown>[] = new Array(N);
  gc!();
  gc!();
  const heapBefore = process.memoryUsage().heapUsed;
  const t = performance.now();
  for (let i = 0; i < N; i++) promises[i] = executor.complete(requests[i]!, options[i]);
  const enqueueMs = performance.now() - t;
  gc!();
  gc!();
  const perCall = (process.memoryUsage().heapUsed - heapBefore) / N;
  const queued = executor.metrics().queued;
  for (const p of promises) p.catch(() => {});
  const t2 = performance.now();
  controller.abort();
  await Promise.allSettled(promises);
  const cancelMs = performance.now() - t2;
  await executor.close();
  return { enqueueMs, perCall, queued, cancelMs };
}

async function enqueueMillion() {
  const runs = [];
  for (let round = 0; round < 3; round++) runs.push(await enqueueOnce(1_000_000));
  const enqueueMs = median(runs.map((r) => r.enqueueMs));
  const perCall = median(runs.map((r) => r.perCall));
  const cancelMs = median(runs.map((r) => r.cancelMs));
  row(
    'Enqueue 1M calls, mixed priority, one shared signal (median of 3)',
    `${(enqueueMs / 1000).toFixed(2)} s`,
    `${runs[0]!.queued.toLocaleString('en-US')} queued, 1 running`,
    '< 2 s',
    enqueueMs < 2000,
  );
  row('  heap per queued call (promise included)', `${perCall.toFixed(0)} B`, '', '< 1 KB', perCall < 1024);
  row('  cancel all 1M through their shared signal', `${(cancelMs / 1000).toFixed(2)} s`, '', '', undefined);
}

// ---- 4. Requests per job and detection delay ----
async function detection(
  label: string,
  latencyMs: { min: number; max: number },
  callback: boolean,
  target: { delay: (p50: number, rel: number) => boolean; text: string },
) {
  const emulator = await startShortApiEmulator({ latencyMs, seed: 7 });
  const provider = shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, ...(callback ? { callback: true } : {}) });
  const executor = createExecutor({ provider, concurrency: 64, cache: false });
  const WARM = 300;
  const N = 1200;
  await Promise.all(Array.from({ length: WARM }, (_, i) => executor.complete({ prompt: `warm ${i}` })));
  const requestsBefore = executor.metrics().requests;
  const jobsBefore = executor.metrics().jobs;
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) => executor.complete({ prompt: `measure ${i}` }).then((r) => ({ r, at: performance.now() }))),
  );
  const m = executor.metrics();
  const perJob = (m.requests - requestsBefore) / (m.jobs - jobsBefore);
  const delays: number[] = [];
  const relative: number[] = [];
  for (const { r, at } of results) {
    const job = emulator.job(r.jobId!)!;
    const delay = at - job.finishedAt!;
    delays.push(delay);
    relative.push(delay / (job.finishedAt! - job.startedAt!));
  }
  await executor.close();
  await emulator.close();
  const p50 = median(delays);
  const rel = median(relative);
  row(
    `${callback ? 'Callbacks' : 'Polling'}, jobs ${label}: requests per job`,
    perJob.toFixed(2),
    callback ? '' : '',
    callback ? '1' : '<= 3',
    callback ? perJob === 1 : perJob <= 3,
  );
  row(
    `  detection delay p50 / p95 (p50 of delay / job time)`,
    `${p50.toFixed(1)} / ${pct(delays, 95).toFixed(1)} ms (${(rel * 100).toFixed(1)}%)`,
    '',
    target.text,
    target.delay(p50, rel),
  );
}

// ---- 6. Packing: 1,000 short inputs, K = 20, against one call per input (emulator usage) ----
async function packing() {
  const emulator = await startShortApiEmulator({ latencyMs: 0 });
  const executor = createExecutor({
    provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 1 } }),
    concurrency: 64,
    cache: false,
  });
  const inputs = Array.from({ length: 1000 }, (_, i) => ({
    ticket: `Ticket ${i}: ${['charged twice this month', 'the app crashes on start', 'cannot log in after reset', 'please add dark mode'][i % 4]}`,
  }));
  const single = await ticketAgent.runMany(inputs, { executor });
  const packed = await ticketAgent.runMany(inputs, { executor, pack: 20 });
  await executor.close();
  await emulator.close();
  const tokens = (r: typeof single) => r.usage.inputTokens + r.usage.outputTokens;
  const okAll = single.items.every((i) => i.ok) && packed.items.every((i) => i.ok);
  row(
    'Packing 1,000 short inputs, K = 20: tokens in + out',
    `${packed.usage.inputTokens.toLocaleString('en-US')} + ${packed.usage.outputTokens.toLocaleString('en-US')} (${packed.calls} calls)`,
    `one per input ${single.usage.inputTokens.toLocaleString('en-US')} + ${single.usage.outputTokens.toLocaleString('en-US')} (${single.calls} calls)`,
    '',
    undefined,
  );
  row('  tokens saved', `${((1 - tokens(packed) / tokens(single)) * 100).toFixed(0)}%`, '', '', okAll ? undefined : false);
  row('  dollars', `$${packed.costUsd.toFixed(4)}`, `one per input $${single.costUsd.toFixed(4)}`, '', undefined);
  row('  dollars saved', `${((1 - packed.costUsd / single.costUsd) * 100).toFixed(0)}%`, '', '', undefined);

  // The prompt layout at work: an agent whose stable prefix passes the 1,024-token caching threshold.
  const cacheEmulator = await startShortApiEmulator({ latencyMs: 0 });
  const cacheExecutor = createExecutor({
    provider: shortApi({ apiKey: cacheEmulator.apiKey, baseURL: cacheEmulator.url, poll: { initialDelayMs: 1 } }),
    concurrency: 16,
    cache: false,
  });
  const policy = defineAgent({
    name: 'policy-check',
    description: 'Checks a ticket against a long support policy.',
    input: z.object({ ticket: z.string() }),
    output: z.object({ allowed: z.boolean(), rule: z.int().min(1).max(120) }),
    instructions: `Check the ticket against the policy and name the rule that decides.\n${Array.from({ length: 120 }, (_, i) => `Rule ${i + 1}: requests of kind ${i + 1} are handled by team ${i % 7} within ${(i % 5) + 1} days.`).join('\n')}`,
  });
  const cached = await policy.runMany(inputs.slice(0, 200), { executor: cacheExecutor });
  await cacheExecutor.close();
  await cacheEmulator.close();
  const share = cached.usage.cachedInputTokens / cached.usage.inputTokens;
  row(
    'Prefix cache: 200 calls of an agent with a long prefix',
    `${(share * 100).toFixed(0)}% of input tokens cached`,
    `${Math.round(cached.usage.inputTokens / 200)} tokens per prompt`,
    '',
    share > 0.5 ? undefined : false,
  );
}

/** bench/json-repair.ts in a child (it runs each pattern in a process of its own): the worst reading time per answer size. */
async function repairWorstCase() {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/json-repair.ts', '3'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 600_000,
  });
  const worst = /\| \*\*worst\*\* \|(.*)\|/
    .exec(out)?.[1]
    ?.split('|')
    .map((cell) => cell.replace(/\*/g, '').trim());
  const zod = /\| \*\*worst, zod-bound\*\* \|(.*)\|/
    .exec(out)?.[1]
    ?.split('|')
    .map((cell) => cell.replace(/\*/g, '').trim());
  if (!worst || worst.length < 6) throw new Error(`bench/json-repair.ts printed no worst row:\n${out}`);
  const ms = (cell: string) => Number.parseFloat(cell.replace('>', ''));
  row(
    'Reading a model answer, worst of 16 hostile shapes (median of 3): 1 KB / 64 KB / 1 MB',
    `${worst[0]} / ${worst[3]} / ${worst[5]} ms`,
    'before the bounds: > 10 s from 64 KB',
    '< 100 ms up to 1 MB',
    worst.every((c) => ms(c) < 100),
  );
  if (zod) row('  valid JSON, 1 MB of wrong-type values (bound by zod, one issue per value)', `${zod[5]} ms`, '', '', undefined);
}

/** The red team's rate-limit scenario (bench/rate-limit-scenario.ts): 60 calls, concurrency 32, 1 s jobs, a server limit per second. */
async function rateLimits() {
  const learnt = await rateLimitScenario(3);
  row(
    'Server limit 3 req/s (creates + polls), 60 calls, C=32, 1 s jobs: calls with their result',
    `${learnt.ok} / 60 (${learnt.wallS.toFixed(0)} s)`,
    'before: 25 / 60, 15 paid jobs lost',
    '60 / 60',
    learnt.ok === 60,
  );
  row(
    '  429s in all / share once learnt (calls 31-60)',
    `${learnt.rateLimited} of ${learnt.requests} / ${(learnt.shareAfterLearning * 100).toFixed(1)}%`,
    `learnt ${((learnt.learnedRpm ?? 0) / 60).toFixed(2)} req/s`,
    '< 10% once learnt',
    learnt.shareAfterLearning < 0.1,
  );
  const configured = await rateLimitScenario(10, 300);
  row(
    '  server 10 req/s, requestsPerMinute at half (300): 429s',
    `${configured.rateLimited} of ${configured.requests}, ${configured.ok} / 60 results`,
    'before: 79 429s at half the limit',
    '0',
    configured.rateLimited === 0 && configured.ok === 60,
  );
}

const started = performance.now();
// `pnpm bench` runs every section; `pnpm bench cpu wall` runs only those named.
const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);
if (wanted('cpu')) {
  log('bench: CPU per call on the ShortAPI job path, each contender in its own process (about a minute)...');
  await jobCpuRows(row, log);
}
if (wanted('wall')) {
  log('bench: wall time on the ShortAPI job path...');
  await jobWallRows(row, log);
}
if (wanted('enqueue')) {
  log('bench: enqueue 1M...');
  await enqueueMillion();
}
if (wanted('floor')) {
  log('bench: the floor, agent.run() against a hand-written HTTP loop, each in its own process (about a minute)...');
  await floorRows(row, log);
}
if (wanted('pack')) {
  log('bench: packing...');
  await packing();
}
if (wanted('repair')) {
  log('bench: reading hostile model answers (json-repair.ts, a minute or two)...');
  await repairWorstCase();
}
if (wanted('ratelimit')) {
  log('bench: rate-limit scenario (about a minute and a half)...');
  await rateLimits();
}
if (wanted('detection')) {
  log('bench: detection delay, polling (300-800 ms jobs)...');
  await detection('300-800 ms', { min: 300, max: 800 }, false, { delay: (_p50, rel) => rel <= 0.1, text: 'p50 <= 10% of job time' });
  log('bench: detection delay, polling (475-525 ms jobs)...');
  await detection('475-525 ms', { min: 475, max: 525 }, false, { delay: (_p50, rel) => rel <= 0.1, text: 'p50 <= 10% of job time' });
  log('bench: detection delay, callbacks...');
  await detection('300-800 ms', { min: 300, max: 800 }, true, { delay: (p50) => p50 <= 5, text: 'p50 <= 5 ms' });
}
if (wanted('telemetry')) {
  log('bench: telemetry, CPU per call with OpenTelemetry off and on, and with a run record (about a minute)...');
  await telemetryRows(row, log);
}

if (wanted('bullmq')) {
  log('bench: @shoal/bullmq, 1, 2 and 4 worker processes on Redis (about a minute)...');
  await bullmqWorkerRows(row, log);
}
if (wanted('bullmq-scale')) {
  log('bench: @shoal/bullmq, 1,000,000 calls waiting in Redis (about two minutes)...');
  await bullmqScaleRows(row, log);
}

const widths = (['metric', 'shoal', 'reference', 'target', 'verdict'] as const).map((k) => Math.max(k.length, ...rows.map((r) => r[k].length)));
const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(
  `\nshoal bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
);
console.log(fmt(['metric', 'shoal', 'reference', 'target', 'verdict']));
console.log(fmt(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(fmt([r.metric, r.shoal, r.reference, r.target, r.verdict]));
