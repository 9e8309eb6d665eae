import { createExecutor, shortApi } from '@shoal/core';

const executor = createExecutor({
  provider: shortApi(), // key from SHORTAPI_KEY, base from SHORTAPI_BASE_URL or https://api.shortapi.ai
  concurrency: 32,
  rateLimit: { requestsPerMinute: 3000 },
  budgetUsd: 5,
});

const { text, jobId, usage, costUsd } = await executor.complete(
  { prompt: 'Label this ticket as billing, bug or question: "I was charged twice."' },
  { priority: 5, tags: ['triage'] },
);
console.log(`job ${jobId}: ${text} (${usage.inputTokens} tokens in, $${costUsd})`);
console.log(executor.metrics().byTag.triage); // calls, tokens and USD of the calls tagged 'triage'
await executor.close(); // drains queued and running calls
