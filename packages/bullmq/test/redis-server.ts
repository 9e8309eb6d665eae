import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { untilPrinted } from './child-ready.js';

/** Whether `redis-server` can be run here (CI installs it from Debian; see .ci/run). */
export const redisAvailable = spawnSync('redis-server', ['--version']).status === 0;
if (!redisAvailable) {
  // Loud, never silent: these tests are skipped only when the server cannot be run at all.
  console.warn('\n*** redis-server not found: the @shoal/bullmq tests are SKIPPED. Install it: apt-get install -y redis-server ***\n');
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /**
   * Stops the server and waits for it to exit: SIGTERM shuts it down cleanly (the
   * append-only file is written out), SIGKILL is a crash (it keeps what it had synced).
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and data directory (with append-only on, it loads its file). */
  start(): Promise<void>;
  /** Stops it (as `stop(signal)`) and starts it again. */
  restart(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stops it and removes its data directory. */
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Every redis-server these tests started and that still runs: killed when the test process exits, however it ends. */
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/**
 * A throwaway redis-server on 127.0.0.1 and a free port, with its own data directory.
 * `appendOnly` turns on the append-only file, synced every second or at every write.
 */
export async function startRedis(options: { readonly appendOnly?: boolean; readonly appendfsync?: 'everysec' | 'always' } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'shoal-redis-'));
  let child: ChildProcess | undefined;
  const start = () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendOnly ? 'yes' : 'no'];
    args.push('--appendfsync', options.appendfsync ?? 'everysec', '--maxmemory-policy', 'noeviction');
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    alive.add(started);
    started.once('exit', () => alive.delete(started));
    return untilPrinted(child, 'Ready to accept connections', 'redis-server');
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async restart(signal) {
      await stop(signal);
      await start();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
