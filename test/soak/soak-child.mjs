// The soak's shoal side, in a process of its own so that its memory is shoal's alone (no
// vitest, no emulator, no TypeScript loader): one executor and the ShortAPI provider, built
// from the packages' dist, against the emulator whose URL and key the parent passes.
// It writes one line per finished call and one per memory sample to stdout, closes the
// executor, lists what is still open, and then simply returns: the parent checks that the
// process ends by itself (no process.exit here).
//
//   node --expose-gc test/soak/soak-child.mjs '{"url":..., "apiKey":..., "calls":20000, ...}'
import { createExecutor, ShoalError, shortApi } from '@shoal/core';

const config = JSON.parse(process.argv[2] ?? '{}');
const { url, apiKey, window, concurrency, timeoutMs, samples } = config;
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const write = (line) => process.stdout.write(`${line}\n`);

function sample(label) {
  // Twice: the first pass may only queue finalizers that the second one frees.
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  write(`sample ${label} ${m.rss} ${m.heapUsed} ${m.external} ${m.arrayBuffers}`);
}

// With config.store (a file path), the SQLite store: its cache lives in the file, and the
// journal records every job. Without one, no cache: every prompt is unique, and an in-memory
// cache would only grow to its 10,000 entries and blur the measure.
const durable = config.store ? { store: (await import('@shoal/store-sqlite')).sqliteStore(config.store) } : { cache: false };
const executor = createExecutor({
  provider: shortApi({ apiKey, baseURL: url, poll: { initialDelayMs: 5 } }),
  concurrency,
  retry: { maxAttempts: 6, baseDelayMs: 2, maxDelayMs: 50 },
  ...durable,
});

let next = 0;
const started = performance.now();

/** One caller: starts its next call when its last one ends, until the phase's last call has been taken. */
async function caller(end) {
  while (next < end) {
    const i = next++;
    try {
      const result = await executor.complete({ prompt: `call #${i}` }, { priority: i % 4, timeoutMs });
      // The answer must be this call's own: the emulator echoes the prompt.
      if (result.text !== `echo:call #${i}`) write(`wrong ${i} ${JSON.stringify(result.text)}`);
      else write(`ok ${i} ${result.jobId} ${result.attempts}`);
    } catch (error) {
      if (!ShoalError.isInstance(error)) write(`untyped ${i} ${JSON.stringify(String(error))}`);
      else write(`error ${i} ${error.code} ${error.callId ?? '-'} ${error.jobId ?? '-'}`);
    }
  }
}

// A bounded window of callers keeps the executor's queue about `window - concurrency` deep,
// as a busy service's would. At each sample point the window drains first, so that every
// sample sees the same state (nothing queued or running) and differences are what stayed.
for (const end of samples) {
  await Promise.all(Array.from({ length: window }, () => caller(end)));
  sample(end);
}
const durationMs = performance.now() - started;
// close() waits until nothing runs: a call that timed out leaves before its job's polling
// has unwound, so its slot may still be held for a turn or two after its caller heard.
await executor.close();
const m = executor.metrics();
write(
  `metrics ${JSON.stringify({ done: m.done, failed: m.failed, queued: m.queued, running: m.running, retries: m.retries, jobs: m.jobs, requests: m.requests, costUsd: m.costUsd, latencyMs: m.latencyMs, concurrency: m.concurrency, durationMs })}`,
);
// Let closing sockets finish closing (their close callbacks run on the next turns of the loop).
await new Promise((resolve) => setImmediate(resolve));
await new Promise((resolve) => setImmediate(resolve));
sample('closed');
write(`handles ${JSON.stringify(process.getActiveResourcesInfo())}`);
