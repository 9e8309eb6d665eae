import type { Limiter } from '@shoal/core';
import { RateLimiter } from '@shoal/core/internal';
import type { Redis } from 'ioredis';

export interface SharedLimitOptions {
  /** Requests per minute for the whole account, every worker of the queue together (creates and polls). */
  readonly requestsPerMinute?: number;
  /** Tokens per minute for the whole account (input tokens plus reserved output tokens). */
  readonly tokensPerMinute?: number;
}

/**
 * Takes up to ARGV[3] requests and ARGV[4] tokens from one bucket per queue in Redis, refilled
 * at ARGV[1] requests and ARGV[2] tokens per second (0: no limit of that kind), holding one
 * second's worth at most. Time is Redis's own (TIME), so workers on machines whose clocks
 * differ share one bucket. A Retry-After any worker got (`pausedUntil`) holds every worker.
 * Returns: requests granted, tokens granted, ms to wait before asking again.
 */
const LEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rps, tps = tonumber(ARGV[1]), tonumber(ARGV[2])
local wantR, wantT = tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'r', 't', 'at', 'pausedUntil')
local paused = tonumber(s[4]) or 0
if paused > now then return {0, 0, paused - now} end
local at = tonumber(s[3]) or now
local elapsed = math.max(0, now - at) / 1000
-- The bucket holds one second's worth, and at least one request (a limit under 60 a minute still lets one go).
local capR = math.max(1, rps)
local r = math.min(capR, (tonumber(s[1]) or capR) + elapsed * rps)
local tk = math.min(tps, (tonumber(s[2]) or tps) + elapsed * tps)
-- A request and its tokens are granted together, or neither is (with the wait until both are there).
local gotR, gotT, wait = wantR, wantT, 0
if rps > 0 and r < wantR then
  gotR, gotT = 0, 0
  wait = math.ceil((wantR - r) / rps * 1000)
end
if tps > 0 then
  local need = math.min(wantT, tps)
  if tk < need then
    wait = math.max(wait, math.ceil((need - tk) / tps * 1000))
    gotR, gotT = 0, 0
  elseif gotR > 0 then
    gotT = need
  end
end
if rps > 0 then r = r - gotR end
if tps > 0 then tk = tk - gotT end
redis.call('HSET', KEYS[1], 'r', r, 't', tk, 'at', now)
redis.call('PEXPIRE', KEYS[1], 600000)
return {gotR, gotT, wait}
`;

/** Holds every worker of the queue for a server's Retry-After (the pause lasts at least as long as the longest). */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'pausedUntil')) or 0
if untilMs > current then redis.call('HSET', KEYS[1], 'pausedUntil', untilMs) end
redis.call('PEXPIRE', KEYS[1], 600000)
return 1
`;

/**
 * The limiter seam on Redis: one rate limit for the account, shared by every worker of a
 * queue. Each request takes a token from one bucket in Redis; the worker keeps what it took
 * as a small local lease, so the dispatcher's synchronous question ("may a request go now?")
 * is answered from memory, and the lease is refilled in the background (the dispatcher is
 * woken then). A 429 with a Retry-After holds every worker. On top, each worker keeps the
 * executor's own limiter, which learns the server's rate from its 429s.
 */
/** How long the dispatcher waits to look again while Redis is asked for a lease. */
const ASKING_MS = 20;
/** After this long without an answer, Redis is taken to be away (asked again a second later). */
const ASK_TIMEOUT_MS = 2000;

