import { ShoalError } from '../errors.js';

/** How the executor retries a call whose attempt failed (429s, 5xx, failed jobs, lost answers): the executor's `retry` option. */
export interface RetryOptions {
  /** Attempts in all, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** First backoff ceiling; doubles every attempt (full jitter: a uniform wait up to it). @default 250 */
  readonly baseDelayMs?: number;
  /** Cap on any single backoff. @default 20000 */
  readonly maxDelayMs?: number;
  /** Cap on a server's Retry-After we are willing to honour; longer ones fail the call. @default 120000 */
  readonly maxRetryAfterMs?: number;
  /**
   * Retry a create whose answer was lost (the job may exist and be paid for).
   * @default false
   */
  readonly ambiguousCreates?: boolean;
}

export interface RetryContext {
  readonly error: unknown;
  /** Attempts made so far (1 after the first failure). */
  readonly attempt: number;
  readonly options: Required<RetryOptions>;
  /** Uniform [0, 1). Injected so tests are exact. */
  readonly random: () => number;
  /**
   * `call`: the whole call would run again, creating a new job. An error that names an
   * existing job (other than a failed one) is then final: re-creating would pay twice.
   * `poll`: only a query is repeated, which is always safe and costs nothing: there is no
   * attempt limit on 429s, 5xx and lost answers (the job's own deadline ends the waiting),
   * and a Retry-After of any length is honoured; only malformed answers in a row are
   * limited to `maxAttempts`.
   */
  readonly phase: 'call' | 'poll';
}

export type RetryDecision =
  | { readonly retry: false; readonly delayMs: 0; readonly reason: string; readonly exhausted: boolean }
  | { readonly retry: true; readonly delayMs: number; readonly reason: string; readonly exhausted: false };

export const DEFAULT_RETRY: Required<RetryOptions> = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 120_000,
  ambiguousCreates: false,
});

/**
 * The retry policy, a pure function: 429 waits for Retry-After when the server gave one;
 * 5xx, network errors and failed jobs back off exponentially with full jitter; anything
 * else (auth, other 4xx, malformed answers on create, aborts) is final.
 */
export function decideRetry(context: Readonly<RetryContext>): RetryDecision {
  const { error, attempt, options, random, phase } = context;
  const stop = (reason: string, exhausted = false): RetryDecision => ({ retry: false, delayMs: 0, reason, exhausted });
  if (!ShoalError.isInstance(error)) return stop('not a shoal error');
  const retryable = error.retryable || (error.code === 'CREATE_AMBIGUOUS' && options.ambiguousCreates);
  if (!retryable) return stop(`${error.code} is not retryable`);
  if (phase === 'call' && error.jobId !== undefined && error.code !== 'JOB_FAILED') {
    return stop(`job ${error.jobId} exists; creating it again would pay twice`);
  }
  // A poll that keeps meeting a malformed answer (not a busy or failing server) is not waited on
  // forever: after maxAttempts in a row it ends, as a call's attempts do.
  if ((phase === 'call' || error.code === 'PROTOCOL_ERROR') && attempt >= options.maxAttempts) return stop(`${options.maxAttempts} attempts made`, true);
  const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
  if (error.code === 'RATE_LIMITED' && retryAfterMs !== undefined) {
    if (phase === 'call' && retryAfterMs > options.maxRetryAfterMs) return stop(`Retry-After ${retryAfterMs} ms is over maxRetryAfterMs`);
    return { retry: true, delayMs: retryAfterMs, reason: 'Retry-After', exhausted: false };
  }
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt - 1, 52));
  return { retry: true, delayMs: Math.floor(random() * ceiling), reason: 'backoff', exhausted: false };
}
