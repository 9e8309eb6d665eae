import { expectTypeOf, test } from 'vitest';
import { createExecutor, type CompletionResult, type Executor, type ShoalErrorCode, RateLimitError, ShoalError } from '../src/index.js';
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
