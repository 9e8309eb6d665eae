import { describe, expect, it } from 'vitest';
import { AmbiguousCreateError, AuthError, JobFailedError, NetworkError, RateLimitError, ServerError } from '../src/errors.js';
import { DEFAULT_RETRY, decideRetry } from '../src/executor/retry-policy.js';

const options = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 5 };
const half = () => 0.5;

describe('decideRetry', () => {
  it('honours Retry-After on a 429 exactly', () => {
    const error = new RateLimitError('429', 1500, { status: 429 });
    expect(decideRetry({ error, attempt: 1, options, random: half, phase: 'call' })).toMatchObject({ retry: true, delayMs: 1500, reason: 'Retry-After' });
  });

  it('refuses a Retry-After longer than maxRetryAfterMs', () => {
    const error = new RateLimitError('429', 10 * 60_000, { status: 429 });
    expect(decideRetry({ error, attempt: 1, options, random: half, phase: 'call' }).retry).toBe(false);
  });

  it('backs off exponentially with full jitter on 5xx and network errors, capped', () => {
    const server = new ServerError('502', '<html>', { status: 502 });
    const delays = [1, 2, 3, 4].map((attempt) => decideRetry({ error: server, attempt, options, random: () => 0.999, phase: 'call' }).delayMs);
    expect(delays).toEqual([99, 199, 399, 799]);
    const capped = decideRetry({
      error: new NetworkError('reset', {}),
      attempt: 4,
      options: { ...options, maxDelayMs: 300 },
      random: () => 0.999,
      phase: 'call',
    });
    expect(capped.delayMs).toBe(299);
    expect(decideRetry({ error: server, attempt: 2, options, random: () => 0, phase: 'call' }).delayMs).toBe(0);
  });

  it('does not retry auth errors or other 4xx', () => {
    const decision = decideRetry({ error: new AuthError('401', { status: 401 }), attempt: 1, options, random: half, phase: 'call' });
    expect(decision).toMatchObject({ retry: false, exhausted: false });
  });

  it('stops after maxAttempts and marks the stop as exhaustion', () => {
    const decision = decideRetry({ error: new ServerError('503', '', { status: 503 }), attempt: 5, options, random: half, phase: 'call' });
    expect(decision).toMatchObject({ retry: false, exhausted: true });
  });

  it('never re-creates a job that exists: an error naming a job is final for the call, but a poll may repeat', () => {
    const lostPoll = new NetworkError('poll reset', { jobId: 'job_1' });
    expect(decideRetry({ error: lostPoll, attempt: 1, options, random: half, phase: 'call' })).toMatchObject({ retry: false });
    expect(decideRetry({ error: lostPoll, attempt: 1, options, random: half, phase: 'poll' })).toMatchObject({ retry: true });
  });

  it('retries a failed job (a new job is a counted retry, not a duplicate)', () => {
    const failed = new JobFailedError('status 3', 3, 'backend', { jobId: 'job_9' });
    expect(decideRetry({ error: failed, attempt: 1, options, random: half, phase: 'call' }).retry).toBe(true);
  });

  it('leaves ambiguous creates alone unless asked', () => {
    const error = new AmbiguousCreateError('lost', {});
    expect(decideRetry({ error, attempt: 1, options, random: half, phase: 'call' }).retry).toBe(false);
    expect(decideRetry({ error, attempt: 1, options: { ...options, ambiguousCreates: true }, random: half, phase: 'call' }).retry).toBe(true);
  });

  it('does not retry foreign errors', () => {
    expect(decideRetry({ error: new TypeError('x'), attempt: 1, options, random: half, phase: 'call' }).retry).toBe(false);
  });
});
