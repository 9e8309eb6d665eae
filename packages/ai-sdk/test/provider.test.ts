import { type LanguageModelV2, UnsupportedFunctionalityError } from '@ai-sdk/provider';
import { createExecutor, defineAgent, ProtocolError, ShoalConfigError } from '@shoal/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { aiSdk } from '../src/index.js';
import { answer, apiError, executorOn, mockModel, v3Usage } from './helpers.js';

describe('aiSdk(): one call is one doGenerate', () => {
  it('sends the prompt as one user message and books the usage the model reports, cached tokens included', async () => {
    const model = mockModel([answer('hello back', v3Usage(1500, 1024, 42))]);
    const executor = executorOn(model);
    const result = await executor.complete({ prompt: 'hello' });
    expect(result.text).toBe('hello back');
    expect(result.usage).toEqual({ inputTokens: 1500, cachedInputTokens: 1024, outputTokens: 42 });
    expect(result.model).toBe('mock-model-2025');
    expect(result.requests).toBe(1);
    expect(result.attempts).toBe(1);
    expect(model.doGenerateCalls).toHaveLength(1);
    const sent = model.doGenerateCalls[0]!;
    expect(sent.prompt).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hello' }] }]);
    expect(sent.responseFormat).toBeUndefined();
    expect(sent.abortSignal).toBeInstanceOf(AbortSignal);
    const metrics = executor.metrics();
    expect(metrics.requests).toBe(1);
    expect(metrics.totals).toMatchObject({ calls: 1, inputTokens: 1500, cachedInputTokens: 1024, outputTokens: 42 });
  });

  it('adds up the input of a v3 usage that gives only its parts (no cache + cache read + cache write)', async () => {
    const usage = {
      inputTokens: { total: undefined, noCache: 300, cacheRead: 200, cacheWrite: 50 },
      outputTokens: { total: undefined, text: 7, reasoning: 3 },
    };
    const result = await executorOn(mockModel([answer('ok', usage)])).complete({ prompt: 'parts' });
    expect(result.usage).toEqual({ inputTokens: 550, cachedInputTokens: 200, outputTokens: 10 });
  });

  it('leaves usage to the executor when the model reports none: it counts the tokens itself', async () => {
    const executor = executorOn(mockModel([answer('counted answer', v3Usage(undefined, undefined, undefined))]));
    const result = await executor.complete({ prompt: 'count these tokens please' });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.usage.cachedInputTokens).toBe(0);
  });

  it('joins the text parts and skips reasoning', async () => {
    const result = answer('');
    const model = mockModel([
      {
        ...result,
        content: [
          { type: 'reasoning', text: 'thinking...' },
          { type: 'text', text: '{"a":' },
          { type: 'text', text: '1}' },
        ],
      },
    ]);
    expect((await executorOn(model).complete({ prompt: 'json' })).text).toBe('{"a":1}');
  });

  it('refuses an answer without text, saying why (tool calls, content filter)', async () => {
    const tools = mockModel([
      {
        ...answer(''),
        content: [{ type: 'tool-call', toolCallId: 't1', toolName: 'x', input: '{}' }],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      },
    ]);
    const error = await executorOn(tools)
      .complete({ prompt: 'tools' })
      .catch((e: unknown) => e);
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/tool calls, and aiSdk\(\) sends no tools/);
    expect(tools.doGenerateCalls).toHaveLength(1); // a paid answer that does not fit is not asked again
    const filtered = mockModel([{ ...answer(''), content: [], finishReason: { unified: 'content-filter', raw: 'content_filter' } }]);
    await expect(executorOn(filtered).complete({ prompt: 'filtered' })).rejects.toThrow(/content filter stopped the answer/);
  });

  it("passes the settings on: aiSdk()'s options on every call, a call's args (an agent's params) over them key by key", async () => {
    const model = mockModel([answer('ok')]);
    const executor = executorOn(model, {
      maxOutputTokens: 256,
      temperature: 0.7,
      headers: { 'x-team': 'search' },
      providerOptions: { openai: { reasoningEffort: 'low' } },
    });
    await executor.complete({ prompt: 'settings', args: { temperature: 0, seed: 7, headers: { 'x-run': 'r1' }, stopSequences: ['END'] } });
    const sent = model.doGenerateCalls[0]!;
    expect(sent).toMatchObject({
      maxOutputTokens: 256,
      temperature: 0,
      seed: 7,
      stopSequences: ['END'],
      headers: { 'x-team': 'search', 'x-run': 'r1' },
      providerOptions: { openai: { reasoningEffort: 'low' } },
    });
  });

  it('refuses a call whose args are not AI SDK settings before anything is sent, naming what to write', async () => {
    const model = mockModel([answer('ok')]);
    const executor = executorOn(model);
    const error = await executor.complete({ prompt: 'snake', args: { max_tokens: 5 } }).catch((e: unknown) => e);
    expect(ShoalConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/Unknown option `max_tokens` in the call's `args`.*camelCase \(e\.g\. `maxOutputTokens`, not `max_tokens`\)/);
    await expect(executor.complete({ prompt: 'typo', args: { temperatur: 0 } })).rejects.toThrow(/Did you mean `temperature`\?/);
    await expect(executor.complete({ prompt: 'bad', args: { maxOutputTokens: 0 } })).rejects.toThrow(
      'Expected `maxOutputTokens` to be an integer from 1 and up, got `0` (number).',
    );
    expect(model.doGenerateCalls).toHaveLength(0);
  });

  it('takes a v2 model (ai 5) and its flat usage', async () => {
    const calls: unknown[] = [];
    const v2: LanguageModelV2 = {
      specificationVersion: 'v2',
      provider: 'legacy.chat',
      modelId: 'legacy-model',
      supportedUrls: {},
      async doGenerate(options) {
        calls.push(options);
        return {
          content: [{ type: 'text', text: 'from v2' }],
          finishReason: 'stop',
          usage: { inputTokens: 2000, outputTokens: 30, totalTokens: 2030, cachedInputTokens: 1152 },
          response: { modelId: 'legacy-model-001' },
          warnings: [],
        };
      },
      doStream: () => Promise.reject(new Error('not used')),
    };
    const provider = aiSdk(v2, { pricing: { inputPerMillionUsd: 1, outputPerMillionUsd: 2 } });
    expect(provider.name).toBe('ai-sdk:legacy.chat');
    const executor = createExecutor({ provider, cache: false });
    const result = await executor.complete({ prompt: 'old' });
    await executor.close();
    expect(result).toMatchObject({ text: 'from v2', model: 'legacy-model-001', usage: { inputTokens: 2000, cachedInputTokens: 1152, outputTokens: 30 } });
    expect(calls).toHaveLength(1);
  });
});