export class SharedLimiter implements Limiter {
  readonly countsTokens: boolean;
  readonly #redis: Redis;
  readonly #key: string;
  readonly #rps: number;
  readonly #tps: number;
  readonly #local: RateLimiter;
  #requests = 0;
  #tokens = 0;
  /** Not before this (performance.now()): the bucket said when it would have room. */
  #nextAskAt = 0;
  #asking = false;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(redis: Redis, key: string, options: SharedLimitOptions) {
    this.#redis = redis;
    this.#key = key;
    this.#rps = (options.requestsPerMinute ?? 0) / 60;
    this.#tps = (options.tokensPerMinute ?? 0) / 60;
    this.countsTokens = this.#tps > 0;
    this.#local = new RateLimiter({}, () => performance.now());
    redis.defineCommand('shoalLease', { numberOfKeys: 1, lua: LEASE });
    redis.defineCommand('shoalPause', { numberOfKeys: 1, lua: PAUSE });
  }

  get learnedPerSecond(): number | undefined {
    return this.#local.learnedPerSecond;
  }

  waitMs(tokens: number): number {
    const local = this.#local.waitMs(tokens);
    if (local > 0) return local;
    if (this.#rps === 0 && this.#tps === 0) return 0;
    if (this.#requests >= 1 && (!this.countsTokens || tokens === 0 || this.#tokens >= tokens)) return 0;
    const now = performance.now();
    if (now >= this.#nextAskAt) this.#ask(tokens);
    // While Redis is asked, look again in a while: the answer wakes the dispatcher sooner when it brings a request.
    return this.#asking ? ASKING_MS : Math.max(1, Math.ceil(this.#nextAskAt - now));
  }

  take(tokens: number): void {
    this.#local.take(tokens);
    this.#requests--;
    if (tokens > 0) this.#tokens -= tokens;
  }

  refund(tokens: number): void {
    this.#local.refund(tokens);
    // At most one request is kept: refunds piling up would become a burst against everyone's bucket.
    this.#requests = Math.min(1, this.#requests + 1);
    if (tokens > 0) this.#tokens += tokens;
  }

  settle(reserved: number, used: number): void {
    this.#local.settle(reserved, used);
    // Used more than reserved: the lease owes it (the next requests wait for it); fewer: kept for the next one.
    if (this.countsTokens) this.#tokens += reserved - used;
  }

  onRateLimited(retryAfterMs: number | undefined, maxPauseMs: number): boolean {
    if (retryAfterMs !== undefined && retryAfterMs > 0 && !this.#closed) {
      void (this.#redis as Redis & { shoalPause(key: string, ms: number): Promise<number> })
        .shoalPause(this.#key, Math.min(retryAfterMs, maxPauseMs))
        .catch(() => undefined);
    }
    return this.#local.onRateLimited(retryAfterMs, maxPauseMs);
  }

  onAccepted(): void {
    this.#local.onAccepted();
  }

  onReady(wake: () => void): void {
    this.#wake = wake;
  }

  close(): void {
    this.#closed = true;
  }

  /** Refills the lease in the background: a request, and the tokens the waiting call lacks. The dispatcher is woken when it got them. */
  #ask(tokens: number): void {
    if (this.#asking || this.#closed) return;
    this.#asking = true;
    const needTokens = this.countsTokens ? Math.max(0, tokens - this.#tokens) : 0;
    const lease = (this.#redis as Redis & { shoalLease(key: string, ...args: number[]): Promise<[number, number, number]> }).shoalLease(
      this.#key,
      this.#rps,
      this.#tps,
      1,
      needTokens,
    );
    // ioredis holds commands while it reconnects: an answer that does not come in time counts as Redis being away.
    let timer: NodeJS.Timeout | undefined;
    const away = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer from Redis')), ASK_TIMEOUT_MS)));
    void Promise.race([lease, away])
      .finally(() => clearTimeout(timer))
      .then(
        ([requests, granted, waitMs]) => {
          this.#requests += requests;
          this.#tokens += granted;
          this.#nextAskAt = performance.now() + waitMs;
          return requests > 0;
        },
        () => {
          this.#nextAskAt = performance.now() + 1000; // Redis is away: ask again in a second
          return false;
        },
      )
      .then((granted) => {
        this.#asking = false;
        if (granted) this.#wake?.();
      });
  }
}
