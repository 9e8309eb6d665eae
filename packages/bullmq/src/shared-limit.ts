import type { Limiter } from '@shoal/core';
import { RateLimiter } from '@shoal/core/internal';
import type { Redis } from 'ioredis';
import { BurstDetector } from './burst.js';
import { CUT, LEASE, PAUSE } from './shared-limit-scripts.js';

/** One rate limit for the account, shared by every worker of a queue (a bucket in Redis). */
export interface SharedLimitOptions {
  /** Requests per minute for the whole account, every worker of the queue together (creates and polls). */
  readonly requestsPerMinute?: number;
  /** Tokens per minute for the whole account (input tokens plus reserved output tokens). */
  readonly tokensPerMinute?: number;
}

/** How long the dispatcher waits to look again while Redis is asked for a lease. */
const ASKING_MS = 20;
/** After this long without an answer, Redis is taken to be away (asked again a second later). */
const ASK_TIMEOUT_MS = 2000;
/** A lease holds at most this share of a second's requests (and at most MAX_LEASE): fewer trips to Redis, no large bursts. */
const LEASE_SHARE = 0.05;
const MAX_LEASE = 8;

type Scripts = Redis & {
  shoalLease(key: string, ...args: number[]): Promise<[number, number, number, number]>;
  shoalCut(key: string, ...args: number[]): Promise<number>;
  shoalPause(key: string, ms: number): Promise<number>;
};

/**
 * The limiter seam on Redis: one rate limit for the account, shared by every worker of a
 * queue. Requests take their turn from one bucket in Redis; a worker keeps what it took as
 * a small local lease (a twentieth of a second's requests, at most 8), so the dispatcher's
 * synchronous question ("may a request go now?") is answered from memory, and the lease is
 * refilled in the background (the dispatcher is woken then).
 *
 * The server's answers teach every worker at once: a 429 with a Retry-After holds every
 * worker, and a burst of 429s seen by any worker cuts the bucket's request rate (first to
 * just under what the server took in the last second, then by 20% a burst), which climbs
 * back 2% a second. The worker's own limiter keeps only the pause: a rate learnt by each
 * worker on its own would pace it twice.
 */
export class SharedLimiter implements Limiter {
  readonly countsTokens: boolean;
  readonly #redis: Scripts;
  readonly #key: string;
  readonly #rps: number;
  readonly #tps: number;
  readonly #local: RateLimiter;
  readonly #bursts: BurstDetector;
  #requests = 0;
  #tokens = 0;
  /** The rate the bucket last said it learnt (requests a second), if any. */
  #learned: number | undefined;
  /** Not before this (performance.now()): the bucket said when it would have room. */
  #nextAskAt = 0;
  #asking = false;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(redis: Redis, key: string, options: SharedLimitOptions) {
    this.#redis = redis as Scripts;
    this.#key = key;
    this.#rps = (options.requestsPerMinute ?? 0) / 60;
    this.#tps = (options.tokensPerMinute ?? 0) / 60;
    this.countsTokens = this.#tps > 0;
    this.#local = new RateLimiter({ adaptive: false }, () => performance.now());
    this.#bursts = new BurstDetector(() => performance.now());
    redis.defineCommand('shoalLease', { numberOfKeys: 1, lua: LEASE });
    redis.defineCommand('shoalCut', { numberOfKeys: 1, lua: CUT });
    redis.defineCommand('shoalPause', { numberOfKeys: 1, lua: PAUSE });
  }

  /** The request rate the workers of the queue learnt from 429s, as this worker last heard it. */
  get learnedPerSecond(): number | undefined {
    return this.#learned;
  }

  waitMs(tokens: number): number {
    const local = this.#local.waitMs(tokens);
    if (local > 0) return local;
    if (this.#rps === 0 && this.#tps === 0 && this.#learned === undefined) return 0;
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
    // No more than a lease is kept: refunds piling up would become a burst against everyone's bucket.
    this.#requests = Math.min(this.#leaseSize(), this.#requests + 1);
    if (tokens > 0) this.#tokens = Math.min(this.#tokens + tokens, this.#tokenCap());
  }

  settle(reserved: number, used: number): void {
    this.#local.settle(reserved, used);
    // Used more than reserved: the lease owes it (the next requests wait for it); fewer: kept for the next one.
    if (this.countsTokens) this.#tokens = Math.min(this.#tokens + reserved - used, this.#tokenCap());
  }

  onRateLimited(retryAfterMs: number | undefined, maxPauseMs: number): boolean {
    if (retryAfterMs === undefined || retryAfterMs <= 0 || this.#closed) return this.#local.onRateLimited(retryAfterMs, maxPauseMs);
    void this.#redis.shoalPause(this.#key, Math.min(retryAfterMs, maxPauseMs)).catch(() => undefined);
    const burst = this.#bursts.refused();
    if (burst) {
      // What is leased went out at the old rate: given back, so that the new rate holds from now.
      this.#requests = Math.min(this.#requests, 0);
      const share = Math.round(this.#bursts.acceptedShare() * 1000);
      void this.#redis.shoalCut(this.#key, this.#rps, share).then(
        (milli) => {
          if (milli > 0) this.#learned = milli / 1000;
        },
        () => undefined,
      );
    }
    this.#local.onRateLimited(retryAfterMs, maxPauseMs);
    return burst;
  }

  onAccepted(): void {
    this.#bursts.accepted();
  }

  onReady(wake: () => void): void {
    this.#wake = wake;
  }

  close(): void {
    this.#closed = true;
  }

  /** At most a second's tokens are kept: what refunds and settlements give back must not pile up into a burst. */
  #tokenCap(): number {
    return Math.max(1, this.#tps);
  }

  /** Requests to ask for at once: a twentieth of a second's worth at the rate in force, from 1 to 8. */
  #leaseSize(): number {
    const rate = this.#learned === undefined ? this.#rps : this.#rps > 0 ? Math.min(this.#rps, this.#learned) : this.#learned;
    return Math.max(1, Math.min(MAX_LEASE, Math.floor(rate * LEASE_SHARE)));
  }

  /** Refills the lease in the background: requests, and the tokens the waiting call lacks. The dispatcher is woken when it got them. */
  #ask(tokens: number): void {
    if (this.#asking || this.#closed) return;
    this.#asking = true;
    const needTokens = this.countsTokens ? Math.max(0, tokens - this.#tokens) : 0;
    const wantRequests = Math.max(1, this.#leaseSize() - Math.max(0, this.#requests));
    const lease = this.#redis.shoalLease(this.#key, this.#rps, this.#tps, wantRequests, needTokens);
    // ioredis holds commands while it reconnects: an answer that does not come in time counts as Redis being away.
    let timer: NodeJS.Timeout | undefined;
    const away = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer from Redis')), ASK_TIMEOUT_MS)));
    void Promise.race([lease, away])
      .finally(() => clearTimeout(timer))
      .then(
        ([requests, granted, waitMs, learnedMilli]) => {
          this.#requests += requests;
          this.#tokens += granted;
          this.#learned = learnedMilli < 0 ? undefined : learnedMilli / 1000;
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
