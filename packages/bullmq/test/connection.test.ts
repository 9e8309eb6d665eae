import { ShoalConfigError } from '@shoal/core';
import { scriptedProvider } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { bullmqExecutor, startWorker } from '../src/index.js';
import { bullPriority } from '../src/protocol.js';

describe('@shoal/bullmq: a clear error when Redis cannot be reached', () => {
  it('a producer says where it looked, without the password', async () => {
    const error = await bullmqExecutor({ connection: 'redis://user:secret-pass@127.0.0.1:1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShoalConfigError);
    expect((error as Error).message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:1\/? cannot be reached \(.*ECONNREFUSED.*\): start it/);
    expect((error as Error).message).not.toContain('secret-pass');
    // ioredis takes a password from the query too.
    const fromQuery = await bullmqExecutor({ connection: 'redis://127.0.0.1:1/?password=query-secret' }).catch((e: unknown) => e);
    expect((fromQuery as Error).message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:1\/? cannot be reached/);
    expect((fromQuery as Error).message).not.toContain('query-secret');
  });

  it('a worker refuses a shared limit that names no rate, before it connects', async () => {
    const error = await startWorker({ connection: { host: '127.0.0.1', port: 1 }, sharedLimit: {}, provider: scriptedProvider([{ reply: 'x' }]) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ShoalConfigError);
    expect((error as Error).message).toMatch(/sharedLimit.*requestsPerMinute.*tokensPerMinute/);
  });

  it('a worker refuses a store, a cache or a dedupe option of its own, before it connects', async () => {
    for (const option of [{ store: {} }, { cache: false }, { dedupe: true }]) {
      const error = await startWorker({ connection: { host: '127.0.0.1', port: 1 }, provider: scriptedProvider([{ reply: 'x' }]), ...option } as never).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ShoalConfigError);
      expect((error as Error).message).toMatch(new RegExp(`^startWorker\\(\\) takes no \`${Object.keys(option)[0]}\`: the queue keeps the result cache`));
    }
  });

  it('a worker too, before it takes anything', async () => {
    const error = await startWorker({ connection: { host: '127.0.0.1', port: 1 }, provider: scriptedProvider([{ reply: 'x' }]) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShoalConfigError);
    expect((error as Error).message).toMatch(/^Redis at 127\.0\.0\.1:1 cannot be reached/);
  });
});

describe("@shoal/bullmq: shoal's priority as BullMQ's", () => {
  it('keeps the order (higher first), with 0 in the middle and the ends clamped', () => {
    expect(bullPriority(0)).toBe(2 ** 20);
    expect(bullPriority(5)).toBeLessThan(bullPriority(1));
    expect(bullPriority(-3)).toBeGreaterThan(bullPriority(0));
    expect(bullPriority(1e9)).toBe(1);
    expect(bullPriority(-1e9)).toBe(2 ** 21 - 1);
    expect(bullPriority(2.4)).toBe(bullPriority(2));
  });
});
