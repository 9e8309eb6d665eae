/**
 * `pnpm bench bullmq` and `pnpm bench bullmq-scale` (bench/bench.ts runs these rows): @shoal/bullmq on a
 * throwaway redis-server (no persistence) and an emulator in a child process (50 ms jobs, at most 64
 * running: more than one worker of 8 can fill). `bullmq`: throughput of 1, 2 and 4 `shoal-worker`
 * processes, their CPU per call against the in-process executor's, and the Redis round trips per call,
 * counted on every connection of the producer and the workers and grouped by purpose. `bullmq-scale`
 * (million.ts, in a process of its own): 1,000,000 calls queued from one producer, Redis memory per
 * waiting call, and the time to take the next call at 1,000, 100,000 and 1,000,000 waiting.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childEmulator } from '../../../bench/emulator-child.js';
import { bullmqExecutor } from '../src/index.js';
import { untilPrinted } from '../test/child-ready.js';
import { type RedisServer, startRedis } from '../test/redis-server.js';
import type { ScaleReport } from './million.js';
import { countRoundTrips, perCall, Redis, type RoundTrips, serverCounters } from './round-trips.js';
import type { WorkerReport } from './worker-preload.js';

type RowFn = (metric: string, shoal: string, reference: string, target: string, ok: boolean | undefined) => void;

const LATENCY_MS = 50;
const WORKER_CONCURRENCY = 8;
const SERVER_CONCURRENCY = 64;
const CALLS_PER_WORKER = 1000;
/** Calls per worker before the timed ones: the code warms up and the poll schedules learn the jobs' time. */
const WARM_PER_WORKER = 300;
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const BIN = here('../dist/worker-bin.js');
const run = promisify(execFile);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Server {
  readonly url: string;
  readonly apiKey: string;
}

interface BenchWorker {
  mark(): void;
  report(): Promise<WorkerReport>;
  stop(): Promise<void>;
}

