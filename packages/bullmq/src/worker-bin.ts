#!/usr/bin/env node
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { shortApi } from '@shoal/core';
import { startWorker } from './worker.js';

const usage = `shoal-worker: runs the calls of a shoal queue (Redis) through ShortAPI.

  shoal-worker --redis redis://127.0.0.1:6379 [--queue shoal] [--concurrency 16] [--base-url URL]
               [--requests-per-minute N] [--tokens-per-minute N]   (one limit for every worker of the queue)
               [--lock-ms 30000]   (how soon another worker takes over the calls of one that died)
               [--max-attempts 4]   (attempts of a call's create, the first included: a 429, a 5xx,
                                     a failed job each take one)
               [--shutdown-ms 30000]   (on SIGTERM or SIGINT: how long the calls in hand may take to
                                        finish here before they are handed back to the queue; a
                                        second signal stops at once)

The API key comes from SHORTAPI_KEY (never from the command line).`;

const { values } = parseArgs({
  options: {
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    queue: { type: 'string', default: 'shoal' },
    concurrency: { type: 'string', default: '16' },
    'base-url': { type: 'string' },
    'lock-ms': { type: 'string' },
    'max-attempts': { type: 'string' },
    'shutdown-ms': { type: 'string', default: '30000' },
    'requests-per-minute': { type: 'string' },
    'tokens-per-minute': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`--concurrency takes a whole number from 1 up, got ${values.concurrency}.\n\n${usage}`);
  process.exit(2);
}
const perMinute = (name: 'requests-per-minute' | 'tokens-per-minute') => {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0)) {
    console.error(`--${name} takes a number above 0, got ${text}.\n\n${usage}`);
    process.exit(2);
  }
  return value;
};
const requestsPerMinute = perMinute('requests-per-minute');
const tokensPerMinute = perMinute('tokens-per-minute');
const lockMs = values['lock-ms'] === undefined ? undefined : Number(values['lock-ms']);
if (lockMs !== undefined && !(lockMs >= 100)) {
  console.error(`--lock-ms takes a number of milliseconds from 100 up, got ${values['lock-ms']}.\n\n${usage}`);
  process.exit(2);
}
const maxAttempts = values['max-attempts'] === undefined ? undefined : Number(values['max-attempts']);
if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
  console.error(`--max-attempts takes a whole number from 1 up, got ${values['max-attempts']}.\n\n${usage}`);
  process.exit(2);
}
const shutdownMs = Number(values['shutdown-ms']);
if (!(shutdownMs >= 0)) {
  console.error(`--shutdown-ms takes a number of milliseconds from 0 up, got ${values['shutdown-ms']}.\n\n${usage}`);
  process.exit(2);
}
/** A missing key, bad options, Redis away: says what to do, no stack trace. */
const refuse = (error: unknown): never => {
  console.error(`shoal-worker: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
  process.exit(2);
};
let provider: ReturnType<typeof shortApi>;
try {
  provider = shortApi(values['base-url'] ? { baseURL: values['base-url'] } : {});
} catch (error) {
  provider = refuse(error);
}
const worker = await startWorker({
  ...(requestsPerMinute || tokensPerMinute
    ? { sharedLimit: { ...(requestsPerMinute ? { requestsPerMinute } : {}), ...(tokensPerMinute ? { tokensPerMinute } : {}) } }
    : {}),
  connection: values.redis,
  queue: values.queue,
  concurrency,
  ...(lockMs === undefined ? {} : { lockDurationMs: lockMs }),
  ...(maxAttempts === undefined ? {} : { retry: { maxAttempts } }),
  provider,
}).catch(refuse);
console.log(`shoal-worker: taking calls from queue "${values.queue}" (concurrency ${concurrency})`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      // Asked twice: stop now. BullMQ's stalled-job check hands the calls in hand to another worker once their locks expire.
      console.log(`shoal-worker: ${signal} again: stopping now`);
      process.exit(128 + constants.signals[signal]);
    }
    stopping = true;
    console.log(`shoal-worker: ${signal}: taking no more calls; the calls in hand may finish for ${shutdownMs} ms, then go back to the queue`);
    worker.close({ deadlineMs: shutdownMs }).then(
      ({ finished, handedBack, left }) => {
        const stalled = left > 0 ? `, ${left} left to the stalled-job check (Redis could not be reached)` : '';
        console.log(`shoal-worker: closed: ${finished} calls finished here, ${handedBack} handed back to the queue${stalled}`);
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`shoal-worker: the close failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  });
}
