/**
 * Any AI SDK language model as shoal's provider: an agent runs on `aiSdk(model)`, with the
 * executor's queue, retries, cache, ledger and budget on top of the model.
 *
 *   OPENAI_API_KEY=... npx -y pnpm@12.4.2 example:ai-sdk   OpenAI's gpt-4o-mini through @ai-sdk/openai (its prices are known)
 *   npx -y pnpm@12.4.2 example:ai-sdk                      no key: @ai-sdk/openai-compatible against core's loopback
 *                                                          chat-completions server on 127.0.0.1 (answers fit the schema, judge nothing)
 */
import { openai } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { type AiSdkLanguageModel, aiSdk } from '@shoal/ai-sdk';
import { createExecutor, defineAgent, formatSummary, type Pricing } from '@shoal/core';
import { startOpenAICompatibleServer } from '@shoal/core/testing';
import { z } from 'zod';
import { isMain } from './shared/backend.js';

export const triage = defineAgent({
  name: 'ticket-triage',
  description: 'Sorts a support ticket into a queue.',
  input: z.object({ ticket: z.string().min(1) }),
  output: z.object({ queue: z.enum(['billing', 'bug', 'account']), urgent: z.boolean() }),
  instructions: 'Sort the support ticket into a queue and say whether it is urgent.',
});

const TICKETS = [
  'I was charged twice for my subscription this month.',
  'The export button crashes the app every time.',
  'I cannot log in since I changed my email address.',
  'Our whole team is locked out before a launch, please help now!',
];

/** Every ticket through `triage` on `model`; `pricing` for a model whose prices shoal does not know. */
export async function aiSdkExample(model: AiSdkLanguageModel, pricing?: Pricing) {
  const executor = createExecutor({ provider: aiSdk(model, pricing ? { pricing } : {}), concurrency: 8, budgetUsd: 0.05 });
  try {
    const started = performance.now();
    const runs = await Promise.all(TICKETS.map((ticket) => triage.run({ ticket }, { executor })));
    runs.forEach((run, i) => {
      console.log(`  ${JSON.stringify(run.output).padEnd(40)} $${run.costUsd.toFixed(6)}  ← ${TICKETS[i]}`);
    });
    console.log(`\n${formatSummary(executor.metrics(), { wallMs: performance.now() - started }).join('\n')}`);
    return { runs, metrics: executor.metrics() };
  } finally {
    await executor.close();
  }
}

if (isMain(import.meta.url)) {
  if (process.env.OPENAI_API_KEY) {
    console.log('Using OpenAI gpt-4o-mini through @ai-sdk/openai, with the key from OPENAI_API_KEY.');
    await aiSdkExample(openai('gpt-4o-mini'));
  } else {
    const server = await startOpenAICompatibleServer();
    console.log(`OPENAI_API_KEY is not set: @ai-sdk/openai-compatible against the loopback server at ${server.url} (answers fit the schema, judge nothing).`);
    try {
      const loopback = createOpenAICompatible({ name: 'loopback', baseURL: server.url, supportsStructuredOutputs: true });
      await aiSdkExample(loopback('loopback-model'), { inputPerMillionUsd: 0.15, cachedInputPerMillionUsd: 0.075, outputPerMillionUsd: 0.6 });
    } finally {
      await server.close();
    }
  }
}
