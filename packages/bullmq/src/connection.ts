import type { Socket } from 'node:net';
import { ShoalConfigError } from '@shoal/core';
import { Redis, type RedisOptions } from 'ioredis';

/** Where Redis is: a URL (`redis://127.0.0.1:6379`) or ioredis options. */
export type RedisConnection = string | RedisOptions;

/**
 * An ioredis client for BullMQ (which needs `maxRetriesPerRequest: null` on blocking
 * connections) that fails fast with a clear error when Redis cannot be reached.
 */
export function connect(connection: RedisConnection, name: string, tuning: { readonly oneWritePerTick?: boolean } = {}): Redis {
  if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
    throw new ShoalConfigError(`${name} takes \`connection\`: a redis:// URL or ioredis options, got ${typeof connection}.`);
  }
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    lazyConnect: false,
  };
  const redis = typeof connection === 'string' ? new Redis(connection, options) : new Redis({ ...connection, ...options });
  quiet(redis);
  if (tuning.oneWritePerTick) writeOncePerTick(redis);
  return redis;
}

/** Set on a connection whose commands of one tick leave in one write (for the bench's count of round trips). */
export const ONE_WRITE_PER_TICK = Symbol.for('shoal.bullmq.oneWritePerTick');

/**
 * The commands sent on `redis` in one tick leave in one write, one system call and one
 * round trip: its socket is corked at the tick's first write and uncorked on the next tick.
 * It does what ioredis's auto-pipelining does, without the Pipeline object that feature
 * builds per tick, which copies every script defined on the connection onto itself (BullMQ
 * defines dozens): on a worker, that copy cost more CPU than the writes it saved. Only for
 * connections that never block (a blocking command would hold the ones behind it).
 */
function writeOncePerTick(redis: Redis): void {
  (redis as unknown as Record<symbol, boolean>)[ONE_WRITE_PER_TICK] = true;
  // Each (re)connection brings a new socket.
  redis.on('connect', () => {
    const socket = (redis as unknown as { stream: Socket }).stream;
    const write = socket.write;
    const uncork = () => socket.uncork();
    socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
      if (this.writableCorked === 0) {
        this.cork();
        process.nextTick(uncork);
      }
      return write.apply(this, args);
    } as Socket['write'];
  });
}

/**
 * ioredis reports every failed reconnect as an 'error' event, and prints it when nobody
 * listens. The commands that fail meanwhile reject with their own errors (which callers
 * see); these reports add nothing, so a listener takes them.
 */
export function quiet(redis: Redis): Redis {
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves once Redis answers a PING; rejects at its first connection error, or after `timeoutMs`, saying where it looked. */
export async function ready(redis: Redis, where: string, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: ((error: Error) => void) | undefined;
  const unreachable = (why: string) => new ShoalConfigError(`Redis at ${where} cannot be reached (${why}): start it (redis-server) or fix \`connection\`.`);
  try {
    await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        onError = (error) => reject(unreachable(error.message));
        redis.once('error', onError);
        timer = setTimeout(() => reject(unreachable(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onError) redis.off('error', onError);
  }
}

/** The address of a connection for messages, without a password. */
export function describeConnection(connection: RedisConnection): string {
  if (typeof connection === 'string') {
    try {
      const url = new URL(connection);
      url.password = '';
      url.username = '';
      // ioredis also reads a password from the query (`?password=`): none of the query is shown.
      url.search = '';
      return url.toString();
    } catch {
      return 'the given URL';
    }
  }
  return `${connection.host ?? '127.0.0.1'}:${connection.port ?? 6379}`;
}
