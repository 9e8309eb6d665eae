import type { EventEmitter } from 'eventemitter3';
import type { ModelPrices, Pricing } from '../providers/prices.js';
import type { CompletionRequest, ModelProvider, Usage } from '../providers/types.js';
import type { TokenizerKind } from '../tokens.js';
import type { Clock } from '../util/clock.js';
import type { CacheStore } from './cache.js';
import type { ExecutorEvents } from './events.js';
import type { DurableStore } from './journal.js';
import type { TotalsSnapshot } from './ledger.js';
import type { Limiter } from './limiter.js';
import type { CallQueueFactory } from './queue.js';
import type { RateLimitOptions } from './rate-limiter.js';
import type { RetryOptions } from './retry-policy.js';

/** The executor's public shapes: its options, a call's options and result, metrics, shutdown. */

/** What `createExecutor()` takes: only `provider` is required. */
export interface ExecutorOptions {
  /** Where calls go: `shortApi()`, `openAICompatible()`, or a scripted provider in tests. */
  readonly provider: ModelProvider;
  /** Calls running at once. @default 16 */
  readonly concurrency?: number;
  /** Requests and tokens per minute. @default no limit */
  readonly rateLimit?: RateLimitOptions;
  /** How failed attempts are retried (429s, 5xx, failed jobs). @default 4 attempts in all, exponential backoff with full jitter from 250 ms */
  readonly retry?: RetryOptions;
  /** Result cache: `true` (in-memory LRU of 10,000), `false`, `{ maxEntries }`, or your own store. @default true */
  readonly cache?:
    | boolean
    | {
        /** Entries the in-memory LRU holds; the least recently used goes first. */
        readonly maxEntries: number;
      }
    | CacheStore;
  /**
   * A durable store (result cache and journal of jobs), e.g. `sqliteStore('./run.db')` from
   * `@shoal/store-sqlite`: the same run started again after a crash takes finished results
   * from its cache and re-attaches to jobs already created. Replaces `cache` (give one or
   * the other). Calls with `cache: false` are not journaled. @default none
   */
  readonly store?: DurableStore;
  /** Identical requests in flight share one job. @default true */
  readonly dedupe?: boolean;
  /** Stop dispatching once this many USD are spent. @default no budget */
  readonly budgetUsd?: number;
  /**
   * Prices used when the server reports no `amount`, overriding key by key what the provider
   * states (its `pricing` option, else the known prices of its model). With neither, calls
   * are counted as unpriced (`totals.unpricedCalls`) and `budgetUsd` is refused.
   */
  readonly pricing?: Pricing;
  /** Default per-call timeout, queue wait included. @default none */
  readonly timeoutMs?: number;
  /** Lower concurrency on bursts of 429s, raise it back when they stop. @default true */
  readonly adaptiveConcurrency?: boolean;
  /** Uniform [0, 1) source for retry jitter (tests inject a seeded one). @default Math.random */
  readonly random?: () => number;
  /**
   * Where time is read and timers are set: backoff, rate limits, timeouts, polls and the
   * shutdown deadline. Tests pass `manualClock()` from `@shoal/core/testing`. @default the system clock
   */
  readonly clock?: Clock;
  /** The queue seam: where calls wait, by priority. @default an in-process heap */
  readonly queue?: CallQueueFactory;
  /** The limiter seam: replaces the built-in one (then leave `rateLimit` out). @default token buckets from `rateLimit`, and the rate learnt from 429s */
  readonly limiter?: Limiter;
}

/** Options of one `complete()` call. */
export interface CallOptions {
  /** Higher runs first; equal priorities run in arrival order. @default 0 */
  readonly priority?: number;
  /** Stops waiting at once (a job already created keeps running on the server). */
  readonly signal?: AbortSignal;
  /** Overall deadline from `complete()` to result, queue wait included. */
  readonly timeoutMs?: number;
  /** Labels for cost attribution (agent names, run ids). */
  readonly tags?: readonly string[];
  /**
   * Use the result cache for this call: `false` neither reads nor writes it; `'refresh'`
   * asks again rather than read it (a cached answer was unreadable) and stores the new
   * answer. @default true
   */
  readonly cache?: boolean | 'refresh';
  /** A trace span id, echoed on this call's events (the coordinator links model jobs to agent calls with it). */
  readonly spanId?: string;
}

/** What `complete()` resolves with. */
export interface CompletionResult {
  /** The model's answer. */
  readonly text: string;
  /** The server's job id (undefined for providers without jobs). */
  readonly jobId: string | undefined;
  /** Tokens the answer used (as the provider reported them, or counted when it did not). */
  readonly usage: Usage;
  /** What this call cost, every job it created included (a failed one too): 0 when cached or served by an identical call in flight. */
  readonly costUsd: number;
  /** Attempts made for this call, the first included: each retry (after a 429, a 5xx or a failed job) adds one. 0 when cached or shared. */
  readonly attempts: number;
  /** Answered from the result cache. */
  readonly cached: boolean;
  /** Served by joining an identical call already in flight. */
  readonly deduplicated: boolean;
  /** From `complete()` to the result, queue wait included. */
  readonly durationMs: number;
  /** Outbound HTTP requests this call made (all attempts). */
  readonly requests: number;
  /** The model that answered, as the server named it (undefined when it did not say). */
  readonly model: string | undefined;
  /**
   * Present (true) when this call's job could not be priced: its model has no known price and
   * the server reported no charge. `costUsd` then leaves that job out (see `totals.unpricedCalls`).
   */
  readonly unpriced?: true;
}

