import { AbortError, BudgetExceededError, createCoordinator, createExecutor, defineAgent, type Plan, PlanError, shortApi } from '@shoal/core';
import { type EmulatorRule, type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { until } from './helpers/until.js';

const topics = defineAgent({
  name: 'topics',
  description: 'Lists exactly 50 sub-topics of a subject.',
  input: z.object({ subject: z.string() }),
  output: z.object({ items: z.array(z.string()).min(50).max(50) }),
  instructions: 'TOPICS: list 50 sub-topics of the subject.',
});
const score = defineAgent({
  name: 'score',
  description: 'Scores one item from 0 to 1.',
  input: z.object({ item: z.string() }),
  output: z.object({ score: z.number().min(0).max(1) }),
  instructions: 'SCORE: rate the item from 0 to 1.',
});
const summary = defineAgent({
  name: 'summary',
  description: 'Summarises a list of scores.',
  input: z.object({ scores: z.array(z.object({ score: z.number() }).nullable()) }),
  output: z.object({ best: z.number(), count: z.int() }),
  instructions: 'SUMMARY: give the best score and how many there are.',
});
const agents = [topics, score, summary];

const goodPlan: Plan = {
  steps: [
    { id: 'list', agent: 'topics', input: { subject: 'ocean currents' } },
    { id: 'scores', agent: 'score', forEach: { $ref: 'list.items' }, input: { item: { $item: '' } } },
    { id: 'sum', agent: 'summary', input: { scores: { $ref: 'scores' } } },
  ],
  output: 'sum',
};
const PLANNER = "You are shoal's planner";
const agentOf = (prompt: string) =>
  prompt.startsWith('TOPICS')
    ? 'topics'
    : prompt.startsWith('SCORE')
      ? 'score'
      : prompt.startsWith('SUMMARY')
        ? 'summary'
        : prompt.includes(PLANNER)
          ? 'planner'
          : 'other';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(
  rules: EmulatorRule[],
  concurrency = 6,
): Promise<{ emulator: ShortApiEmulator; coordinator: ReturnType<typeof createCoordinator>; executor: ReturnType<typeof createExecutor> }> {
  const emulator = await startShortApiEmulator({ latencyMs: { min: 5, max: 25 }, rules });
  closers.push(() => emulator.close());
  // No dedup: the simulator's 50 items may repeat, and every sub-call should reach the emulator here.
  const executor = createExecutor({
    provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }),
    concurrency,
    cache: false,
    dedupe: false,
  });
  closers.push(() => executor.close({ drain: false }));
  return { emulator, executor, coordinator: createCoordinator({ executor, agents }) };
}

