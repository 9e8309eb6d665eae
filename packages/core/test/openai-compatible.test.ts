import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { AuthError, RetriesExhaustedError } from '../src/errors.js';
import { createExecutor, type Executor, type ExecutorOptions } from '../src/executor/executor.js';
import { isStrictCompatible, type OpenAICompatibleOptions, openAICompatible } from '../src/providers/openai-compatible.js';
import { shortApi } from '../src/providers/shortapi/shortapi.js';
import { formatSummary } from '../src/record/summary.js';
import { toJsonSchema } from '../src/structured/structured-output.js';
import { startShortApiEmulator } from '../src/testing/emulator.js';
import { type OpenAIServerOptions, startOpenAICompatibleServer } from '../src/testing/openai-compatible-server.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(
  serverOptions: OpenAIServerOptions = {},
  providerOptions: Partial<OpenAICompatibleOptions> = {},
  executorOptions: Omit<ExecutorOptions, 'provider'> = {},
) {
  const server = await startOpenAICompatibleServer(serverOptions);
  closers.push(() => server.close());
  const executor: Executor = createExecutor({
    provider: openAICompatible({ baseURL: server.url, model: 'nano-test', ...providerOptions }),
    retry: { baseDelayMs: 1 },
    cache: false,
    ...executorOptions,
  });
  closers.push(() => executor.close());
  return { server, executor };
}

const strictAgent = defineAgent({
  name: 'strict-one',
  description: 'All fields required.',
  input: z.object({ text: z.string() }),
  output: z.object({ label: z.enum(['a', 'b']), items: z.array(z.object({ name: z.string(), n: z.int() })) }),
  instructions: 'Answer.',
});
const looseAgent = defineAgent({
  name: 'loose-one',
  description: 'Has an optional field.',
  input: z.object({ text: z.string() }),
  output: z.object({ label: z.enum(['a', 'b']), note: z.string().optional() }),
  instructions: 'Answer.',
});

