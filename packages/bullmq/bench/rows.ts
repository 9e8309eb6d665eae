/**
 * `pnpm bench bullmq` (bench/bench.ts runs these rows): @shoal/bullmq on a throwaway redis-server (no persistence) and an
 * emulator in a child process. Throughput of 1, 2 and 4 worker processes, Redis commands
 * per call, a worker's CPU per call against the in-process executor's, and how the queue
 * grows: 1,000,000 calls queued from one producer, Redis memory per waiting call, and the
 * time to take the next call at 1,000, 100,000 and 1,000,000 waiting.
 */
import { readFileSync } from 'node:fs';
import { createExecutor, type Executor, shortApi } from '@shoal/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { childEmulator } from '../../../bench/emulator-child.js';
import { bullmqExecutor } from '../src/index.js';
import { type RedisServer, startRedis } from '../test/redis-server.js';
import { spawnWorker, type WorkerProcess } from '../test/workers.js';

type RowFn = (metric: string, shoal: string, reference: string, target: string, ok: boolean | undefined) => void;

const LATENCY_MS = 100;
const WORKER_CONCURRENCY = 8;
/** The server runs 64 jobs at once: more than one worker (8 at a time) can fill, less than the 4 together would want. */
const SERVER_CONCURRENCY = 64;
const CALLS = 800;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** CPU time a child process has used, in ms (Linux: utime + stime from /proc, at 100 ticks a second). */
function childCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function info(redis: Redis, field: string, section: string): Promise<number> {
  const text = await redis.info(section);
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(text);
  return Number(match?.[1] ?? Number.NaN);
}

async function calls(executor: Executor, n: number, label: string): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => executor.complete({ prompt: `${label} ${i}` })));
}

interface WorkerRun {
  readonly callsPerSecond: number;
  readonly workerCpuPerCallUs: number;
  readonly commandsPerCall: number;
}

async function workersRun(redis: RedisServer, admin: Redis, emulator: { url: string; apiKey: string }, count: number): Promise<WorkerRun> {
  const queue = `bench-workers-${count}`;
  const workers: WorkerProcess[] = await Promise.all(
    Array.from({ length: count }, () =>
      spawnWorker({ redis: redis.url, queue, baseUrl: emulator.url, apiKey: emulator.apiKey, concurrency: WORKER_CONCURRENCY }),
    ),
  );
  const producer = await bullmqExecutor({ connection: redis.url, queue });
  try {
    await calls(producer, 100, `warm ${count}`); // the workers' poll schedules learn the jobs' duration
    const cpuBefore = workers.reduce((sum, w) => sum + childCpuMs(w.child.pid!), 0);
    const commandsBefore = await info(admin, 'total_commands_processed', 'stats');
    const started = performance.now();
    await calls(producer, CALLS, `run ${count}`);
    const seconds = (performance.now() - started) / 1000;
    const commands = (await info(admin, 'total_commands_processed', 'stats')) - commandsBefore - 1;
    const cpu = workers.reduce((sum, w) => sum + childCpuMs(w.child.pid!), 0) - cpuBefore;
    return { callsPerSecond: CALLS / seconds, workerCpuPerCallUs: (cpu * 1000) / CALLS, commandsPerCall: commands / CALLS };
  } finally {
    await producer.close();
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
  }
}

/** The in-process executor doing the same calls against the same server: its CPU per call. */
async function inProcessCpuPerCallUs(emulator: { url: string; apiKey: string }): Promise<number> {
  const provider = shortApi({ apiKey: emulator.apiKey, baseUrl: emulator.url });
  const executor = createExecutor({ provider, concurrency: WORKER_CONCURRENCY, cache: false });
  await calls(executor, 100, 'warm in-process');
  const before = cpuMs();
  await calls(executor, CALLS, 'in-process');
  const cpu = cpuMs() - before;
  await executor.close();
  await provider.close?.();
  return (cpu * 1000) / CALLS;
}

/** Puts `n` calls on `queue` from one producer (no worker): the time until all are in Redis. The calls are then left. */
async function fill(redis: RedisServer, admin: Redis, queue: string, n: number): Promise<{ seconds: number; leave: () => Promise<void> }> {
  const producer = await bullmqExecutor({ connection: redis.url, queue });
  const view = new Queue(queue, { connection: admin });
  const pending: Promise<unknown>[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const call = producer.complete({ prompt: `waiting ${i}` }, { priority: i % 10 });
    call.catch(() => undefined);
    pending.push(call);
    // Let the producer's adds go out while calls are made (the event loop would hold them until the loop ends).
    if (i % 10_000 === 9_999) await new Promise((resolve) => setImmediate(resolve));
  }
  for (;;) {
    if ((await view.getJobCountByTypes('prioritized', 'wait')) >= n) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    async leave() {
      await view.close();
      await producer.shutdown({ deadlineMs: 0 });
      await Promise.allSettled(pending);
    },
  };
}