describe('the coordinator on the emulator', () => {
  it('plans, fans out into 50 sub-agent calls with bounded concurrency, and no step starts before its inputs exist', async () => {
    const { emulator, coordinator } = await setup([{ match: PLANNER, reply: JSON.stringify(goodPlan) }]);
    const result = await coordinator.run('Score the sub-topics of ocean currents and tell me the best.', {
      output: z.object({ best: z.number(), count: z.int() }),
    });
    expect(result.output).toEqual({ best: expect.any(Number), count: expect.any(Number) });
    expect(result.steps.scores).toHaveLength(50);
    const jobs = emulator.jobs.map((j) => ({ agent: agentOf(j.prompt), created: j.createdAt, finished: j.finishedAt! }));
    expect(jobs.filter((j) => j.agent === 'score')).toHaveLength(50);
    const list = jobs.find((j) => j.agent === 'topics')!;
    const scores = jobs.filter((j) => j.agent === 'score');
    const sum = jobs.find((j) => j.agent === 'summary')!;
    const planner = jobs.find((j) => j.agent === 'planner')!;
    expect(list.created).toBeGreaterThanOrEqual(planner.finished);
    for (const s of scores) expect(s.created).toBeGreaterThanOrEqual(list.finished);
    expect(sum.created).toBeGreaterThanOrEqual(Math.max(...scores.map((s) => s.finished)));
    expect(emulator.stats().peakRunning).toBeLessThanOrEqual(6);
    // Calls, cost by agent, trace.
    expect(result.agentCalls).toBe(53);
    expect(Object.keys(result.costByAgent).sort()).toEqual(['score', 'shoal.planner', 'summary', 'topics']);
    expect(result.costUsd).toBeCloseTo(
      emulator.jobs.reduce((s, j) => s + Number(j.amountUsd), 0),
      9,
    );
    const spans = result.trace.toJSON().spans;
    const root = spans.find((s) => s.kind === 'run')!;
    expect(spans.filter((s) => s.kind === 'step').map((s) => s.name)).toEqual(['plan', 'list', 'scores', 'sum']);
    expect(spans.filter((s) => s.kind === 'agent-call')).toHaveLength(53);
    const jobSpans = spans.filter((s) => s.kind === 'model-job');
    expect(jobSpans.map((s) => s.attributes.jobId).sort()).toEqual(emulator.jobs.map((j) => j.id).sort());
    for (const s of jobSpans) {
      expect(s.status).toBe('ok');
      expect(spans.find((p) => p.id === s.parentId)!.kind).toBe('agent-call');
      expect(s.attributes).toMatchObject({ attempts: 1, polls: expect.any(Number), costUsd: expect.any(Number) });
    }
    expect(spans.filter((s) => s.kind === 'step').every((s) => s.parentId === root.id)).toBe(true);
    expect(JSON.parse(JSON.stringify(result.trace)).spans).toHaveLength(spans.length);
  });

  it('repairs a bad plan from its errors', async () => {
    const badPlan = { ...goodPlan, steps: goodPlan.steps.map((s) => (s.id === 'scores' ? { ...s, agent: 'scorer' } : s)) };
    const { emulator, coordinator } = await setup([
      { match: PLANNER, reply: (prompt) => JSON.stringify(prompt.includes('"problems":[') ? goodPlan : badPlan) },
    ]);
    const result = await coordinator.run('Score the sub-topics.');
    expect(result.steps.scores).toHaveLength(50);
    const plannerJobs = emulator.jobs.filter((j) => agentOf(j.prompt) === 'planner');
    expect(plannerJobs).toHaveLength(2);
    expect(plannerJobs[1]!.prompt).toContain('unknown agent `scorer`');
  });

  it('ends an unrepairable plan in PlanError without running a step', async () => {
    const cyclic = {
      steps: [
        { id: 'a', agent: 'score', input: { item: { $ref: 'b.score' } } },
        { id: 'b', agent: 'score', input: { item: { $ref: 'a.score' } } },
      ],
      output: 'a',
    };
    const { emulator, coordinator } = await setup([{ match: PLANNER, reply: JSON.stringify(cyclic) }]);
    const error = (await coordinator.run('Loop forever.').catch((e: unknown) => e)) as PlanError;
    expect(PlanError.isInstance(error)).toBe(true);
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/depend on each other in a cycle/);
    expect(emulator.jobs.every((j) => agentOf(j.prompt) === 'planner')).toBe(true);
    expect(emulator.jobs).toHaveLength(3);
  });

  it('dispatches the higher-priority run first when two runs share one executor', async () => {
    // The gate job holds the one slot until finish(): every sub-call of both runs is queued behind it by then.
    const { emulator, coordinator, executor } = await setup([{ match: 'gate', reply: { text: 'ok', latencyMs: 60_000 } }], 1);
    const fanOut = (prefix: string): Plan => ({
      steps: [{ id: 'all', agent: 'score', forEach: Array.from({ length: 8 }, (_, i) => `${prefix}${i}`), input: { item: { $item: '' } } }],
      output: 'all',
    });
    // The gate holds the only slot, so both runs' calls wait in the queue together.
    const gate = executor.complete({ prompt: 'gate' });
    await until(() => emulator.jobs.length === 1);
    const low = coordinator.execute(fanOut('low-'), { priority: 0 });
    const high = coordinator.execute(fanOut('high-'), { priority: 5 });
    await until(() => executor.metrics().queued === 16);
    expect(emulator.finish(emulator.jobs[0]!.id)).toBe(true);
    await Promise.all([gate, low, high]);
    const order = emulator.jobs.map((j) => (j.prompt.includes('"high-') ? 'high' : j.prompt.includes('"low-') ? 'low' : 'gate'));
    expect(order).toEqual(['gate', ...Array(8).fill('high'), ...Array(8).fill('low')]);
  });

  it('cancels every queued and running sub-call when the run is aborted', async () => {
    // Jobs run until the test ends: four are made (the concurrency), 36 sub-calls wait in the queue.
    const { emulator, coordinator, executor } = await setup([{ match: 'SCORE', reply: { text: '{"score":0.5}', latencyMs: 60_000 } }], 4);
    const controller = new AbortController();
    const plan: Plan = {
      steps: [{ id: 'all', agent: 'score', forEach: Array.from({ length: 40 }, (_, i) => `x${i}`), input: { item: { $item: '' } } }],
      output: 'all',
    };
    const running = coordinator.execute(plan, { signal: controller.signal });
    await until(() => emulator.jobs.length === 4 && executor.metrics().queued === 36);
    controller.abort();
    await expect(running).rejects.toSatisfy(AbortError.isInstance);
    // The queue is emptied at once; the running sub-calls unwind (a wait that never ends fails by the test's timeout).
    expect(executor.metrics().queued).toBe(0);
    await until(() => executor.metrics().running === 0);
    // Nothing queued or running is left to send: only the four jobs made before the abort exist.
    expect(executor.metrics().queued).toBe(0);
    expect(emulator.jobs.length).toBe(4);
  });

  it('stops the run cleanly when its budget is spent, saying what it spent', async () => {
    const { emulator, coordinator } = await setup([{ match: 'SCORE', reply: { text: '{"score":0.5}', usage: { inputTokens: 10_000, outputTokens: 0 } } }], 2);
    const plan: Plan = {
      steps: [{ id: 'all', agent: 'score', forEach: Array.from({ length: 30 }, (_, i) => `x${i}`), input: { item: { $item: '' } } }],
      output: 'all',
    };
    // Each call costs $0.002 (server amount): a $0.005 budget allows two, and a third may pass it by one call.
    const error = (await coordinator.execute(plan, { budgetUsd: 0.005 }).catch((e: unknown) => e)) as BudgetExceededError;
    expect(error).toSatisfy(BudgetExceededError.isInstance);
    expect(error.spentUsd).toBeGreaterThanOrEqual(0.005);
    expect(error.spentUsd).toBeLessThanOrEqual(0.007 + 1e-12);
    expect(emulator.jobs.length).toBe(3);
  });

  it('skips a failing step under the skip policy: dependants see null', async () => {
    const { coordinator } = await setup([{ match: 'SCORE', reply: { fail: 'backend down' } }]);
    const plan: Plan = {
      steps: [
        { id: 'one', agent: 'score', input: { item: 'x' }, onError: 'skip' },
        { id: 'sum', agent: 'summary', input: { scores: [{ $ref: 'one' }] } },
      ],
      output: 'sum',
    };
    const result = await coordinator.execute(plan);
    expect(result.steps.one).toBeNull();
    expect(result.trace.spans.find((s) => s.name === 'one')!.status).toBe('skipped');
  });

  it('offers code-first map, reduce, sequence and parallel on the same executor and trace', async () => {
    const { coordinator } = await setup([]);
    const flow = coordinator.flow({ priority: 1 });
    const scored = await flow.map(score, [{ item: 'a' }, { item: 'b' }, { item: 'c' }]);
    expect(scored).toHaveLength(3);
    const folded: number[] = [];
    const total = await flow.reduce(score, ['p', 'q'], 10, {
      input: (_acc, item) => ({ item: String(item) }),
      next: (out, acc) => {
        folded.push(out.score);
        return acc + out.score;
      },
    });
    expect(folded).toHaveLength(2); // one call per element, each folded once, onto the initial value
    expect(total).toBe(10 + folded[0]! + folded[1]!);
    const [x, y] = await flow.parallel([() => flow.run(score, { item: 'x' }), () => flow.run(topics, { subject: 's' })] as const);
    expect(typeof x.score).toBe('number');
    expect(y.items).toHaveLength(50);
    const last = await flow.sequence(
      () => flow.run(topics, { subject: 't' }),
      (previous) => flow.run(score, { item: (previous as { items: string[] }).items[0]! }),
    );
    expect(last).toMatchObject({ score: expect.any(Number) });
    flow.end();
    const totals = flow.result();
    expect(totals.agentCalls).toBe(3 + 2 + 2 + 2);
    expect(totals.trace.spans.filter((s) => s.kind === 'model-job')).toHaveLength(9);
  });
});

