import { expectTypeOf, test } from 'vitest';
import { type CompletionResult, createExecutor, type Executor, RateLimitError, ShoalError, type ShoalErrorCode } from '../src/index.js';
import { scriptedProvider } from '../src/testing/index.js';

test('executor types', () => {
  const executor = createExecutor({ provider: scriptedProvider([{ reply: 'x' }]) });
  expectTypeOf(executor).toEqualTypeOf<Executor>();
  expectTypeOf(executor.complete({ prompt: 'p' })).resolves.toEqualTypeOf<CompletionResult>();
  expectTypeOf<CompletionResult['jobId']>().toEqualTypeOf<string | undefined>();
  // @ts-expect-error prompt is required
  void executor.complete({});
  // @ts-expect-error unknown call option
  void executor.complete({ prompt: 'p' }, { priorty: 1 });
  // @ts-expect-error provider is required
  createExecutor({ concurrency: 4 });
  executor.events.on('call-end', (event) => {
    expectTypeOf(event.costUsd).toBeNumber();
    expectTypeOf(event.jobId).toEqualTypeOf<string | undefined>();
  });
  // @ts-expect-error not an executor event
  executor.events.on('call-finished', () => {});
});

test('error narrowing', () => {
  const error: unknown = new Error('x');
  if (RateLimitError.isInstance(error)) expectTypeOf(error.retryAfterMs).toEqualTypeOf<number | undefined>();
  if (ShoalError.isInstance(error)) expectTypeOf(error.code).toEqualTypeOf<ShoalErrorCode>();
});

import { z } from 'zod';
import { type AgentRunResult, defineAgent, type InferAgentInput, type InferAgentOutput } from '../src/index.js';

test('agent types are inferred from the zod schemas', () => {
  const agent = defineAgent({
    name: 'typed',
    description: 'd',
    input: z.object({ text: z.string(), limit: z.number().default(3) }),
    output: z.object({ label: z.enum(['a', 'b']), tags: z.array(z.string()), note: z.string().optional() }),
    instructions: 'i',
  });
  type Out = InferAgentOutput<typeof agent>;
  expectTypeOf<Out>().toEqualTypeOf<{ label: 'a' | 'b'; tags: string[]; note?: string | undefined }>();
  expectTypeOf<InferAgentInput<typeof agent>>().toEqualTypeOf<{ text: string; limit?: number | undefined }>();
  const executor = createExecutor({ provider: scriptedProvider([{ reply: '{}' }]) });
  expectTypeOf(agent.run({ text: 'x' }, { executor })).resolves.toEqualTypeOf<AgentRunResult<Out>>();
  // @ts-expect-error input must match the input schema
  void agent.run({ txt: 'x' }, { executor });
  // @ts-expect-error the executor is required
  void agent.run({ text: 'x' }, {});
  defineAgent({
    name: 'ex',
    description: 'd',
    input: z.object({ a: z.string() }),
    output: z.object({ b: z.number() }),
    instructions: 'i',
    // @ts-expect-error examples must match the output type
    examples: [{ input: { a: 'x' }, output: { b: 'not a number' } }],
  });
});

import { createCoordinator, type RunResult } from '../src/index.js';

test('a coordinator run is typed by its output schema', () => {
  const executor = createExecutor({ provider: scriptedProvider([{ reply: '{}' }]) });
  const coordinator = createCoordinator({ executor });
  const output = z.object({ best: z.number(), count: z.int() });
  expectTypeOf(coordinator.run('task', { output })).resolves.toEqualTypeOf<RunResult<{ best: number; count: number }>>();
  expectTypeOf(coordinator.run('task')).resolves.toEqualTypeOf<RunResult<unknown>>();
});