describe('openAICompatible over HTTP', () => {
  it('sends a strict json_schema response_format when the schema allows it', async () => {
    const { server, executor } = await setup();
    const result = await strictAgent.run({ text: 'hello' }, { executor });
    expect(strictAgent.output.parse(result.output)).toEqual(result.output);
    expect(server.requests[0]!.responseFormat).toMatchObject({ type: 'json_schema', json_schema: { name: 'strict-one', strict: true } });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
  });

  it('falls back to prompting when the schema is not strict-compatible (optional fields)', async () => {
    const { server, executor } = await setup();
    const result = await looseAgent.run({ text: 'hello' }, { executor });
    expect(['a', 'b']).toContain(result.output.label);
    expect(server.requests[0]!.responseFormat).toBeUndefined();
    expect(server.requests[0]!.prompt).toContain('"additionalProperties":false');
  });

  it('falls back to prompting when the server refuses strict mode, and remembers it', async () => {
    const { server, executor } = await setup({ rejectStrict: true });
    await strictAgent.run({ text: 'one' }, { executor });
    await strictAgent.run({ text: 'two' }, { executor });
    expect(server.requests.map((r) => [r.status, r.responseFormat?.type ?? 'prompt'])).toEqual([
      [400, 'json_schema'],
      [200, 'prompt'],
      [200, 'prompt'],
    ]);
  });

  it('remembers the refusal for packed calls too: one packed schema per group size, refused once', async () => {
    const { server, executor } = await setup({ rejectStrict: true });
    const inputs = Array.from({ length: 9 }, (_, i) => ({ text: `item ${i}` }));
    // Groups of 3: three packed calls of the same size, one after another.
    for (const group of [inputs.slice(0, 3), inputs.slice(3, 6), inputs.slice(6)]) await strictAgent.runMany(group, { executor, pack: 3 });
    expect(server.requests.map((r) => [r.status, r.responseFormat?.type ?? 'prompt'])).toEqual([
      [400, 'json_schema'],
      [200, 'prompt'],
      [200, 'prompt'],
      [200, 'prompt'],
    ]);
  });

  it('puts usage with cached tokens into the ledger', async () => {
    // A model with prices of its own (gpt-4.1-nano's: $0.10 in, $0.025 cached, $0.40 out per million), not the nano's.
    const { executor } = await setup({}, { model: 'gpt-4.1-nano' });
    const long = defineAgent({
      name: 'long-prefix',
      description: 'A long stable prefix, so the prefix cache hits.',
      input: z.object({ text: z.string() }),
      output: z.object({ ok: z.boolean() }),
      instructions: `Follow these rules.\n${Array.from({ length: 300 }, (_, i) => `Rule ${i}: be precise about item ${i}.`).join('\n')}`,
    });
    await long.run({ text: 'first' }, { executor });
    const second = await long.run({ text: 'second' }, { executor });
    expect(second.usage.cachedInputTokens).toBeGreaterThanOrEqual(1024);
    const m = executor.metrics();
    expect(m.totals.cachedInputTokens).toBe(second.usage.cachedInputTokens);
    // cached tokens are priced at $0.025/M instead of $0.10/M
    const u = second.usage;
    expect(second.costUsd).toBeCloseTo(((u.inputTokens - u.cachedInputTokens) * 0.1 + u.cachedInputTokens * 0.025 + u.outputTokens * 0.4) / 1e6, 12);
    expect(m.prices).toEqual({ inputPerMillionUsd: 0.1, cachedInputPerMillionUsd: 0.025, outputPerMillionUsd: 0.4 });
    expect(m.totals.unpricedCalls).toBe(0);
  });

  it('books a model of unknown price as unpriced, never at the nano prices, and prices it once given `pricing`', async () => {
    const { executor } = await setup();
    const result = await strictAgent.run({ text: 'hello' }, { executor });
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    const m = executor.metrics();
    expect(m.prices).toBe('unknown');
    expect(m.totals).toMatchObject({ calls: 1, unpricedCalls: 1, costUsd: 0 });
    expect(formatSummary(m).find((line) => line.includes('cost'))).toContain('unknown price: 1 call not counted');

    const priced = (await setup({}, { pricing: { inputPerMillionUsd: 3, outputPerMillionUsd: 15 } })).executor;
    const paid = await strictAgent.run({ text: 'hello' }, { executor: priced });
    const u = paid.usage;
    // No cached price given: cached input costs the input price.
    expect(paid.costUsd).toBeCloseTo((u.inputTokens * 3 + u.outputTokens * 15) / 1e6, 12);
    expect(priced.metrics().totals).toMatchObject({ unpricedCalls: 0 });
  });

  it('refuses a budget on a model of unknown price before anything is sent', async () => {
    const server = await startOpenAICompatibleServer();
    closers.push(() => server.close());
    const provider = openAICompatible({ baseURL: server.url, model: 'local-llama' });
    expect(() => createExecutor({ provider, budgetUsd: 1 })).toThrow(
      /budgetUsd.*needs the model's prices, and "local-llama" has none known.*Pass `pricing: \{ inputPerMillionUsd, outputPerMillionUsd \}`/,
    );
    expect(() => createExecutor({ provider, budgetUsd: 1, pricing: { inputPerMillionUsd: 1 } })).toThrow(
      /lacks `outputPerMillionUsd`, and the model "local-llama" has no known price/,
    );
    const executor = createExecutor({ provider, budgetUsd: 1, pricing: { inputPerMillionUsd: 1, outputPerMillionUsd: 2 } });
    closers.push(() => executor.close());
    expect(executor.metrics().prices).toEqual({ inputPerMillionUsd: 1, cachedInputPerMillionUsd: 1, outputPerMillionUsd: 2 });
    expect(server.requests).toHaveLength(0);
  });

  it('retries 429 and 5xx like the ShortAPI provider, and refuses a wrong key at once', async () => {
    // Which call meets which fault depends on the seed and the prompt only (not on timing); 8 attempts outlast every streak of this seed.
    const { server, executor } = await setup(
      { faults: { rateLimit: 0.3, serverError: 0.2 }, seed: 3 },
      {},
      { retry: { baseDelayMs: 1, maxAttempts: 8 }, rateLimit: { adaptive: false } },
    );
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => strictAgent.run({ text: `t${i}` }, { executor })));
    expect(results).toHaveLength(20);
    expect(server.requests.filter((r) => r.status === 429 || r.status === 500).length).toBeGreaterThan(0);
    const { executor: bad } = await setup({ apiKey: 'right-key-123456' }, { apiKey: 'wrong-key-654321' });
    const error = await strictAgent.run({ text: 'x' }, { executor: bad }).catch((e: unknown) => e);
    expect(AuthError.isInstance(error)).toBe(true);
    expect((error as Error).message).not.toContain('wrong-key-654321');
  });

  it('gives up on persistent 5xx with every attempt listed', async () => {
    const { executor } = await setup({ faults: { serverError: 1 } });
    const error = await executor.complete({ prompt: 'x' }).catch((e: unknown) => e);
    expect(RetriesExhaustedError.isInstance(error)).toBe(true);
  });
});

describe('isStrictCompatible', () => {
  it.each([
    [z.object({ a: z.string(), b: z.array(z.object({ c: z.number() })) }), true],
    [z.object({ a: z.string().optional() }), false],
    [z.object({ a: z.union([z.string(), z.number()]) }), true],
    [z.array(z.string()), false],
    [z.object({ a: z.record(z.string(), z.number()) }), false],
  ])('%#', (schema, expected) => {
    expect(isStrictCompatible(toJsonSchema(schema))).toBe(expected);
  });
});

describe('answers that quote the key', () => {
  it('keep the text but never the key, on both providers', async () => {
    const key = 'sk-echoed-key-0123456789';
    const echo = `Bearer tokens are fine; yours is ${key}.`;
    const { executor } = await setup({ apiKey: key, rules: [{ match: 'echo', reply: echo }] }, { apiKey: key });
    expect((await executor.complete({ prompt: 'echo' })).text).toBe('Bearer tokens are fine; yours is [redacted].');
    const emulator = await startShortApiEmulator({ apiKey: key, rules: [{ match: 'echo', reply: echo }] });
    closers.push(() => emulator.close());
    const viaJobs = createExecutor({ provider: shortApi({ apiKey: key, baseURL: emulator.url, poll: { initialDelayMs: 1 } }), cache: false });
    closers.push(() => viaJobs.close());
    expect((await viaJobs.complete({ prompt: 'echo' })).text).toBe('Bearer tokens are fine; yours is [redacted].');
  });
});
