import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ShoalConfigError } from '@shoal/core';
import type { Redis } from 'ioredis';
import { connect, describeConnection, type RedisConnection, ready } from './connection.js';
import { PROTOCOL_VERSION } from './protocol.js';

/** One process of a queue, as it announces itself in Redis. Times are Redis's clock (TIME), in ms. */
export interface PeerEntry {
  readonly role: 'producer' | 'worker';
  readonly protocol: number;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly seenAt: number;
}

/** How often a process refreshes its entry. */
const HEARTBEAT_MS = 10_000;
/** An entry not refreshed for this long belongs to a process that died (SIGKILL, a lost machine): it is ignored, then removed. */
export const STALE_MS = 3 * HEARTBEAT_MS;

/** The Redis hash where the producers and workers of a queue announce themselves: field = process id, value = PeerEntry as JSON. */
export function peersKey(queue: string): string {
  return `shoal:${queue}:peers`;
}

/** Redis's own clock, in ms: one clock for every machine of the queue. */
export async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

interface Registration {
  readonly id: string;
  /** Stops the heartbeat and removes the entry. */
  close(): Promise<void>;
}

/**
 * Announces this process in the queue's registry, then refuses to go on (ShoalConfigError,
 * its entry removed again) when a live peer speaks another protocol version: a producer and
 * a worker that would misread each other's jobs never share a queue. Entering first and
 * looking second means two processes of different versions starting at once both refuse,
 * rather than both start. The entry is refreshed every HEARTBEAT_MS until `close()`.
 */
async function joinQueue(redis: Redis, queue: string, role: PeerEntry['role']): Promise<Registration> {
  const key = peersKey(queue);
  const id = `${role}:${randomUUID()}`;
  const startedAt = await redisNow(redis);
  const entry = (seenAt: number): string =>
    JSON.stringify({ role, protocol: PROTOCOL_VERSION, pid: process.pid, host: hostname(), startedAt, seenAt } satisfies PeerEntry);
  await redis.hset(key, id, entry(startedAt));
  const conflict = await findConflict(redis, key, id);
  if (conflict) {
    await redis.hdel(key, id);
    throw conflict;
  }
  const heartbeat = setInterval(() => {
    // A missed beat (Redis away) is made up by the next one; the entry goes stale only after several.
    redisNow(redis)
      .then((now) => redis.hset(key, id, entry(now)))
      .catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    id,
    async close() {
      clearInterval(heartbeat);
      // Not waited for past a second when Redis is away: the entry then goes stale on its own.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([redis.hdel(key, id).catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
    },
  };
}

/** The error for the first live peer speaking another protocol version, if any; stale entries are removed on the way. */
async function findConflict(redis: Redis, key: string, self: string): Promise<ShoalConfigError | undefined> {
  const [entries, now] = await Promise.all([redis.hgetall(key), redisNow(redis)]);
  const stale: string[] = [];
  let conflict: ShoalConfigError | undefined;
  for (const [id, text] of Object.entries(entries)) {
    if (id === self) continue;
    const peer = parse(text);
    if (!peer || now - peer.seenAt > STALE_MS) {
      stale.push(id);
      continue;
    }
    if (peer.protocol !== PROTOCOL_VERSION && !conflict) conflict = mismatch(key, peer, now);
  }
  if (stale.length > 0) await redis.hdel(key, ...stale);
  return conflict;
}

function mismatch(key: string, peer: PeerEntry, now: number): ShoalConfigError {
  const seen = Math.max(0, Math.round((now - peer.seenAt) / 1000));
  const older = peer.protocol < PROTOCOL_VERSION ? `the ${peer.role}s` : 'this process';
  return new ShoalConfigError(
    `A ${peer.role} on this queue (${peer.host}, pid ${peer.pid}, seen ${seen} s ago) speaks shoal queue protocol ${peer.protocol}; ` +
      `this @shoal/bullmq speaks protocol ${PROTOCOL_VERSION}, and the two would misread each other's jobs. ` +
      `Run one @shoal/bullmq version for all producers and workers of a queue (upgrade ${older}), or give this one another \`queue\` name. ` +
      `(Registry: the Redis hash ${key}; an entry not refreshed for ${STALE_MS / 1000} s is ignored.)`,
  );
}

function parse(text: string): PeerEntry | undefined {
  try {
    const value = JSON.parse(text) as Partial<PeerEntry>;
    return typeof value.protocol === 'number' && typeof value.seenAt === 'number' ? (value as PeerEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** A process's connection to its queue: Redis, and its entry in the queue's registry. */
export interface QueueMembership {
  readonly redis: Redis;
  /** Leaves the registry and closes the connection. */
  leave(): Promise<void>;
}

/**
 * Connects `who` (`'bullmqExecutor()'`, `'startWorker()'`) to Redis, with a clear error when
 * it does not answer, and joins the queue's registry as `role` (refused beside a peer of
 * another protocol version); nothing is left open when either fails.
 */
export async function openQueue(
  connection: RedisConnection,
  who: string,
  queue: string,
  role: PeerEntry['role'],
  tuning?: Parameters<typeof connect>[2],
): Promise<QueueMembership> {
  const redis = connect(connection, who, tuning);
  let registration: Registration;
  try {
    await ready(redis, describeConnection(connection));
    registration = await joinQueue(redis, queue, role);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return {
    redis,
    async leave() {
      await registration.close();
      redis.disconnect();
    },
  };
}
