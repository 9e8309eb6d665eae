import { createExecutor, defineAgent, type Executor, type InferAgentOutput, openAICompatible, shortApi } from '@shoal/core';
import { type OpenAICompatibleServer, type ShortApiEmulator, startOpenAICompatibleServer, startShortApiEmulator } from '@shoal/core/testing';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

/** One agent with nested objects, arrays, enums and optional fields, run unchanged on both providers over HTTP. */
const invoice = defineAgent({
  name: 'invoice-fields',
  description: 'Extracts the fields of an invoice.',
  input: z.object({ text: z.string().min(1) }),
  output: z.object({
    vendor: z.object({ name: z.string(), country: z.enum(['US', 'DE', 'FR', 'GB']).optional() }),
    currency: z.enum(['USD', 'EUR', 'GBP']),
    lines: z
      .array(z.object({ description: z.string(), quantity: z.int().min(1), unitPrice: z.number().nonnegative() }))
      .min(1)
      .max(5),
    dueDate: z.string().optional(),
    paid: z.boolean(),
  }),
  instructions: 'Extract the invoice fields from the text.',
  params: { temperature: 0 },
});

type Invoice = InferAgentOutput<typeof invoice>;

describe('an agent with nested output, on both providers', () => {
  let emulator: ShortApiEmulator;
  let server: OpenAICompatibleServer;
  let viaShortApi: Executor;
  let viaOpenAI: Executor;
  beforeAll(async () => {
    emulator = await startShortApiEmulator({ latencyMs: 5 });
    server = await startOpenAICompatibleServer();
    viaShortApi = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }) });
    viaOpenAI = createExecutor({ provider: openAICompatible({ baseURL: server.url, model: 'test-model' }) });
  });
  afterAll(async () => {
    await viaShortApi.close();
    await viaOpenAI.close();
    await emulator.close();
    await server.close();
  });

  it.each(['shortapi', 'openai-compatible'] as const)('runs on %s and returns a value of the output type', async (which) => {
    const executor = which === 'shortapi' ? viaShortApi : viaOpenAI;
    const texts = ['ACME GmbH, 3 x bolts at 2.50 EUR, due 2026-12-01', 'Widgets Ltd: 1 widget, 99 GBP, paid', 'Nimbus Inc. 10 licences at 12 USD'];
    for (const text of texts) {
      const result = await invoice.run({ text }, { executor });
      expectTypeOf(result.output).toEqualTypeOf<Invoice>();
      expectTypeOf(result.output.lines[0]!.quantity).toBeNumber();
      expectTypeOf(result.output.vendor.country).toEqualTypeOf<'US' | 'DE' | 'FR' | 'GB' | undefined>();
      expect(invoice.output.parse(result.output)).toEqual(result.output);
      expect(result.attempts).toBe(1);
    }
    expect(executor.metrics().byTag['invoice-fields']!.calls).toBe(3);
  });

  it('sends the model params through on both', async () => {
    expect(emulator.jobs.at(-1)!.args).toMatchObject({ temperature: 0 });
    // This schema has optional fields, so chat completions carry it in the prompt, not as strict response_format.
    expect(server.requests.at(-1)!.responseFormat).toBeUndefined();
  });

  it('packs 1,000 short inputs 20 to a call, saving tokens and dollars against one call per input', async () => {
    const label = defineAgent({
      name: 'ticket-label',
      description: 'Labels a support ticket.',
      input: z.object({ ticket: z.string() }),
      output: z.object({ label: z.enum(['billing', 'bug', 'account', 'other']) }),
      instructions: 'Label the support ticket as billing, bug, account or other.',
    });
    const inputs = Array.from({ length: 1000 }, (_, i) => ({
      ticket: `Ticket ${i}: ${['charged twice', 'app crashes', 'cannot log in', 'feature idea'][i % 4]}`,
    }));
    const executor = createExecutor({
      provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }),
      concurrency: 64,
      cache: false,
    });
    const single = await label.runMany(inputs, { executor });
    const packed = await label.runMany(inputs, { executor, pack: 20 });
    await executor.close();
    expect(single.items.every((i) => i.ok)).toBe(true);
    expect(packed.items.every((i) => i.ok)).toBe(true);
    expect(single.calls).toBe(1000);
    expect(packed.packedCalls).toBe(50);
    const tokens = (r: typeof single) => r.usage.inputTokens + r.usage.outputTokens;
    expect(tokens(packed)).toBeLessThan(tokens(single) * 0.6);
    expect(packed.costUsd).toBeLessThan(single.costUsd * 0.6);
  });
});
