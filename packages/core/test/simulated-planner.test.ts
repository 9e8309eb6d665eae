import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import type { Agent } from '../src/agent/types.js';
import { checkFinal } from '../src/coordinator/final-output.js';
import { type Plan, validatePlan } from '../src/coordinator/plan.js';
import { plannerAgent } from '../src/coordinator/planner.js';
import { createRegistry } from '../src/plugins/plugin.js';
import { toJsonSchema } from '../src/structured/structured-output.js';
import { simulate, simulateWithSchema } from '../src/testing/simulator.js';

const topics = defineAgent({
  name: 'research.topics',
  description: 'Lists sub-topics of a subject.',
  input: z.object({ subject: z.string().min(1) }),
  output: z.object({ topics: z.array(z.string().min(1)).min(2).max(4) }),
  instructions: 'List the sub-topics.',
});
const score = defineAgent({
  name: 'research.score',
  description: 'Scores one topic from 0 to 1.',
  input: z.object({ topic: z.string().min(1) }),
  output: z.object({ topic: z.string(), score: z.number().min(0).max(1) }),
  instructions: 'Score the topic.',
});
const summary = defineAgent({
  name: 'research.summary',
  description: 'The best of the scores, and how many there were.',
  input: z.object({ scores: z.array(z.object({ topic: z.string(), score: z.number() })) }),
  output: z.object({ best: z.number(), count: z.int() }),
  instructions: 'Summarise the scores.',
});
const triage = defineAgent({
  name: 'support.triage',
  description: 'Sorts a ticket into a queue.',
  input: z.object({ subject: z.string().min(1), body: z.string().min(1), tier: z.enum(['free', 'pro']).default('free') }),
  output: z.object({ queue: z.enum(['billing', 'bug']), urgent: z.boolean() }),
  instructions: 'Triage the ticket.',
});
const reply = defineAgent({
  name: 'support.reply',
  description: 'Drafts a first reply to a ticket.',
  input: z.object({ subject: z.string(), body: z.string() }),
  output: z.object({ reply: z.string().min(1) }),
  instructions: 'Draft a reply.',
});
const counter = defineAgent({
  name: 'counter',
  description: 'Counts to a number.',
  input: z.object({ upTo: z.int().min(3).max(9), label: z.enum(['a', 'b']) }),
  output: z.object({ counted: z.array(z.int()) }),
  instructions: 'Count.',
});

/** The planner's prompt, built as the coordinator builds it, and the plan the simulator answers it with. */
function plan(agents: Agent[], task: string, output?: z.ZodType): { plan: Plan; prompt: string } {
  const catalogue = createRegistry({ agents })
    .list()
    .map(({ name, description, inputSchema, outputSchema }) => ({ name, description, inputSchema, outputSchema }));
  const prompt = plannerAgent.promptFor({ task, agents: catalogue, ...(output ? { output: toJsonSchema(output) } : {}) });
  return { plan: JSON.parse(simulate(prompt)) as Plan, prompt };
}

/** The coordinator's own checks: the plan is valid, and its output step produces the run's output. */
function expectValid(agents: Agent[], value: Plan, output?: z.ZodType) {
  const lookup = (name: string) => agents.find((a) => a.name === name);
  const checked = validatePlan(value, lookup);
  expect(checked.ok ? [] : checked.issues).toEqual([]);
  if (output) expect(checkFinal(value, toJsonSchema(output), lookup)).toEqual([]);
}