/** A snapshot of the executor's counters, from `executor.metrics()`. */
export interface ExecutorMetrics {
  /** Calls waiting in the queue. */
  readonly queued: number;
  /** Calls holding a slot now. */
  readonly running: number;
  /** Calls answered, cached and shared ones included. */
  readonly done: number;
  /** Calls that ended with an error. */
  readonly failed: number;
  /** Calls answered from the result cache. */
  readonly cached: number;
  /** Calls answered by joining an identical call in flight. */
  readonly deduplicated: number;
  /** Attempts retried, over all calls. */
  readonly retries: number;
  /** Jobs created (attempts that reached the server). */
  readonly jobs: number;
  /** Outbound HTTP requests (creates + queries). */
  readonly requests: number;
  /** `requests` / `jobs` (0 before the first job). */
  readonly requestsPerJob: number;
  /** Answers of 429 (rate limited), to creates and polls alike. */
  readonly rateLimited: number;
  /** The request rate learnt from bursts of 429s, per minute (undefined until one is seen, or with `rateLimit.adaptive: false`). */
  readonly learnedRequestsPerMinute: number | undefined;
  /** Percentiles over the last 10,000 calls, from `complete()` to result. */
  readonly latencyMs: {
    /** The median. */
    readonly p50: number;
    /** The 95th percentile. */
    readonly p95: number;
    /** The 99th percentile. */
    readonly p99: number;
    /** The mean. */
    readonly mean: number;
  };
  /** Calls that may run at once. */
  readonly concurrency: {
    /** The `concurrency` option: the most that ever run at once. */
    readonly limit: number;
    /** What runs at once now: lower than `limit` after a burst of 429s (adaptive concurrency). */
    readonly effective: number;
  };
  /** Calls, tokens and cost over the executor's life. */
  readonly totals: TotalsSnapshot;
  /** The cost of the calls whose price is known (see `totals.unpricedCalls`). */
  readonly costUsd: number;
  /**
   * The prices usage is booked at, or `'unknown'`: the model has no known price and none was
   * given. Undefined when the calls are priced elsewhere (a `@shoal/bullmq` producer: its workers price them).
   */
  readonly prices: Required<ModelPrices> | 'unknown' | undefined;
  /** The same totals per call tag. */
  readonly byTag: Record<string, TotalsSnapshot>;
  /** The `budgetUsd` option, if one was set. */
  readonly budgetUsd: number | undefined;
  /**
   * How this process counts tokens (for `budgetUsd`, `rateLimit.tokensPerMinute`, and the
   * usage of answers that come without it): `'o200k'` exactly, with gpt-tokenizer; `'estimate'`
   * when gpt-tokenizer is not installed (counts then err high); undefined until a count was
   * first needed.
   */
  readonly tokenizer: TokenizerKind | undefined;
  /** Calls refused because the executor was already closed or shutting down (work someone still wanted). */
  readonly refusedAfterClose: number;
  /** Jobs picked up by id rather than created: from the store's journal (an earlier run), or left running by callers of this process that stopped waiting. */
  readonly recovery: {
    /** Jobs waited for by id: from the journal, or left by an earlier call of this process for the same request (no store needed). No create sent, nothing booked twice. */
    readonly resumed: number;
    /**
     * Creates sent again: an earlier run sent them (or was about to) and died before their
     * answer was journaled, so the server may hold a first job too. Sent under the same
     * idempotency key, so a server that honours it makes no second job.
     */
    readonly recreated: number;
    /** Store reads and writes that failed. A failed intent also fails its call, with nothing sent. */
    readonly storeErrors: number;
  };
}

/** Options of `executor.shutdown()`. */
export interface ShutdownOptions {
  /** How long calls in flight may take to finish before they are abandoned. @default 10000 */
  readonly deadlineMs?: number;
}

/** What `executor.shutdown()` reports: how much work was left undone. */
export interface ShutdownReport {
  /** Queued calls rejected with `ExecutorClosedError` before anything was sent for them. */
  readonly rejectedQueued: number;
  /** Calls running at shutdown that settled before the deadline (for a draining `close()`: the calls it waited for). */
  readonly finished: number;
  /** Calls still running at the deadline: rejected with `ExecutorClosedError`; their jobs, once created, stay in the journal. */
  readonly abandoned: number;
  /** True when no work was left undone (nothing rejected, nothing abandoned). */
  readonly clean: boolean;
}

/** The shared executor `createExecutor()` returns: every model call goes through its `complete()`. */
export interface Executor {
  /** Sends one request through the queue, the limits, the retries and the cache; resolves with the answer or rejects with a `ShoalError`. */
  complete(request: CompletionRequest, options?: CallOptions): Promise<CompletionResult>;
  /** The executor's events (see `ExecutorEvents`). */
  readonly events: EventEmitter<ExecutorEvents>;
  /** A snapshot of the counters, totals and latency. */
  metrics(): ExecutorMetrics;
  /** Stops taking calls; with `drain` (default) waits for queued and running calls, else rejects the queued ones. Then closes the provider. */
  close(options?: { readonly drain?: boolean }): Promise<void>;
  /**
   * Stops at once, for a signal: no further call is dispatched (queued ones are rejected
   * with `ExecutorClosedError`), calls in flight may finish until the deadline and are then
   * abandoned, and the provider and the store are closed. With a store, what was left is in
   * it: a rerun does the rejected calls and re-attaches to the abandoned jobs.
   */
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport>;
  /** The provider calls go to. */
  readonly provider: ModelProvider;
}
