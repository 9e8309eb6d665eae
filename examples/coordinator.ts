/**
 * A multi-step task decomposed by the coordinator's planner: triage a batch of support
 * tickets and draft a first reply to each, with the support-agents plugin's agents. The
 * planner writes the plan (a DAG with two fan-outs); the coordinator runs it through the
 * one executor and returns a trace.
 *
 * Offline (no SHORTAPI_KEY) the emulator's simulator plans: it wires the catalogue's agents
 * by their schemas (here: each agent fanned out over the tickets written in the task); with a
 * key, the model plans.
 *
 *   npx -y pnpm@12.4.2 example:coordinator
 */
import { createCoordinator, type Executor } from '@shoal/core';
import { supportAgents } from '@shoal/example-support-agents';
import { z } from 'zod';
import { isMain, runAlone } from './shared/backend.js';

export const TICKETS = [
  { subject: 'Charged twice', body: 'My card was charged twice for the November invoice.' },
  { subject: 'Export broken', body: 'CSV export stops at 1,000 rows since Tuesday.' },
  { subject: 'Locked out', body: 'I reset my password twice and still cannot log in.' },
  { subject: 'Dark mode?', body: 'Any plans for a dark theme in the dashboard?' },
];

export const TASK = `Triage each of these support tickets and draft a first reply to each. Tickets: ${JSON.stringify(TICKETS)}`;

export async function coordinatorExample(executor: Executor) {
  const coordinator = createCoordinator({ executor, plugins: [supportAgents] });
  console.log(`\nCoordinator: "${TASK.slice(0, 90)}..."`);
  try {
    const result = await coordinator.run(TASK, { output: z.array(z.object({ reply: z.string(), questions: z.array(z.string()) })) });
    console.log(`  plan: ${result.plan?.steps.map((s) => `${s.id} (${s.agent}${s.forEach ? ', fan-out' : ''})`).join(' → ')}`);
    const triage = result.steps.triage as { queue: string; priority: string }[] | undefined;
    result.output.forEach((reply, i) => {
      const t = triage?.[i];
      console.log(`  ${TICKETS[i]!.subject.padEnd(14)} ${t ? `${t.queue}/${t.priority}`.padEnd(18) : ''} ${reply.reply.replace(/\s+/g, ' ').slice(0, 70)}`);
    });
    console.log(
      `  ${result.agentCalls} agent runs, ${result.modelCalls} model calls, ${result.trace.spans.length} spans in the trace, $${result.costUsd.toFixed(6)}`,
    );
    return result;
  } finally {
    coordinator.close();
  }
}

if (isMain(import.meta.url)) {
  await runAlone(coordinatorExample, { note: "(offline: the simulator plans from the agents' schemas, and answers each step)" });
}