describe("the simulator's planner", () => {
  it('plans with a catalogue of one agent: one step, its input from the task', () => {
    const { plan: answer } = plan([topics], 'ocean currents');
    expect(answer).toEqual({ steps: [{ id: 'topics', agent: 'research.topics', input: { subject: 'ocean currents' } }], output: 'topics' });
    expectValid([topics], answer);
  });

  it('wires several agents by their schemas: a fan-out over an array field, the fan-out collected, the output step last', () => {
    const output = z.object({ best: z.number(), count: z.int() });
    // Listed in another order than the data flows: the registry sorts them by name.
    const { plan: answer } = plan([summary, topics, score], 'Score the sub-topics of ocean currents', output);
    expect(answer).toEqual({
      steps: [
        { id: 'topics', agent: 'research.topics', input: { subject: 'Score the sub-topics of ocean currents' } },
        { id: 'score', agent: 'research.score', forEach: { $ref: 'topics.topics' }, input: { topic: { $item: '' } } },
        { id: 'summary', agent: 'research.summary', input: { scores: { $ref: 'score' } } },
      ],
      output: 'summary',
    });
    expectValid([summary, topics, score], answer, output);
  });

  it('fans out over the pieces of the task, by field name, and makes the output step a fan-out when the answer is an array', () => {
    const tickets = [
      { subject: 'Charged twice', body: 'My card was charged twice.' },
      { subject: 'Export broken', body: 'CSV export stops at 1,000 rows.' },
    ];
    const output = z.array(z.object({ reply: z.string() }));
    const agents = [triage, reply];
    const { plan: answer } = plan(agents, `Triage these tickets and reply to each: ${JSON.stringify(tickets)}`, output);
    const item = { subject: { $item: 'subject' }, body: { $item: 'body' } };
    expect(answer).toEqual({
      steps: [
        { id: 'triage', agent: 'support.triage', forEach: tickets, input: item },
        { id: 'reply', agent: 'support.reply', forEach: tickets, input: item },
      ],
      output: 'reply',
    });
    expectValid(agents, answer, output);
  });

  it('picks the agent whose output fits the run output, and fills inputs the task cannot with generated values that fit', () => {
    const agents = [counter, reply, topics];
    const output = z.object({ counted: z.array(z.number()) });
    const { plan: answer } = plan(agents, 'Count, then say hello', output);
    expect(answer.output).toBe('counter');
    expect(answer.steps.at(-1)!.agent).toBe('counter');
    expect(answer.steps.map((s) => s.agent).sort()).toEqual(['counter', 'research.topics', 'support.reply']);
    const { upTo, label } = answer.steps.at(-1)!.input as { upTo: number; label: string };
    expect(Number.isInteger(upTo) && upTo >= 3 && upTo <= 9).toBe(true);
    expect(['a', 'b']).toContain(label);
    expectValid(agents, answer, output);
  });

  it('lists of "- " lines are pieces too; a step id is the last part of the name unless two agents share it', () => {
    const shared = defineAgent({
      name: 'other.reply',
      description: 'Replies in another voice.',
      input: z.object({ text: z.string().min(1) }),
      output: z.object({ reply: z.string() }),
      instructions: 'Reply.',
    });
    const agents = [reply, shared];
    const { plan: answer } = plan(agents, 'Reply to:\n- the refund request\n- the login loop\n');
    expect(answer.steps.map((s) => s.id).sort()).toEqual(['other-reply', 'support-reply']);
    const other = answer.steps.find((s) => s.agent === 'other.reply')!;
    expect(other).toMatchObject({ forEach: ['the refund request', 'the login loop'], input: { text: { $item: '' } } });
    expectValid(agents, answer);
  });

  it('is deterministic, and answers the same on the strict response_format path (OpenAI-compatible)', () => {
    const agents = [summary, topics, score];
    const { plan: answer, prompt } = plan(agents, 'Score the sub-topics of tides');
    expect(JSON.parse(simulate(prompt))).toEqual(answer);
    const input = prompt.slice(prompt.lastIndexOf('# Input'));
    expect(JSON.parse(simulateWithSchema(toJsonSchema(plannerAgent.output), input))).toEqual(answer);
  });

  it('leaves prompts that are not the planner to the schema simulator', () => {
    const text = simulate(topics.promptFor({ subject: 'steps and output' }));
    expect(topics.output.safeParse(JSON.parse(text)).success).toBe(true);
  });
});
