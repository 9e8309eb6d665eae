import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { bullmqExecutor } from '../src/index.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { spawnWorker, type WorkerProcess } from './workers.js';

const cleanups: (() => Promise<unknown>)[] = [];

/** Call once per test file: what `setup()` started is stopped after each test, last first. */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
  });
}

/** Something to undo after the test (a connection, a process). */
export function onCleanUp(cleanup: () => Promise<unknown>): void {
  cleanups.push(cleanup);
}

export interface WorkerSpawnOptions {
  readonly lockMs?: number;
  readonly requestsPerMinute?: number;
  readonly concurrency?: number;
  readonly maxAttempts?: number;
}

let queues = 0;

/** A throwaway redis-server, an emulator, a fresh queue name, and ways to start worker processes and producers on them. */
export async function setup(emulatorOptions: Parameters<typeof startShortApiEmulator>[0] = {}) {
  const redis: RedisServer = await startRedis();
  cleanups.push(() => redis.close());
  const emulator: ShortApiEmulator = await startShortApiEmulator(emulatorOptions);
  cleanups.push(() => emulator.close());
  const queue = `test-${process.pid}-${++queues}`;
  const workers: WorkerProcess[] = [];
  const spawnOne = async (options: WorkerSpawnOptions = {}) => {
    const worker = await spawnWorker({
      redis: redis.url,
      queue,
      baseURL: emulator.url,
      apiKey: emulator.apiKey,
      concurrency: options.concurrency ?? 8,
      ...(options.lockMs ? { lockMs: options.lockMs } : {}),
      ...(options.requestsPerMinute ? { requestsPerMinute: options.requestsPerMinute } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    });
    workers.push(worker);
    cleanups.push(async () => {
      worker.child.kill('SIGTERM');
      // A worker that does not finish its calls soon is killed: nothing is left running after a failed test.
      const killer = setTimeout(() => worker.child.kill('SIGKILL'), 5000);
      await worker.exited;
      clearTimeout(killer);
    });
    return worker;
  };
  const producer = async () => {
    const executor = await bullmqExecutor({ connection: redis.url, queue });
    cleanups.push(() => executor.shutdown({ deadlineMs: 2000 }));
    return executor;
  };
  return { redis, emulator, queue, workers, spawnOne, producer };
}

/** Resolves once `check()` holds, asking again after each turn of the event loop; fails after `maxTries` tries. */
export async function untilAsync(check: () => Promise<boolean>, what: string, maxTries = 200_000): Promise<void> {
  for (let tries = 0; tries < maxTries; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`untilAsync(): ${what} did not hold after ${maxTries} tries`);
}

/** One redis-server and a client to it for the tests of a file (started before them, stopped after). */
export function redisForFile(): { readonly server: () => RedisServer; readonly client: () => Redis } {
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.close();
  });
  return { server: () => server!, client: () => client! };
}

/** The ShortAPI job ids written to the queue's unfinished BullMQ jobs (each call's journal entry is its job's progress, `{ k, j }`). */
export async function writtenJobIds(client: Redis, queue: string): Promise<string[]> {
  const keys = (await client.keys(`bull:${queue}:*`)).filter((key) => /^bull:[^:]+:[^:]+$/.test(key));
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.hmget(key, 'progress', 'finishedOn');
  const answers = (await pipeline.exec()) ?? [];
  // Not every key is a job's hash (a list, a stream): those answer with an error and are skipped.
  return answers.flatMap(([error, value]) => {
    const [progress, finishedOn] = (error ? [] : value) as (string | null)[];
    const jobId = progress ? (JSON.parse(progress) as { j?: string }).j : undefined;
    return jobId !== undefined && finishedOn === null ? [jobId] : [];
  });
}
