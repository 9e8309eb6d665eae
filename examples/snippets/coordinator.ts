import { createCoordinator, createExecutor, defineAgent, shortApi } from '@shoal/core';
import { z } from 'zod';

const topics = defineAgent({
  name: 'topics',
  description: 'Lists the sub-topics of a subject.',
  input: z.object({ subject: z.string().min(1) }),
  output: z.object({ topics: z.array(z.string().min(1)).min(3).max(5) }),
  instructions: 'List three to five sub-topics of the subject.',
});
const score = defineAgent({
  name: 'score',
  description: 'Scores how well studied one topic is, from 0 to 1.',
  input: z.object({ topic: z.string().min(1) }),
  output: z.object({ topic: z.string(), score: z.number().min(0).max(1) }),
  instructions: 'Score the topic from 0 (barely studied) to 1 (well studied).',
});
const summary = defineAgent({
  name: 'summary',
  description: 'The best of a list of scores, and how many there are.',
  input: z.object({ scores: z.array(z.object({ topic: z.string(), score: z.number() })) }),
  output: z.object({ best: z.number(), count: z.int() }),
  instructions: 'Give the best score and the number of scores.',
});

const executor = createExecutor({ provider: shortApi() });
const coordinator = createCoordinator({ executor, agents: [topics, score, summary] });
const run = await coordinator.run('Score the sub-topics of ocean currents', {
  output: z.object({ best: z.number(), count: z.int() }),
  budgetUsd: 0.5,
  priority: 2,
});
console.log('plan:', run.plan?.steps.map((step) => `${step.id} (${step.agent}${step.forEach ? ', fan-out' : ''})`).join(' → '));
console.log('output:', run.output); // { best, count }, typed from the schema
console.log('steps:', JSON.stringify(run.steps)); // every step's output, by step id (a fan-out's is an array)
console.log(`${run.agentCalls} agent runs, $${run.costUsd.toFixed(6)}`, run.costByAgent); // and run.trace.toJSON(): every span
coordinator.close();
await executor.close();
