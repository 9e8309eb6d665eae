import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { untilPrinted } from './child-ready.js';

const BIN = fileURLToPath(new URL('../dist/worker-bin.js', import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves with its exit code (or signal). */
  readonly exited: Promise<number | string>;
  /** What it has printed on its standard output so far. */
  output(): string;
}

/** Starts `shoal-worker` (the built bin) in a child process, resolved once it takes calls. */
export function spawnWorker(options: {
  redis: string;
  queue: string;
  baseURL: string;
  apiKey: string;
  concurrency?: number;
  lockMs?: number;
  requestsPerMinute?: number;
  maxAttempts?: number;
  shutdownMs?: number;
}): Promise<WorkerProcess> {
  const args = [BIN, '--redis', options.redis, '--queue', options.queue, '--base-url', options.baseURL, '--concurrency', String(options.concurrency ?? 8)];
  if (options.lockMs) args.push('--lock-ms', String(options.lockMs));
  if (options.requestsPerMinute) args.push('--requests-per-minute', String(options.requestsPerMinute));
  if (options.maxAttempts) args.push('--max-attempts', String(options.maxAttempts));
  if (options.shutdownMs !== undefined) args.push('--shutdown-ms', String(options.shutdownMs));
  const child = spawn(process.execPath, args, { env: { ...process.env, SHORTAPI_KEY: options.apiKey }, stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return untilPrinted(child, 'taking calls', 'shoal-worker').then(() => ({ child, exited, output: () => printed }));
}
