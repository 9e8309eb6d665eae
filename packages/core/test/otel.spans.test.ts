import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { createCoordinator } from '../src/coordinator/coordinator.js';
import type { Plan } from '../src/coordinator/plan.js';
import { createExecutor, type Executor } from '../src/executor/executor.js';
import { openTelemetry } from '../src/otel/index.js';
import { modelFacts } from '../src/otel/semconv.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';
import { memoryTracing } from './otel-sdk.js';

const TASK = 'Score the private words of the tide';

const lister = defineAgent({
  name: 'lister',
  description: 'Lists two words.',
  input: z.object({ theme: z.string() }),
  output: z.object({ words: z.array(z.string()) }),
  instructions: 'LIST two words.',
});
const scorer = defineAgent({
  name: 'scorer',
  description: 'Scores one word.',
  input: z.object({ word: z.string() }),
  output: z.object({ score: z.number() }),
  instructions: 'SCORE the word.',
  maxAttempts: 1,
});
const plan: Plan = {
  steps: [
    { id: 'list', agent: 'lister', input: { theme: 'tide' } },
    { id: 'scores', agent: 'scorer', forEach: { $ref: 'list.words' }, input: { word: { $item: '' } } },
  ],
  output: 'scores',
};

const executors: Executor[] = [];
afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.close({ drain: false });
});

/** A coordinator on a scripted model: the planner answers `plan`, scoring `bad` answers prose. */
function setup(options: { recordContent?: boolean; cache?: boolean } = {}) {
  const executor = createExecutor({
    provider: scriptedProvider([
      { match: "shoal's planner", reply: JSON.stringify(plan) },
      { match: 'LIST', reply: '{"words":["good","bad"]}' },
      { match: '"bad"', reply: 'no score for that one' },
      { match: 'SCORE', reply: '{"score":1}' },
    ]),
    cache: options.cache ?? false,
  });
  executors.push(executor);
  const tracing = memoryTracing();
  const telemetry = openTelemetry({ tracerProvider: tracing.provider, ...(options.recordContent ? { recordContent: true } : {}) });
  const coordinator = createCoordinator({ executor, agents: [lister, scorer], telemetry });
  const spans = async () => {
    await tracing.provider.forceFlush();
    return tracing.spans();
  };
  return { coordinator, spans };
}

const parentOf = (spans: readonly ReadableSpan[], span: ReadableSpan) => spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);

describe('@shoal/core/otel: how shoal spans map onto OpenTelemetry', () => {
  it('names the planner step a `plan` span, and a failed step, agent call and run ERROR with the error code as error.type', async () => {
    const { coordinator, spans } = setup();
    await expect(coordinator.run(TASK)).rejects.toMatchObject({ code: 'STEP_FAILED' });
    const all = await spans();
    const planning = all.find((s) => s.name === 'plan shoal.planner')!;
    expect(planning.kind).toBe(SpanKind.INTERNAL);
    expect(planning.attributes).toMatchObject({ 'gen_ai.operation.name': 'plan', 'gen_ai.agent.name': 'shoal.planner', 'shoal.plan.steps': 2 });
    expect(parentOf(all, all.find((s) => s.name === 'invoke_agent shoal.planner')!)).toBe(planning);
    expect(all.find((s) => s.name === 'text_completion scripted' && s.attributes['gen_ai.agent.name'] === 'shoal.planner')).toBeDefined();

    const failures = all.filter((s) => s.status.code === SpanStatusCode.ERROR).map((s) => [s.name, s.attributes['error.type']]);
    expect(failures).toEqual(
      expect.arrayContaining([
        ['invoke_agent scorer', 'STRUCTURED_OUTPUT_INVALID'],
        ['step scores', 'STRUCTURED_OUTPUT_INVALID'],
        ['invoke_workflow run', 'STEP_FAILED'],
      ]),
    );
    const run = all.find((s) => s.name === 'invoke_workflow run')!;
    expect(run.status.message).toMatch(/^STEP_FAILED: Step `scores` failed/);
    // The task is content: not exported unless asked.
    expect(JSON.stringify(all.map((s) => s.attributes))).not.toContain(TASK);
  });

  it('leaves a step skipped under its policy without an error status, and records the task when asked', async () => {
    const { coordinator, spans } = setup({ recordContent: true });
    const skipping: Plan = { steps: [{ id: 'one', agent: 'scorer', input: { word: 'bad' }, onError: 'skip' }], output: 'one' };
    const result = await coordinator.execute(skipping);
    expect(result.output).toBeNull();
    const all = await spans();
    const step = all.find((s) => s.name === 'step one')!;
    expect(step.status.code).toBe(SpanStatusCode.UNSET);
    expect(step.attributes).toMatchObject({ 'shoal.step.skipped_error': 'STRUCTURED_OUTPUT_INVALID' });
    expect(step.attributes['error.type']).toBeUndefined();
    expect(all.find((s) => s.name === 'invoke_workflow run')!.status.code).toBe(SpanStatusCode.UNSET);

    const { coordinator: planning, spans: planned } = setup({ recordContent: true });
    await planning.run(TASK).catch(() => {});
    const workflow = (await planned()).find((s) => s.name === 'invoke_workflow run')!;
    expect(JSON.parse(workflow.attributes['gen_ai.input.messages'] as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: TASK }] }]);
  });

  it('marks an agent call answered from the result cache, which has no model span; its model jobs carry their queue wait', async () => {
    const { coordinator, spans } = setup({ cache: true });
    const flow = coordinator.flow();
    await flow.run(scorer, { word: 'good' });
    await flow.run(scorer, { word: 'good' });
    const { trace } = flow.result();
    flow.end();
    const [first, second] = trace.spans.filter((s) => s.kind === 'agent-call');
    expect(first!.attributes.cached).toBeUndefined();
    expect(second!.attributes).toMatchObject({ cached: true, priority: 0, provider: 'scripted', model: 'scripted' });
    expect(trace.spans.find((s) => s.kind === 'model-job')!.attributes.queuedMs).toEqual(expect.any(Number));

    const all = await spans();
    const calls = all.filter((s) => s.name === 'invoke_agent scorer').sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(calls.map((s) => s.attributes['shoal.cached'])).toEqual([undefined, true]);
    expect(all.filter((s) => parentOf(all, s) === calls[1])).toEqual([]);
    expect(all.find((s) => parentOf(all, s) === calls[0])).toMatchObject({
      name: 'text_completion scripted',
      attributes: { 'shoal.queue_wait_ms': expect.any(Number) },
    });
    expect(all.find((s) => s.name === 'step scorer')!.attributes).toMatchObject({ 'shoal.step.stage': 0 });
  });

  it("names the model operation by the provider's wire protocol", () => {
    expect(modelFacts({ name: 'openai-compatible', model: 'gpt-4.1-mini' })).toEqual({ operation: 'chat', provider: 'openai', model: 'gpt-4.1-mini' });
    expect(modelFacts({ name: 'shortapi', model: 'openai/gpt-5.4-nano' })).toEqual({
      operation: 'text_completion',
      provider: 'shortapi',
      model: 'openai/gpt-5.4-nano',
    });
  });
});
