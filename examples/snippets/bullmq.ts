import { bullmqExecutor } from '@shoal/bullmq';
import { defineAgent } from '@shoal/core';
import { z } from 'zod';

const sentiment = defineAgent({
  name: 'sentiment',
  description: 'The sentiment of a short text.',
  input: z.object({ text: z.string().min(1) }),
  output: z.object({ sentiment: z.enum(['positive', 'neutral', 'negative']) }),
  instructions: 'Say whether the text is positive, neutral or negative.',
});

// A producer: it holds no API key; the workers (`shoal-worker`) on the same queue do.
const executor = await bullmqExecutor({ connection: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const { output } = await sentiment.run({ text: 'The new release fixed my problem.' }, { executor });
console.log(`sentiment: ${output.sentiment}`);
await executor.close();