describe('the coordinator at the edges: close, reasonless aborts, defaulted inputs, $item paths, spans on failure', () => {
  it('detaches from the executor on close', async () => {
    const { executor } = await setup([]);
    const before = executor.events.listenerCount('call-end');
    const coordinator = createCoordinator({ executor, agents });
    expect(executor.events.listenerCount('call-end')).toBe(before + 1);
    coordinator.close();
    expect(executor.events.listenerCount('call-end')).toBe(before);
  });

  it('treats an abort without a reason as cancellation, never as a skipped step', async () => {
    const { coordinator } = await setup([]);
    const controller = new AbortController();
    controller.abort();
    const plan: Plan = { steps: [{ id: 'one', agent: 'score', input: { item: 'x' }, onError: 'skip' }], output: 'one' };
    await expect(coordinator.execute(plan, { signal: controller.signal })).rejects.toSatisfy(AbortError.isInstance);
  });

  it('accepts a plan that leaves out an input field with a default, and an int where a number is asked', async () => {
    const withDefault = defineAgent({
      name: 'with-default',
      description: 'Has a defaulted field.',
      input: z.object({ text: z.string(), lang: z.string().default('en') }),
      output: z.object({ count: z.int() }),
      instructions: 'COUNT: count the words.',
    });
    const emulator = await startShortApiEmulator({ latencyMs: 2 });
    closers.push(() => emulator.close());
    const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 2 } }) });
    closers.push(() => executor.close());
    const coordinator = createCoordinator({ executor, agents: [withDefault] });
    const result = await coordinator.execute(
      { steps: [{ id: 'c', agent: 'with-default', input: { text: 'a b c' } }], output: 'c' },
      { output: z.object({ count: z.number() }) },
    );
    expect(typeof result.output.count).toBe('number');
  });

  it('rejects $item paths that do not parse or do not exist in the elements', async () => {
    const { coordinator } = await setup([]);
    const plan = {
      steps: [
        { id: 'list', agent: 'topics', input: { subject: 's' } },
        { id: 'bad', agent: 'score', forEach: { $ref: 'list.items' }, input: { item: { $item: 'nope..x' } } },
        { id: 'worse', agent: 'score', forEach: { $ref: 'list.items' }, input: { item: { $item: 'title' } } },
      ],
      output: 'list',
    } as Plan;
    const error = (await coordinator.execute(plan).catch((e: unknown) => e)) as PlanError;
    expect(error.issues.map((i) => i.step)).toEqual(expect.arrayContaining(['bad', 'worse']));
  });

  it('ends every span before the run ends when a fan-out element fails', async () => {
    const { coordinator } = await setup([{ match: '"x3"', reply: { fail: 'broken' } }], 2);
    const plan: Plan = {
      steps: [{ id: 'all', agent: 'score', forEach: Array.from({ length: 12 }, (_, i) => `x${i}`), input: { item: { $item: '' } } }],
      output: 'all',
    };
    const open = new Set<string>();
    let stillOpenAtRunEnd = -1;
    coordinator.events.on('span-start', (span) => open.add(span.id));
    coordinator.events.on('span-end', (span) => {
      open.delete(span.id);
      if (span.kind === 'run') stillOpenAtRunEnd = open.size;
    });
    const error = await coordinator.execute(plan).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/Step `all` failed/);
    expect(stillOpenAtRunEnd).toBe(0);
  });
});