/** The built `shoal-worker`, with worker-preload.ts counting its round trips and answering over IPC. */
async function spawnWorker(redis: string, queue: string, server: Server, countTrips: boolean, requestsPerMinute?: number): Promise<BenchWorker> {
  const args = ['--import', 'tsx', '--import', here('./worker-preload.ts'), BIN, '--redis', redis, '--queue', queue];
  args.push(
    '--base-url',
    server.url,
    '--concurrency',
    String(WORKER_CONCURRENCY),
    ...(requestsPerMinute ? ['--requests-per-minute', String(requestsPerMinute)] : []),
  );
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, SHORTAPI_KEY: server.apiKey, SHOAL_BENCH_TRIPS: countTrips ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await untilPrinted(child, 'taking calls', 'shoal-worker');
  return {
    mark: () => child.send('mark'),
    report: () =>
      new Promise((resolve) => {
        child.once('message', (report) => resolve(report as WorkerReport));
        child.send('report');
      }),
    async stop() {
      child.kill('SIGTERM'); // a graceful close: the calls in hand (none by now) finish
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** What a round trip was for, by the command, script or pipeline that made it (a pipeline: what its commands were for). */
function purpose(name: string): string {
  const held = /^(?:pipeline|multi)\((.*)\)$/.exec(name);
  if (held) return [...new Set(held[1]!.split('+').map(purpose))].sort().join('+');
  if (/addPrioritizedJob|addStandardJob|shoalFinished/.test(name)) return 'adds';
  if (name === 'xread' || name === 'xrevrange') return 'producer events';
  if (/moveToActive|moveToFinished|bzpopmin|extendLock|moveStalled|getRateLimitTtl|isMaxed|releaseLock/.test(name)) return 'BullMQ take/finish';
  if (/shoalLease|shoalPause|shoalCut/.test(name)) return 'shared limit';
  if (name.startsWith('shoalBudget')) return 'budget';
  if (name === 'eval' || name === 'shoalBook' || name.includes('hincrby')) return 'ledger';
  if (name === 'shoalJournal') return 'journal';
  if (name === 'set') return 'result cache';
  return 'other';
}

function byPurpose(trips: ReadonlyMap<string, number>, calls: number): Map<string, number> {
  const by = new Map<string, number>();
  for (const [name, n] of trips) by.set(purpose(name), (by.get(purpose(name)) ?? 0) + n / calls);
  return by;
}

function add(into: Map<string, number>, trips: RoundTrips, minus?: RoundTrips): void {
  for (const [name, n] of Object.entries(trips.byName)) into.set(name, (into.get(name) ?? 0) + n - (minus?.byName[name] ?? 0));
}

interface Run {
  readonly callsPerSecond: number;
  readonly workerCpuUs: number;
  /** The workers' CPU time over the run's: how many cores they kept busy. */
  readonly workerCores: number;
  readonly calls: number;
  /** Round trips by command, every client together (producer and workers). */
  readonly trips: Map<string, number>;
  readonly server: ReturnType<typeof perCall>;
}

/** `count` workers on a fresh queue: a warm-up, then CALLS_PER_WORKER calls a worker, timed. */
async function workersRun(
  redis: RedisServer,
  admin: Redis,
  server: Server,
  producerTrips: () => RoundTrips,
  count: number,
  countTrips: boolean,
  requestsPerMinute?: number,
): Promise<Run> {
  const queue = `bench-${count}-${requestsPerMinute ?? 'free'}`;
  const workers = await Promise.all(range(count).map(() => spawnWorker(redis.url, queue, server, countTrips, requestsPerMinute)));
  const producer = await bullmqExecutor({ connection: redis.url, queue });
  try {
    await Promise.all(range(WARM_PER_WORKER * count).map((i) => producer.complete({ prompt: `warm ${i}` })));
    for (const worker of workers) worker.mark();
    const calls = CALLS_PER_WORKER * count;
    const before = await serverCounters(admin);
    const tripsBefore = producerTrips();
    const started = performance.now();
    await Promise.all(range(calls).map((i) => producer.complete({ prompt: `call ${i}` })));
    const elapsedMs = performance.now() - started;
    const after = await serverCounters(admin);
    const trips = new Map<string, number>();
    add(trips, producerTrips(), tripsBefore);
    const reports = await Promise.all(workers.map((w) => w.report()));
    for (const report of reports) add(trips, report.roundTrips);
    const cpuMs = reports.reduce((sum, r) => sum + r.cpuMs, 0);
    return {
      callsPerSecond: (calls / elapsedMs) * 1000,
      workerCpuUs: (cpuMs * 1000) / calls,
      workerCores: cpuMs / elapsedMs,
      calls,
      trips,
      server: perCall(before, after, calls),
    };
  } finally {
    await producer.close();
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Throughput of 1, 2 and 4 workers, their CPU per call against the in-process executor's, Redis round trips per call. */
export async function bullmqWorkerRows(row: RowFn, log: (text: string) => void): Promise<void> {
  const producerTrips = countRoundTrips();
  const redis = await startRedis();
  const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  const server = await childEmulator(LATENCY_MS, false, ['--concurrency', String(SERVER_CONCURRENCY)]);
  const runs = new Map<number, Run>();
  let leased: Run;
  let inProcessUs: number;
  try {
    for (const count of [1, 2, 4]) {
      log(`  bullmq: ${count} worker process(es)...`);
      // The 4 workers count their round trips (the row below); the 1 and the 2, whose CPU is compared, do not.
      runs.set(count, await workersRun(redis, admin, server, producerTrips, count, count === 4));
    }
    log('  bullmq: 1 worker with a shared limit (never reached)...');
    leased = await workersRun(redis, admin, server, producerTrips, 1, true, 600_000);
    log('  bullmq: the in-process executor on the same calls...');
    const args = ['--import', 'tsx', here('./in-process.ts'), server.url, String(WORKER_CONCURRENCY), String(WARM_PER_WORKER), String(CALLS_PER_WORKER)];
    const { stdout } = await run(process.execPath, args, { env: { ...process.env, SHORTAPI_KEY: server.apiKey }, timeout: 120_000 });
    inProcessUs = (JSON.parse(stdout.trim().split('\n').at(-1)!) as { cpuUs: number }).cpuUs;
  } finally {
    server.child.kill();
    admin.disconnect();
    await redis.close();
  }
  const [one, two, four] = [runs.get(1)!, runs.get(2)!, runs.get(4)!];
  const scaling = four.callsPerSecond / one.callsPerSecond;
  row(
    `bullmq: calls/s, 1 / 2 / 4 workers (${WORKER_CONCURRENCY} each, ${LATENCY_MS} ms jobs, server runs ${SERVER_CONCURRENCY})`,
    [one, two, four].map((r) => r.callsPerSecond.toFixed(0)).join(' / '),
    `${((WORKER_CONCURRENCY / LATENCY_MS) * 1000).toFixed(0)} a worker at most`,
    '',
    undefined,
  );
  row(
    '  4 workers / 1 worker',
    `${scaling.toFixed(2)}x`,
    `2 / 1: ${(two.callsPerSecond / one.callsPerSecond).toFixed(2)}x; the 4 kept ${four.workerCores.toFixed(2)} of ${cpus().length} cores busy`,
    '>= 3.5x',
    scaling >= 3.5,
  );
  const cpuRatio = one.workerCpuUs / inProcessUs;
  row(
    '  worker CPU per call (1 worker / 4 workers, counting round trips)',
    `${one.workerCpuUs.toFixed(0)} / ${four.workerCpuUs.toFixed(0)} us`,
    `in-process executor ${inProcessUs.toFixed(0)} us (${cpuRatio.toFixed(2)}x)`,
    '<= 1.5x',
    cpuRatio <= 1.5,
  );
  const total = [...four.trips.values()].reduce((a, b) => a + b, 0) / four.calls;
  row(
    '  Redis round trips per call (4 workers), counted by every client',
    total.toFixed(2),
    `Redis: ${four.server.reads.toFixed(2)} reads, ${four.server.commands.toFixed(1)} commands (scripts' own too)`,
    '<= 4',
    total <= 4,
  );
  const where = [...byPurpose(four.trips, four.calls).entries()].filter(([, n]) => n >= 0.005).sort((a, b) => b[1] - a[1]);
  row(
    '  where they go',
    where.map(([what, n]) => `${what} ${n.toFixed(2)}`).join(', '),
    'journal (in the job): intent, job id; the result cached',
    '',
    undefined,
  );
  row('  a shared limit (1 worker): its leases', `+${(byPurpose(leased.trips, leased.calls).get('shared limit') ?? 0).toFixed(2)} per call`, '', '', undefined);
  log(`  bullmq: round trips per call by command (4 workers): ${[...four.trips.entries()].map(([n, v]) => `${n} ${(v / four.calls).toFixed(3)}`).join(', ')}`);
}

/** How the queue grows (million.ts in a process of its own): 1,000,000 calls queued, Redis memory per waiting call, the time to take the next. */
export async function bullmqScaleRows(row: RowFn, log: (text: string) => void): Promise<void> {
  log('  bullmq: 1,000 and 100,000 calls waiting, then 1,000,000 from one producer...');
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', here('./million.ts')], { timeout: 600_000, maxBuffer: 1 << 20 });
  const scale = JSON.parse(stdout.trim().split('\n').at(-1)!) as ScaleReport;
  row(
    'bullmq: 1,000,000 calls queued from one producer (batched adds)',
    `${(scale.queueMs / 1000).toFixed(1)} s`,
    `producer: ${scale.producerCpuUs.toFixed(0)} us CPU, ${scale.producerHeapBytes.toFixed(0)} B heap a call`,
    '< 60 s',
    scale.queueMs < 60_000,
  );
  row('  Redis memory per waiting call', `${scale.redisBytes.toFixed(0)} B`, 'prompt `call N`', '< 1 KB', scale.redisBytes < 1024);
  const medians = scale.takes.map((t) => t.medianMs);
  row(
    '  take the next call at 1k / 100k / 1M waiting (median of 200)',
    `${medians.map((ms) => ms.toFixed(2)).join(' / ')} ms`,
    `a PING: ${scale.takes.map((t) => t.pingMs.toFixed(2)).join(' / ')} ms`,
    'flat (within 2x)',
    Math.max(...medians) <= 2 * Math.min(...medians),
  );
}
