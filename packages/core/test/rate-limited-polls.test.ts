import { describe, expect, it } from 'vitest';
import { RateLimitError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import type { ModelProvider } from '../src/providers/types.js';
import { rig, until } from './helpers.js';

/**
 * A server that limits requests per second per key, creates and polls together (the
 * emulator's sliding one-second window, 429 with Retry-After). A poll is free to repeat:
 * its 429s must never fail a call whose job is done and paid for, and they teach the
 * executor the server's rate as create 429s do.
 */
describe('polls under a per-second request limit', () => {
  const LIMIT = 20;
  const CALLS = 40;

  it('ends every call with its result at the server limit, learns the rate, and keeps 429s rare once learnt', async () => {
    const { executor, emulator } = await rig(
      { rpsLimit: LIMIT, latencyMs: 300, rules: [{ match: 'item ', reply: (prompt) => `done:${prompt}` }] },
      { poll: { initialDelayMs: 50 } },
      { concurrency: 32, cache: false },
    );
    let ended = 0;
    let midway: { requests: number; rateLimited: number } | undefined;
    executor.events.on('call-end', () => {
      // Half the calls done: the rate has been learnt by now (the first burst of 32 creates taught it).
      if (++ended === CALLS / 2) midway = { requests: executor.metrics().requests, rateLimited: executor.metrics().rateLimited };
    });
    const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => executor.complete({ prompt: `item ${i}` })));
    results.forEach((result, i) => expect(result.text).toBe(`done:item ${i}`));
    const stats = emulator.stats();
    expect(stats.jobs).toBe(CALLS);
    expect(stats.duplicateCreates).toBe(0);
    expect(stats.rateLimited).toBeGreaterThan(0); // the limit was really met
    const metrics = executor.metrics();
    expect(metrics.failed).toBe(0);
    expect(metrics.rateLimited).toBe(stats.rateLimited);
    expect(metrics.learnedRequestsPerMinute).toBeGreaterThan(0);
    expect(metrics.learnedRequestsPerMinute).toBeLessThanOrEqual(LIMIT * 60 * 1.2);
    // Once learnt, fewer than one request in ten is refused.
    const later = { requests: metrics.requests - midway!.requests, rateLimited: metrics.rateLimited - midway!.rateLimited };
    expect(later.rateLimited / later.requests).toBeLessThan(0.1);
  });

  it('counts every request (creates and polls) against requestsPerMinute: at half the server limit, no 429 at all', async () => {
    const { executor, emulator } = await rig(
      { rpsLimit: LIMIT, latencyMs: 300, rules: [{ match: 'item ', reply: (prompt) => `done:${prompt}` }] },
      { poll: { initialDelayMs: 50 } },
      { concurrency: 32, cache: false, rateLimit: { requestsPerMinute: (LIMIT / 2) * 60 } },
    );
    const results = await Promise.all(Array.from({ length: CALLS / 2 }, (_, i) => executor.complete({ prompt: `item ${i}` })));
    results.forEach((result, i) => expect(result.text).toBe(`done:item ${i}`));
    expect(emulator.stats().rateLimited).toBe(0);
    expect(executor.metrics().rateLimited).toBe(0);
    expect(emulator.stats().creates + emulator.stats().queries).toBe(executor.metrics().requests);
  });

  it('counts answers itself for a provider that does not report them: a few 429s teach it nothing', async () => {
    let n = 0;
    const provider: ModelProvider = {
      specificationVersion: 'shoal.provider.v1',
      name: 'legacy',
      model: 'legacy',
      async doComplete(request) {
        n++;
        if (n === 50 || n === 51) throw new RateLimitError('429', 1, { status: 429 }); // with a Retry-After: these teach the rate
        return { text: `ok ${request.prompt}`, requests: 1 };
      },
    };
    const executor = createExecutor({ provider, concurrency: 8, cache: false, retry: { baseDelayMs: 1 } });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => executor.complete({ prompt: `p${i}` })));
    expect(results).toHaveLength(200);
    expect(executor.metrics().rateLimited).toBe(2);
    expect(executor.metrics().learnedRequestsPerMinute).toBeUndefined();
    await executor.close();
  });

  it('does not let polls that use up the rate starve new calls: they take turns', async () => {
    const { executor, emulator } = await rig(
      {
        rules: [
          { match: 'long', reply: { text: 'never', latencyMs: Infinity } },
          { match: 'short', reply: { text: 'done', latencyMs: 0 } },
        ],
      },
      { poll: { initialDelayMs: 2, minDelayMs: 2, maxDelayMs: 10 } },
      { concurrency: 16, cache: false, rateLimit: { requestsPerMinute: 600 } },
    );
    const long = Array.from({ length: 6 }, (_, i) => executor.complete({ prompt: `long ${i}` }).catch((e: unknown) => e));
    await until(() => emulator.jobs.length === 6 && emulator.stats().queries >= 12); // the polls now ask for more than the limit gives
    const short = await executor.complete({ prompt: 'short one' }, { priority: 100 });
    expect(short.text).toBe('done');
    await executor.shutdown({ deadlineMs: 0 });
    await Promise.all(long);
  });
});