describe('plan validation', () => {
  it('names every problem before anything runs', async () => {
    const { coordinator, emulator } = await setup([]);
    const bad = {
      steps: [
        { id: 'a', agent: 'nope', input: {} },
        { id: 'b', agent: 'score', input: { item: 42 } },
        { id: 'c', agent: 'summary', input: { scores: { $ref: 'missing.x' } } },
        { id: 'd', agent: 'score', forEach: { $ref: 'b.score' }, input: { item: { $item: '' } } },
        { id: 'e', agent: 'score', input: { item: { $ref: 'b.nothere' } } },
      ],
      output: 'zz',
    } as unknown as Plan;
    const error = (await coordinator.execute(bad).catch((e: unknown) => e)) as PlanError;
    expect(PlanError.isInstance(error)).toBe(true);
    const messages = error.issues.map((i) => `${i.step ?? '-'}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^a: unknown agent `nope`/),
        expect.stringMatching(/^b: input.item: /),
        expect.stringMatching(/^c: input.scores refers to a missing step `missing`/),
        expect.stringMatching(/^d: forEach must refer to an array/),
        expect.stringMatching(/^e: input.item: `b`'s output has no path .nothere/),
        expect.stringMatching(/^-: output names a missing step `zz`/),
      ]),
    );
    expect(emulator.jobs).toHaveLength(0);
  });
});
