import { createCoordinator, createExecutor, defineAgent, type Executor, openAICompatible, shortApi } from '@shoal/core';
import { startOpenAICompatibleServer, startShortApiEmulator } from '@shoal/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

/**
 * coordinator.run(task) with no rule standing in for the planner: the emulator's simulator
 * plans from the catalogue in the planner's prompt, over real HTTP on 127.0.0.1, and the
 * plan runs through the agents (the README's coordinator example, offline).
 */
const topics = defineAgent({
  name: 'topics',
  description: 'Lists the sub-topics of a subject.',
  input: z.object({ subject: z.string().min(1) }),
  output: z.object({ topics: z.array(z.string().min(1)).min(3).max(5) }),
  instructions: 'List the sub-topics of the subject.',
});
const score = defineAgent({
  name: 'score',
  description: 'Scores how well-studied one topic is, from 0 to 1.',
  input: z.object({ topic: z.string().min(1) }),
  output: z.object({ topic: z.string(), score: z.number().min(0).max(1) }),
  instructions: 'Score the topic from 0 (unknown) to 1 (well studied).',
});
const summary = defineAgent({
  name: 'summary',
  description: 'The best score of a list, and how many scores there are.',
  input: z.object({ scores: z.array(z.object({ topic: z.string(), score: z.number() })) }),
  output: z.object({ best: z.number(), count: z.int() }),
  instructions: 'Give the best score and the count.',
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

async function runOcean(executor: Executor) {
  const coordinator = createCoordinator({ executor, agents: [topics, score, summary] });
  closers.push(async () => coordinator.close());
  return coordinator.run('Score the sub-topics of ocean currents', {
    output: z.object({ best: z.number(), count: z.int() }),
    budgetUsd: 0.5,
    priority: 2,
  });
}

describe('the coordinator offline: the simulator plans', () => {
  it('on the ShortAPI emulator: plans once, fans out over the listed topics and answers from the summary agent', async () => {
    const emulator = await startShortApiEmulator({ latencyMs: { min: 5, max: 20 }, seed: 7 });
    closers.push(() => emulator.close());
    const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }) });
    closers.push(() => executor.close());

    const run = await runOcean(executor);

    expect(run.plan?.steps.map((s) => [s.id, s.agent, s.forEach ?? null])).toEqual([
      ['topics', 'topics', null],
      ['score', 'score', { $ref: 'topics.topics' }],
      ['summary', 'summary', null],
    ]);
    expect(run.plan?.output).toBe('summary');
    // Every step's output came from its agent, and the data flowed: one score per listed topic, the summary over them.
    const listed = (run.steps.topics as { topics: string[] }).topics;
    expect(listed.length).toBeGreaterThanOrEqual(3);
    expect(run.steps.score).toHaveLength(listed.length);
    for (const s of run.steps.score as unknown[]) expect(score.output.safeParse(s).success).toBe(true);
    expect(run.output).toEqual(run.steps.summary);
    expect(summary.output.safeParse(run.output).success).toBe(true);
    const prompts = emulator.jobs.map((j) => j.prompt);
    for (const topic of listed) expect(prompts.some((p) => p.startsWith(score.prefix) && p.includes(JSON.stringify({ topic })))).toBe(true);
    expect(prompts.filter((p) => p.startsWith(summary.prefix))).toHaveLength(1);
    expect(prompts.find((p) => p.startsWith(summary.prefix))).toContain(JSON.stringify(run.steps.score));
    // One planner call (its plan passed the check the first time), then 1 + n + 1 agent calls; every job booked.
    expect(prompts.filter((p) => p.includes("You are shoal's planner"))).toHaveLength(1);
    expect(run.agentCalls).toBe(1 + 1 + listed.length + 1);
    expect(emulator.jobs).toHaveLength(run.modelCalls);
    expect(Object.keys(run.costByAgent).sort()).toEqual(['score', 'shoal.planner', 'summary', 'topics']);
    expect(run.costUsd).toBeCloseTo(
      emulator.jobs.reduce((sum, j) => sum + Number(j.amountUsd), 0),
      9,
    );
  });

  it('on the OpenAI-compatible server: the same plan, the same run', async () => {
    const server = await startOpenAICompatibleServer();
    closers.push(() => server.close());
    const executor = createExecutor({
      provider: openAICompatible({ baseURL: server.url, model: 'simulated', pricing: { inputPerMillionUsd: 0.2, outputPerMillionUsd: 1.25 } }),
    });
    closers.push(() => executor.close());

    const run = await runOcean(executor);

    expect(run.plan?.steps.map((s) => s.agent)).toEqual(['topics', 'score', 'summary']);
    const listed = (run.steps.topics as { topics: string[] }).topics;
    expect(run.steps.score).toHaveLength(listed.length);
    expect(summary.output.safeParse(run.output).success).toBe(true);
    expect(server.requests.filter((r) => r.prompt.includes("You are shoal's planner"))).toHaveLength(1);
    expect(server.requests.every((r) => r.status === 200)).toBe(true);
  });
});
