import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createExecutor, defineAgent, knownPrices, ShoalConfigError } from '@shoal/core';
import { MockEmbeddingModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AiSdkLanguageModel, aiSdk } from '../src/index.js';
import { answer, executorOn, mockModel, v3Usage } from './helpers.js';

function configError(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(ShoalConfigError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a ShoalConfigError');
}

const asModel = (value: unknown) => value as AiSdkLanguageModel;

describe('aiSdk(model): what it takes', () => {
  it('states the model, its name and that an abort cancels the work', () => {
    const provider = aiSdk(mockModel([answer('x')], 'gpt-4o-mini'));
    expect(provider).toMatchObject({ specificationVersion: 'shoal.provider.v1', name: 'ai-sdk:mock.chat', model: 'gpt-4o-mini', cancelsWork: true });
    const real = aiSdk(createOpenAICompatible({ name: 'vendor', baseURL: 'http://127.0.0.1:1/v1' })('served-model'));
    expect(real).toMatchObject({ name: 'ai-sdk:vendor.chat', model: 'served-model' });
  });

  it('refuses what is not a language model, saying what to pass', () => {
    expect(configError(() => aiSdk(asModel('gpt-4o-mini')))).toMatch(
      /not a model name \(`"gpt-4o-mini"` \(string\)\).*gateway.*aiSdk\(openai\('gpt-4o-mini'\)\) with `openai` from @ai-sdk\/openai/,
    );
    const provider = createOpenAICompatible({ name: 'vendor', baseURL: 'http://127.0.0.1:1/v1' });
    expect(configError(() => aiSdk(asModel(provider)))).toMatch(/this is an AI SDK provider \(it makes models\): call it with a model id/);
    expect(configError(() => aiSdk(asModel(undefined)))).toMatch(/takes an AI SDK language model, e\.g\. .*got `undefined` \(undefined\)/);
    expect(configError(() => aiSdk(asModel({ modelId: 'x' })))).toMatch(/neither `specificationVersion` nor `doGenerate`/);
    expect(configError(() => aiSdk(asModel(new MockEmbeddingModelV3())))).toMatch(/this v3 object has no `doGenerate` \(an embedding or image model\?\)/);
  });

  it('refuses a specification it does not speak, saying which it takes', () => {
    const v1 = { specificationVersion: 'v1', provider: 'old', modelId: 'm', doGenerate: () => undefined };
    expect(configError(() => aiSdk(asModel(v1)))).toMatch(
      /specification v3 \(ai 6\) or v2 \(ai 5\); this one says `"v1"` \(string\) \(ai 4\)\. Upgrade its provider package/,
    );
    const v9 = { ...v1, specificationVersion: 'v9' };
    expect(configError(() => aiSdk(asModel(v9)))).toMatch(/this one says `"v9"`/);
    const nameless = Object.assign(mockModel([answer('x')]), { modelId: '' });
    expect(configError(() => aiSdk(nameless))).toMatch(/the model has no `modelId`/);
  });

  it('refuses unknown and wrong options, with "did you mean"', () => {
    const model = mockModel([answer('x')]);
    expect(configError(() => aiSdk(model, { structuredOutput: 'auto' } as never))).toMatch(
      /Unknown option `structuredOutput` in aiSdk\(\)\. Did you mean `structuredOutputs`\?/,
    );
    expect(configError(() => aiSdk(model, { pricng: {} } as never))).toMatch(/Did you mean `pricing`\?/);
    expect(configError(() => aiSdk(model, { structuredOutputs: 'strcit' } as never))).toBe(
      'Expected `structuredOutputs` to be "auto", "strict" or "prompt", got `"strcit"` (string).',
    );
    expect(configError(() => aiSdk(model, { maxOutputTokens: 1.5 }))).toBe('Expected `maxOutputTokens` to be an integer from 1 and up, got `1.5` (number).');
    expect(configError(() => aiSdk(model, { maxTokens: 100 } as never))).toBe(
      'Unknown option `maxTokens` in aiSdk(). Did you mean `maxOutputTokens` (its name since `ai` 5)?',
    );
    expect(configError(() => aiSdk(model, { headers: { a: 1 } } as never))).toMatch(/Expected `headers\.a` to be a string/);
    expect(configError(() => aiSdk(model, { providerOptions: { openai: 'low' } } as never))).toMatch(/Expected `providerOptions\.openai` to be an object/);
    expect(configError(() => aiSdk(model, 'fast' as never))).toMatch(/takes an options object as its second argument/);
    // Undefined is absent, as everywhere in shoal.
    expect(aiSdk(model, { temperature: undefined, structuredOutputs: undefined }).model).toBe('mock-model');
  });
});

describe('aiSdk(model, { pricing }): the dollars', () => {
  const prices = { inputPerMillionUsd: 2, cachedInputPerMillionUsd: 0.5, outputPerMillionUsd: 8 };

  it('states the pricing option over the known prices of model.modelId, key by key', () => {
    expect(aiSdk(mockModel([], 'gpt-4o-mini')).pricing).toEqual(knownPrices('gpt-4o-mini'));
    expect(aiSdk(mockModel([], 'gpt-4o-mini'), { pricing: { outputPerMillionUsd: 1 } }).pricing).toEqual({
      ...knownPrices('gpt-4o-mini'),
      outputPerMillionUsd: 1,
    });
    expect(aiSdk(mockModel([], 'my-finetune')).pricing).toBeUndefined();
    expect(configError(() => aiSdk(mockModel([], 'my-finetune'), { pricing: { inputPerMillionUsd: 1 } }))).toMatch(
      /aiSdk\(\): `pricing` lacks `outputPerMillionUsd`, and the model "my-finetune" has no known price/,
    );
  });

  it('books usage × the given prices exactly, for a call and for an agent run', async () => {
    const model = mockModel([answer(JSON.stringify({ label: 'a' }), v3Usage(3000, 2048, 500))], 'priced-model');
    const executor = executorOn(model, { pricing: prices });
    const result = await executor.complete({ prompt: 'priced' });
    // (3000 − 2048) × $2 + 2048 × $0.50 + 500 × $8, per million tokens.
    const expected = (952 * 2 + 2048 * 0.5 + 500 * 8) / 1e6;
    expect(result.costUsd).toBe(expected);
    expect(executor.metrics()).toMatchObject({ costUsd: expected, prices: { inputPerMillionUsd: 2, cachedInputPerMillionUsd: 0.5, outputPerMillionUsd: 8 } });
    const agent = defineAgent({
      name: 'labeller',
      description: 'Labels.',
      input: z.object({ text: z.string() }),
      output: z.object({ label: z.enum(['a', 'b']) }),
      instructions: 'Label it.',
    });
    const run = await agent.run({ text: 'x' }, { executor });
    expect(run.costUsd).toBe(expected);
    expect(executor.metrics().totals).toMatchObject({ calls: 2, costUsd: 2 * expected, unpricedCalls: 0 });
  });

  it('another model, other prices: the same usage books other dollars', async () => {
    const usage = v3Usage(3000, 2048, 500);
    const known = executorOn(mockModel([answer('x', usage)], 'gpt-4o-mini'));
    const p = knownPrices('gpt-4o-mini')!;
    const expected = (952 * p.inputPerMillionUsd + 2048 * p.cachedInputPerMillionUsd + 500 * p.outputPerMillionUsd) / 1e6;
    expect((await known.complete({ prompt: 'x' })).costUsd).toBeCloseTo(expected, 15);
    expect(known.metrics().prices).toEqual(p);
  });

  it("an unknown model without pricing is counted as unpriced, never at another model's prices", async () => {
    const executor = executorOn(mockModel([answer('x', v3Usage(1000, 0, 100))], 'my-finetune'));
    const result = await executor.complete({ prompt: 'x' });
    expect(result.costUsd).toBe(0);
    expect(executor.metrics()).toMatchObject({ prices: 'unknown', totals: { calls: 1, unpricedCalls: 1, costUsd: 0 } });
  });

  it('a budget on an unknown price is refused before anything is sent', () => {
    const model = mockModel([answer('x')], 'my-finetune');
    expect(configError(() => createExecutor({ provider: aiSdk(model), budgetUsd: 1 }))).toMatch(/needs the model's prices, and "my-finetune" has none known/);
    expect(model.doGenerateCalls).toHaveLength(0);
    const priced = createExecutor({ provider: aiSdk(model, { pricing: prices }), budgetUsd: 1 });
    expect(priced.metrics().budgetUsd).toBe(1);
    return priced.close();
  });
});