const Triage = z.object({ queue: z.enum(['billing', 'bug']), urgent: z.boolean() });
const triage = defineAgent({
  name: 'triage',
  description: 'Sorts a ticket.',
  input: z.object({ ticket: z.string() }),
  output: Triage,
  instructions: 'Sort the ticket.',
});
const reply = JSON.stringify({ queue: 'billing', urgent: true });

describe('aiSdk(): structured output', () => {
  it("'auto' sends the output's JSON Schema as the response format, and the prompt states it too", async () => {
    const model = mockModel([answer(reply)]);
    const run = await triage.run({ ticket: 'charged twice' }, { executor: executorOn(model) });
    expect(run.output).toEqual({ queue: 'billing', urgent: true });
    const sent = model.doGenerateCalls[0]!;
    expect(sent.responseFormat).toMatchObject({ type: 'json', name: 'triage', schema: { type: 'object', properties: { queue: {}, urgent: {} } } });
    const prompt = (sent.prompt[0]!.content as { text: string }[])[0]!.text;
    expect(prompt).toContain('"queue"');
    expect(prompt).toContain('charged twice');
  });

  it("'prompt' never sends a response format", async () => {
    const model = mockModel([answer(reply)]);
    await triage.run({ ticket: 'x' }, { executor: executorOn(model, { structuredOutputs: 'prompt' }) });
    expect(model.doGenerateCalls[0]!.responseFormat).toBeUndefined();
  });

  it('asks again by prompt when the model refuses the schema, and remembers the refusal for that schema', async () => {
    const model = mockModel([new UnsupportedFunctionalityError({ functionality: 'responseFormat with a JSON schema' }), answer(reply)]);
    const executor = executorOn(model);
    const first = await triage.run({ ticket: 'one' }, { executor });
    await triage.run({ ticket: 'two' }, { executor });
    expect(first.output).toEqual({ queue: 'billing', urgent: true });
    expect(model.doGenerateCalls.map((c) => c.responseFormat?.type)).toEqual(['json', undefined, undefined]);
    expect(executor.metrics()).toMatchObject({ requests: 3, retries: 0 });
  });

  it('reads a 400 that names the response format as a refusal of the schema too', async () => {
    const refusal = apiError(400, { body: '{"error":{"message":"Invalid schema for response_format \'triage\'","param":"response_format"}}' });
    const model = mockModel([refusal, answer(reply)]);
    const run = await triage.run({ ticket: 'one' }, { executor: executorOn(model) });
    expect(run.output.queue).toBe('billing');
    expect(model.doGenerateCalls.map((c) => c.responseFormat?.type)).toEqual(['json', undefined]);
  });

  it("'strict' never falls back: a refusal of the schema is the call's error", async () => {
    const model = mockModel([apiError(400, { body: '{"error":{"message":"response_format json_schema is not supported"}}' }), answer(reply)]);
    const error = await triage.run({ ticket: 'one' }, { executor: executorOn(model, { structuredOutputs: 'strict' }) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'API_ERROR', status: 400 });
    expect(model.doGenerateCalls).toHaveLength(1);
  });

  it('does not take a 400 about something else for a refusal of the schema', async () => {
    const model = mockModel([apiError(400, { body: '{"error":{"message":"messages: too long"}}' }), answer(reply)]);
    const error = await triage.run({ ticket: 'one' }, { executor: executorOn(model) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'API_ERROR', status: 400 });
    expect(model.doGenerateCalls).toHaveLength(1);
  });
});