/** The median time for a worker to take the next call off `queue` (BullMQ's move to active, one at a time), in µs. */
async function takeTimeUs(redis: RedisServer, queue: string, takes = 200): Promise<number> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const worker = new Worker(queue, null, { connection, autorun: false });
  try {
    const times: number[] = [];
    for (let i = 0; i < takes; i++) {
      const t = performance.now();
      const job = await worker.getNextJob(`bench-token-${i}`, { block: false });
      times.push((performance.now() - t) * 1000);
      if (!job) throw new Error(`no call waiting on ${queue}`);
    }
    return median(times);
  } finally {
    await worker.close(true);
    connection.disconnect();
  }
}

/** Runs `rows` with a throwaway redis-server, an admin connection to it and an emulator child. */
async function withServers(rows: (redis: RedisServer, admin: Redis, emulator: { url: string; apiKey: string }) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  const emulator = await childEmulator(LATENCY_MS, false, ['--concurrency', String(SERVER_CONCURRENCY)]);
  try {
    await rows(redis, admin, emulator);
  } finally {
    emulator.child.kill();
    admin.disconnect();
    await redis.close();
  }
}

/** Throughput of 1, 2 and 4 workers, Redis commands per call, a worker's CPU per call. */
export function bullmqWorkerRows(row: RowFn, log: (text: string) => void): Promise<void> {
  return withServers(async (redis, admin, emulator) => {
    const runs = new Map<number, WorkerRun>();
    for (const count of [1, 2, 4]) {
      log(`  bullmq: ${CALLS} calls on ${count} worker process(es)...`);
      runs.set(count, await workersRun(redis, admin, emulator, count));
    }
    const one = runs.get(1)!;
    const four = runs.get(4)!;
    const scaling = four.callsPerSecond / one.callsPerSecond;
    row(
      `bullmq: calls/s, 1 / 2 / 4 workers (${WORKER_CONCURRENCY} each, ${LATENCY_MS} ms jobs, server runs ${SERVER_CONCURRENCY})`,
      [1, 2, 4].map((c) => runs.get(c)!.callsPerSecond.toFixed(0)).join(' / '),
      `${CALLS} calls a run`,
      '',
      undefined,
    );
    row('  4 workers / 1 worker', `${scaling.toFixed(2)}x`, '', '>= 3.5x', scaling >= 3.5);
    row(
      '  Redis commands per call (all processes; an upper bound on round trips)',
      `${four.commandsPerCall.toFixed(1)}`,
      `1 worker ${one.commandsPerCall.toFixed(1)}`,
      '<= 4 round trips',
      four.commandsPerCall <= 4 ? true : undefined,
    );
    const inProcess = await inProcessCpuPerCallUs(emulator);
    const cpuRatio = one.workerCpuPerCallUs / inProcess;
    row(
      '  worker CPU per call (1 worker)',
      `${one.workerCpuPerCallUs.toFixed(0)} us`,
      `in-process executor ${inProcess.toFixed(0)} us`,
      '<= 1.5x',
      cpuRatio <= 1.5,
    );
    row('  ratio worker / in-process', `${cpuRatio.toFixed(2)}x`, '', '<= 1.5x', cpuRatio <= 1.5);
  });
}

/** How the queue grows: 1,000,000 calls queued from one producer, Redis memory per waiting call, the time to take the next. */
export function bullmqScaleRows(row: RowFn, log: (text: string) => void): Promise<void> {
  return withServers(async (redis, admin) => {
    log('  bullmq: 1,000 and 100,000 calls waiting...');
    const small = await fill(redis, admin, 'bench-waiting-1k', 1_000);
    const takeSmall = await takeTimeUs(redis, 'bench-waiting-1k');
    await small.leave();
    const middle = await fill(redis, admin, 'bench-waiting-100k', 100_000);
    const takeMiddle = await takeTimeUs(redis, 'bench-waiting-100k');
    await middle.leave();
    log('  bullmq: 1,000,000 calls queued from one producer...');
    await admin.flushall();
    const memoryBefore = await info(admin, 'used_memory', 'memory');
    const million = await fill(redis, admin, 'bench-waiting-1m', 1_000_000);
    const perCall = ((await info(admin, 'used_memory', 'memory')) - memoryBefore) / 1_000_000;
    const takeMillion = await takeTimeUs(redis, 'bench-waiting-1m');
    await million.leave();
    row('bullmq: 1,000,000 calls queued from one producer', `${million.seconds.toFixed(1)} s`, '', '< 60 s', million.seconds < 60);
    row('  Redis memory per waiting call', `${perCall.toFixed(0)} B`, '', '< 1 KB', perCall < 1024);
    row(
      '  take the next call at 1k / 100k / 1M waiting (median of 200)',
      `${takeSmall.toFixed(0)} / ${takeMiddle.toFixed(0)} / ${takeMillion.toFixed(0)} us`,
      '',
      'flat',
      takeMillion <= 2 * takeSmall,
    );
  });
}
