// The bullmq bench's scale rows (rows.ts), in a process of its own with a redis-server of its own (no
// persistence): one producer queues 1,000, then 100,000, then (Redis emptied) 1,000,000 calls of mixed
// priority, each set on a queue of its own; after each, one worker takes 200 calls, one at a time.
//   node --expose-gc --import tsx packages/bullmq/bench/million.ts [N]
// Prints one JSON line (ScaleReport).
import { Worker } from 'bullmq';
import { bullmqExecutor } from '../src/index.js';
import { startRedis } from '../test/redis-server.js';
import { Redis, serverCounters } from './round-trips.js';

export interface ScaleReport {
  readonly queued: number;
  /** From the first call to Redis holding all of their jobs. */
  readonly queueMs: number;
  /** The producer's CPU per call while queueing, and its heap per waiting call. */
  readonly producerCpuUs: number;
  readonly producerHeapBytes: number;
  /** Redis's used_memory per waiting call. */
  readonly redisBytes: number;
  /** The time for a worker to take the next call (median of 200), and a PING's, at each count of waiting calls. */
  readonly takes: readonly { readonly waiting: number; readonly medianMs: number; readonly pingMs: number }[];
}

const TAKES = 200;
const total = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const server = await startRedis();
const admin = new Redis(server.url, { maxRetriesPerRequest: null });

/** Queues `n` calls on `queue` from a new producer; resolves once Redis holds them all. The calls are left waiting. */
async function fill(queue: string, n: number) {
  const producer = await bullmqExecutor({ connection: server.url, queue });
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < n; i++) producer.complete({ prompt: `call ${i}` }, { priority: i % 10 }).catch(() => undefined);
  const waiting = async () => (await admin.zcard(`bull:${queue}:prioritized`)) + (await admin.llen(`bull:${queue}:wait`));
  while ((await waiting()) < n) await new Promise((resolve) => setTimeout(resolve, 20));
  const queueMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  gc?.();
  return { queueMs, cpuUs: (cpu.user + cpu.system) / n, heapBytes: (process.memoryUsage().heapUsed - heapBefore) / n };
}

/** A worker's time to take the next call off `queue` (BullMQ's move to active), next to a PING's, medians of TAKES. */
async function takes(queue: string, waiting: number) {
  const connection = new Redis(server.url, { maxRetriesPerRequest: null });
  const worker = new Worker(queue, null, { connection, autorun: false });
  await worker.waitUntilReady();
  gc?.();
  const times: number[] = [];
  const pings: number[] = [];
  for (let i = 0; i < TAKES; i++) {
    let t = performance.now();
    await connection.ping();
    pings.push(performance.now() - t);
    t = performance.now();
    const job = await worker.getNextJob(`bench-${i}`, { block: false });
    times.push(performance.now() - t);
    if (!job) throw new Error(`bench: no call waiting on ${queue}`);
  }
  connection.disconnect();
  return { waiting, medianMs: median(times), pingMs: median(pings) };
}

const small = Math.min(1_000, total);
const middle = Math.min(100_000, total);
await fill('bench-1k', small);
const atSmall = await takes('bench-1k', small);
await fill('bench-100k', middle);
const atMiddle = await takes('bench-100k', middle);
// From an empty Redis: the million's own memory and time. (The earlier producers' calls wait in this process still.)
await admin.flushall();
const memoryBefore = (await serverCounters(admin)).usedMemory;
const million = await fill('bench-1m', total);
const redisBytes = ((await serverCounters(admin)).usedMemory - memoryBefore) / total;
const atTotal = await takes('bench-1m', total);
const report: ScaleReport = {
  queued: total,
  queueMs: million.queueMs,
  producerCpuUs: million.cpuUs,
  producerHeapBytes: million.heapBytes,
  redisBytes,
  takes: [atSmall, atMiddle, atTotal],
};
console.log(JSON.stringify(report));
// A million calls wait in this process and in Redis: both go, without the producers' orderly shutdown.
admin.disconnect();
await server.close();
process.exit(0);
