import { ShoalConfigError } from '@shoal/core';
import { scriptedProvider } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { bullmqExecutor, PROTOCOL_VERSION, startWorker } from '../src/index.js';
import { type PeerEntry, peersKey, redisNow, STALE_MS } from '../src/registry.js';
import { redisAvailable } from './redis-server.js';
import { redisForFile } from './setup.js';

describe.skipIf(!redisAvailable)('@shoal/bullmq: producers and workers refuse to share a queue with a live peer of another protocol version', () => {
  const suite = redisForFile();
  let queues = 0;

  /** A peer entry as another process would write it, seen `agoMs` before now on Redis's clock. */
  async function peer(queue: string, protocol: number, agoMs = 0): Promise<void> {
    const now = await redisNow(suite.client());
    const entry: PeerEntry = { role: 'worker', protocol, pid: 4242, host: 'other-machine', startedAt: now - agoMs, seenAt: now - agoMs };
    await suite.client().hset(peersKey(queue), 'worker:fake', JSON.stringify(entry));
  }
  const worker = (queue: string) => startWorker({ connection: suite.server().url, queue, provider: scriptedProvider([{ reply: 'x' }]) });

  it('a producer and a worker both refuse, naming both versions and what to do; neither leaves an entry', async () => {
    const queue = `registry-${++queues}`;
    await peer(queue, PROTOCOL_VERSION + 1);
    for (const start of [() => bullmqExecutor({ connection: suite.server().url, queue }), () => worker(queue)]) {
      const error = await start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ShoalConfigError);
      const message = (error as Error).message;
      expect(message).toContain(`speaks shoal queue protocol ${PROTOCOL_VERSION + 1}`);
      expect(message).toContain(`speaks protocol ${PROTOCOL_VERSION}`);
      expect(message).toContain('other-machine, pid 4242');
      expect(message).toMatch(/Run one @shoal\/bullmq version .* \(upgrade this process\), or give this one another `queue` name/);
    }
    expect(await suite.client().hkeys(peersKey(queue))).toEqual(['worker:fake']);
  });

  it('ignores, and removes, the entry of a peer that stopped refreshing it (a process killed with SIGKILL)', async () => {
    const queue = `registry-${++queues}`;
    await peer(queue, PROTOCOL_VERSION + 1, STALE_MS + 1000);
    const executor = await bullmqExecutor({ connection: suite.server().url, queue });
    const fields = await suite.client().hkeys(peersKey(queue));
    expect(fields).toHaveLength(1);
    expect(fields[0]).toMatch(/^producer:/);
    await executor.close();
  });

  it('starts beside live peers of the same version; each process is in the registry while it runs, and leaves it on close', async () => {
    const queue = `registry-${++queues}`;
    await peer(queue, PROTOCOL_VERSION);
    const executor = await bullmqExecutor({ connection: suite.server().url, queue });
    const started = await worker(queue);
    const entries = Object.entries(await suite.client().hgetall(peersKey(queue))).map(
      ([id, text]) => [id.split(':')[0], JSON.parse(text) as PeerEntry] as const,
    );
    expect(entries.map(([kind]) => kind).sort()).toEqual(['producer', 'worker', 'worker']);
    for (const [, entry] of entries.filter(([, e]) => e.pid === process.pid)) {
      expect(entry).toMatchObject({ protocol: PROTOCOL_VERSION, pid: process.pid });
      expect(entry.seenAt).toBeGreaterThanOrEqual(entry.startedAt);
    }
    await started.close();
    await executor.close();
    expect(await suite.client().hkeys(peersKey(queue))).toEqual(['worker:fake']);
  });
});
