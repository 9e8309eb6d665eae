import { createExecutor, defineAgent, type InferAgentOutput, shortApi } from '@shoal/core';
import { z } from 'zod';

const executor = createExecutor({ provider: shortApi() });

const triage = defineAgent({
  name: 'ticket-triage',
  description: 'Sorts a support ticket into a queue.',
  input: z.object({ ticket: z.string().min(1) }),
  output: z.object({ queue: z.enum(['billing', 'bug', 'account']), urgent: z.boolean() }),
  instructions: 'Sort the support ticket into a queue and say whether it is urgent.',
});
type Triage = InferAgentOutput<typeof triage>; // { queue: 'billing' | 'bug' | 'account'; urgent: boolean }

const { output, costUsd } = await triage.run({ ticket: 'I was charged twice' }, { executor });
console.log(`${output.queue}${output.urgent ? ', urgent' : ''} ($${costUsd})`);

const tickets = ['The app crashes on upload', 'Please change my email address', 'Why was I billed in March?'].map((ticket) => ({ ticket }));
const many = await triage.runMany(tickets, { executor, pack: 20 }); // 20 tickets per model call
const sorted: Triage[] = many.items.flatMap((item) => (item.ok ? [item.output] : []));
console.log(`${sorted.length} of ${tickets.length} tickets sorted in ${many.calls} call(s):`, sorted.map((t) => t.queue).join(', '));
await executor.close();
