import { describe, expect, it } from 'vitest';
import { ServerError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { manualClock } from '../src/testing/manual-clock.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';
import { countTokens } from '../src/tokens.js';

// The limiter on fake time: the clock moves only when the test moves it, so these run in
// milliseconds and never depend on how busy the machine is.

describe('executor: requests and tokens per minute, on an injected clock', () => {
  it('holds dispatch to the requests-per-minute bucket: one at once, then one a second', async () => {
    const clock = manualClock();
    const provider = scriptedProvider([{ reply: 'ok' }]);
    // 60 per minute, a burst of one second's worth (1).
    const executor = createExecutor({ provider, clock, rateLimit: { requestsPerMinute: 60 } });
    const calls = Array.from({ length: 8 }, (_, i) => executor.complete({ prompt: `rl${i}` }));
    await clock.advance(0);
    expect(provider.calls).toHaveLength(1);
    await clock.advance(999);
    expect(provider.calls).toHaveLength(1); // a token every 1000 ms
    await clock.advance(1);
    expect(provider.calls).toHaveLength(2);
    await clock.advance(5000);
    expect(provider.calls).toHaveLength(7);
    await clock.advance(1000);
    expect((await Promise.all(calls)).map((r) => r.text)).toEqual(Array(8).fill('ok'));
    expect(executor.metrics().requests).toBe(8);
    await executor.close();
  });

  it('counts prompt tokens with the o200k tokenizer against tokens per minute, and corrects by the usage reported', async () => {
    const clock = manualClock();
    const provider = scriptedProvider([{ reply: { text: 'ok', usage: { inputTokens: 20, cachedInputTokens: 0, outputTokens: 20 } } }]);
    // 600 per minute: 10 a second, a bucket of 60. Each call reserves its prompt's tokens plus 20 for output.
    const executor = createExecutor({ provider, clock, rateLimit: { tokensPerMinute: 600, reservedOutputTokens: 20 } });
    const prompt = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty';
    const reserved = (await countTokens(`${prompt} 0`)) + 20;
    expect(reserved).toBeGreaterThan(30); // two do not fit in the bucket of 60 at once
    const calls = Array.from({ length: 3 }, (_, i) => executor.complete({ prompt: `${prompt} ${i}` }));
    await clock.advance(0);
    expect(provider.calls).toHaveLength(1);
    await calls[0];
    // The first used 40 (as reported) of the `reserved` it took: the bucket holds 60 - 40, so
    // the second cannot go before the rest has come in at 10 tokens a second. The dispatcher
    // looks again when the wait it was told at the first dispatch is over (60 - reserved left then).
    const perMs = 600 / 60_000;
    const roomAt = Math.ceil((reserved - 20) / perMs);
    const lookAt = Math.ceil((2 * reserved - 60) / perMs);
    await clock.advance(roomAt - 1);
    expect(provider.calls).toHaveLength(1);
    await clock.advance(lookAt - roomAt + 1);
    expect(provider.calls).toHaveLength(2);
    await clock.advance(60_000);
    await Promise.all(calls);
    expect(provider.calls).toHaveLength(3);
    await executor.close();
  });

  it('times a call out on the injected clock, queue wait included', async () => {
    const clock = manualClock();
    const provider = scriptedProvider([{ reply: { text: 'slow', delayMs: 5000 } }]);
    const executor = createExecutor({ provider, clock, timeoutMs: 3000 });
    const call = executor.complete({ prompt: 'slow' });
    const failed = expect(call).rejects.toMatchObject({ code: 'TIMEOUT' });
    await clock.advance(2999);
    expect(executor.metrics().failed).toBe(0);
    await clock.advance(1);
    await failed;
    await executor.close();
  });

  it('waits out the retry backoff on the injected clock', async () => {
    const clock = manualClock();
    const busy = new ServerError('busy', '', { status: 503 });
    const provider = scriptedProvider([{ reply: [busy, 'after the pause'] }]);
    const executor = createExecutor({ provider, clock, random: () => 0.5, retry: { baseDelayMs: 1000, maxDelayMs: 1000 } });
    const retried = new Promise<number>((resolve) => executor.events.once('call-retry', (event) => resolve(event.delayMs)));
    const call = executor.complete({ prompt: 'flaky' });
    const delayMs = await retried;
    expect(delayMs).toBeGreaterThan(0);
    expect(provider.calls).toHaveLength(1);
    await clock.advance(delayMs - 1);
    expect(provider.calls).toHaveLength(1);
    await clock.advance(1);
    expect((await call).text).toBe('after the pause');
    expect(provider.calls).toHaveLength(2);
    await executor.close();
  });
});
