import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { createCoordinator } from '../src/coordinator/coordinator.js';
import { ShoalConfigError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { openAICompatible } from '../src/providers/openai-compatible.js';
import { GPT_5_4_NANO_PRICES, knownPrices, resolvePrices } from '../src/providers/prices.js';
import { shortApi } from '../src/providers/shortapi/shortapi.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';

const KEY = 'sk-test-prices-0123456789';

describe('prices per model', () => {
  it('each provider states its model prices: the known row, its `pricing` key by key over it, or none', () => {
    expect(shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9' }).pricing).toEqual({
      inputPerMillionUsd: 0.2,
      cachedInputPerMillionUsd: 0.02,
      outputPerMillionUsd: 1.25,
    });
    expect(shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9', pricing: { outputPerMillionUsd: 2 } }).pricing).toEqual({
      ...GPT_5_4_NANO_PRICES,
      outputPerMillionUsd: 2,
    });
    // Another model on ShortAPI: no price known, and none borrowed from the nano.
    expect(shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9', model: 'openai/gpt-9' }).pricing).toBeUndefined();
    expect(openAICompatible({ baseURL: 'http://127.0.0.1:9/v1', model: 'gpt-4o-mini' }).pricing).toEqual(knownPrices('gpt-4o-mini'));
    expect(openAICompatible({ baseURL: 'http://127.0.0.1:9/v1', model: 'llama3.1:8b' }).pricing).toBeUndefined();
  });

  it('a provider `pricing` without a known model needs input and output, and says so', () => {
    let error: unknown;
    try {
      openAICompatible({ baseURL: 'http://127.0.0.1:9/v1', model: 'llama3.1:8b', pricing: { outputPerMillionUsd: 1 } });
    } catch (e) {
      error = e;
    }
    expect(ShoalConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      'openAICompatible(): `pricing` lacks `inputPerMillionUsd`, and the model "llama3.1:8b" has no known price to fill it from. Give both, e.g. { inputPerMillionUsd: 0.1, outputPerMillionUsd: 0.4 } (USD per million tokens; `cachedInputPerMillionUsd` defaults to the input price).',
    );
    expect(() => shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9', pricing: { inputPerMilionUsd: 1 } as never })).toThrow(
      'Unknown option `inputPerMilionUsd` in shortApi({ pricing }). Did you mean `inputPerMillionUsd`?',
    );
    expect(() => resolvePrices('x()', { outputPerMillionUsd: -1 }, GPT_5_4_NANO_PRICES, 'm')).toThrow(
      'Expected `pricing.outputPerMillionUsd` to be a number from 0 and up',
    );
  });

  it("the executor books at the provider's prices, its own `pricing` over them, and unpriced calls as such", async () => {
    const usage = { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 1_000_000 };
    const reply = { text: 'ok', usage };
    const stated = createExecutor({ provider: scriptedProvider([{ reply }], { pricing: { inputPerMillionUsd: 1, outputPerMillionUsd: 3 } }) });
    expect((await stated.complete({ prompt: 'a' })).costUsd).toBe(1 + 3);
    const overridden = createExecutor({
      provider: scriptedProvider([{ reply }], { pricing: { inputPerMillionUsd: 1, outputPerMillionUsd: 3 } }),
      pricing: { outputPerMillionUsd: 5 },
    });
    expect((await overridden.complete({ prompt: 'a' })).costUsd).toBe(1 + 5);
    const unknown = createExecutor({ provider: scriptedProvider([{ reply }], { pricing: 'unknown' }), cache: false });
    await unknown.complete({ prompt: 'a' });
    await unknown.complete({ prompt: 'b' });
    const m = unknown.metrics();
    expect(m.prices).toBe('unknown');
    expect(m.totals).toMatchObject({ calls: 2, unpricedCalls: 2, costUsd: 0, inputTokens: 2_000_000 });
    await Promise.all([stated.close(), overridden.close(), unknown.close()]);
  });

  it('a server charge still counts on an unpriced model (the amount needs no prices)', async () => {
    const provider = scriptedProvider([{ reply: 'ok' }], { pricing: 'unknown' });
    const charged = {
      ...provider,
      doComplete: async (...args: Parameters<typeof provider.doComplete>) => ({ ...(await provider.doComplete(...args)), amountUsd: '0.5' }),
    };
    const executor = createExecutor({ provider: charged });
    expect((await executor.complete({ prompt: 'a' })).costUsd).toBe(0.5);
    expect(executor.metrics().totals).toMatchObject({ unpricedCalls: 0, costUsd: 0.5 });
    await executor.close();
  });
});

describe('a budget on a model of unknown price is refused before anything is sent', () => {
  const echo = defineAgent({
    name: 'echo',
    description: 'Echoes.',
    input: z.object({ text: z.string() }),
    output: z.object({ text: z.string() }),
    instructions: 'Echo the text.',
  });

  it('by agent.run, agent.runMany and coordinator runs, naming the model and what to pass', async () => {
    const provider = scriptedProvider([{ reply: '{"text":"hi"}' }], { model: 'local-llama', pricing: 'unknown' });
    const executor = createExecutor({ provider });
    const refused = /needs the model's prices, and "local-llama" has none known.*Pass `pricing: \{ inputPerMillionUsd, outputPerMillionUsd \}`/;
    await expect(echo.run({ text: 'a' }, { executor, budgetUsd: 1 })).rejects.toThrow(refused);
    await expect(echo.runMany([{ text: 'a' }], { executor, budgetUsd: 1 })).rejects.toThrow(/^echo\.runMany\(\{ budgetUsd \}\) needs/);
    const coordinator = createCoordinator({ executor, agents: [echo] });
    const plan = { steps: [{ id: 's', agent: 'echo', input: { text: 'a' } }], output: '$steps.s' };
    await expect(coordinator.execute(plan, { budgetUsd: 1 })).rejects.toThrow(/^coordinator\.execute\(\{ budgetUsd \}\) needs/);
    expect(provider.calls).toHaveLength(0);
    // Without a budget, the same calls run (and are counted as unpriced).
    expect((await echo.run({ text: 'a' }, { executor })).output).toEqual({ text: 'hi' });
    expect(executor.metrics().totals.unpricedCalls).toBe(1);
    await executor.close();
  });
});
