import { APICallError, type LanguageModelV3CallOptions, type LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import { createExecutor, type Executor, type ExecutorOptions } from '@shoal/core';
import { MockLanguageModelV3 } from 'ai/test';
import { afterEach } from 'vitest';
import { type AiSdkOptions, aiSdk } from '../src/index.js';

/** What the unit tests share: the AI SDK's own mock model behind a real executor, and the results and errors a model gives. */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

export type Step = LanguageModelV3GenerateResult | Error | ((options: LanguageModelV3CallOptions) => PromiseLike<LanguageModelV3GenerateResult>);

/** A mock model that gives each step in turn (a result, or an error thrown), the last one again once they run out. */
export function mockModel(steps: readonly Step[], modelId = 'mock-model'): MockLanguageModelV3 {
  let next = 0;
  return new MockLanguageModelV3({
    provider: 'mock.chat',
    modelId,
    doGenerate: async (options) => {
      const step = steps[Math.min(next++, steps.length - 1)]!;
      if (step instanceof Error) throw step;
      return typeof step === 'function' ? step(options) : step;
    },
  });
}

/** An executor on `aiSdk(model, options)`, closed after the test; retries without waiting (jitter drawn as 0). */
export function executorOn(model: MockLanguageModelV3, options?: AiSdkOptions, executorOptions: Omit<ExecutorOptions, 'provider'> = {}): Executor {
  const executor = createExecutor({ provider: aiSdk(model, options), cache: false, random: () => 0, ...executorOptions });
  closers.push(() => executor.close());
  return executor;
}

export function v3Usage(input: number | undefined, cached: number | undefined, output: number | undefined): LanguageModelV3GenerateResult['usage'] {
  return {
    inputTokens: { total: input, noCache: input === undefined ? undefined : input - (cached ?? 0), cacheRead: cached, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

export function answer(text: string, usage = v3Usage(100, 0, 10)): LanguageModelV3GenerateResult {
  return {
    content: [{ type: 'text', text }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage,
    response: { modelId: 'mock-model-2025' },
    warnings: [],
  };
}

/** An `APICallError` as the SDK's providers make it for an HTTP answer (`isRetryable` left to the SDK's default unless given). */
export function apiError(
  statusCode: number | undefined,
  fields: { body?: string; headers?: Record<string, string>; isRetryable?: boolean; cause?: unknown; message?: string; url?: string } = {},
): APICallError {
  return new APICallError({
    message: fields.message ?? `HTTP ${statusCode}`,
    url: fields.url ?? 'https://api.example.test/v1/chat/completions',
    requestBodyValues: { model: 'mock-model' },
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(fields.headers ? { responseHeaders: fields.headers } : {}),
    ...(fields.body === undefined ? {} : { responseBody: fields.body }),
    ...(fields.isRetryable === undefined ? {} : { isRetryable: fields.isRetryable }),
    ...(fields.cause === undefined ? {} : { cause: fields.cause }),
  });
}
