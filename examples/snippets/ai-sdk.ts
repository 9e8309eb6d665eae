import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { aiSdk } from '@shoal/ai-sdk';
import { createExecutor, defineAgent } from '@shoal/core';
import { z } from 'zod';

// Any AI SDK model: here a local server that speaks chat completions (Ollama, vLLM, LM Studio).
// Swap in openai('gpt-4o-mini') from @ai-sdk/openai, anthropic(...) from @ai-sdk/anthropic, ...
const local = createOpenAICompatible({ name: 'local', baseURL: process.env.LOCAL_LLM_URL ?? 'http://127.0.0.1:11434/v1' });
// shoal knows no price for a local model: say what it costs (USD per million tokens), or it is counted as unpriced.
const provider = aiSdk(local('llama3.1:8b'), { pricing: { inputPerMillionUsd: 0.05, outputPerMillionUsd: 0.1 } });
const executor = createExecutor({ provider, concurrency: 16, budgetUsd: 1 });

const triage = defineAgent({
  name: 'ticket-triage',
  description: 'Sorts a support ticket into a queue.',
  input: z.object({ ticket: z.string().min(1) }),
  output: z.object({ queue: z.enum(['billing', 'bug', 'account']), urgent: z.boolean() }),
  instructions: 'Sort the support ticket into a queue and say whether it is urgent.',
});
const { output, usage, costUsd } = await triage.run({ ticket: 'I was charged twice' }, { executor });
console.log(`${output.queue}${output.urgent ? ', urgent' : ''}: ${usage.inputTokens} tokens in, ${usage.outputTokens} out, $${costUsd}`);
await executor.close();
