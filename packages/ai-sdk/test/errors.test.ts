import { inspect } from 'node:util';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { type LanguageModelV3CallOptions, LoadAPIKeyError, TypeValidationError } from '@ai-sdk/provider';
import { type ProviderCallContext, RateLimitError, type ShoalError, TimeoutError } from '@shoal/core';
import { manualClock } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { aiSdk } from '../src/index.js';
import { modelSecrets } from '../src/secrets.js';
import { answer, apiError, executorOn, mockModel } from './helpers.js';

/** What a call's failures become: each attempt is one doGenerate of the mock, so the calls it saw are the attempts made. */
async function failure(steps: Parameters<typeof mockModel>[0], retry = { maxAttempts: 3 }) {
  const model = mockModel(steps);
  const executor = executorOn(model, undefined, { retry });
  const outcome = await executor.complete({ prompt: 'p' }).then(
    (result) => ({ result, error: undefined }),
    (error: ShoalError) => ({ result: undefined, error }),
  );
  return { ...outcome, attempts: model.doGenerateCalls.length, metrics: executor.metrics() };
}

function context(signal = new AbortController().signal, answers: number[] = []): ProviderCallContext {
  return {
    signal,
    callId: 'c1',
    idempotencyKey: 'k1',
    attempt: 1,
    retryPoll: () => ({ retry: false, delayMs: 0 }),
    onAnswer: (status) => answers.push(status),
  };
}

describe('AI SDK errors as shoal errors, through a real executor', () => {
  it('429 then an answer: RateLimitError, retried after its Retry-After; the executor hears both answers', async () => {
    const { result, attempts, metrics } = await failure([apiError(429, { headers: { 'retry-after': '0' } }), answer('ok')]);
    expect(result?.text).toBe('ok');
    expect(result?.attempts).toBe(2);
    expect(attempts).toBe(2);
    expect(metrics).toMatchObject({ rateLimited: 1, retries: 1, requests: 2 });
  });

  it("429's Retry-After (seconds or ms, any case) is read from the SDK's response headers", async () => {
    const provider = aiSdk(mockModel([apiError(429, { headers: { 'Retry-After': '2' } })]));
    const answers: number[] = [];
    const error = await provider.doComplete({ prompt: 'p' }, context(undefined, answers)).catch((e: unknown) => e);
    expect(RateLimitError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ retryAfterMs: 2000, status: 429, retryable: true });
    expect(answers).toEqual([429]);
    const ms = await aiSdk(mockModel([apiError(429, { headers: { 'retry-after-ms': '150' } })]))
      .doComplete({ prompt: 'p' }, context())
      .catch((e: unknown) => e);
    expect(ms).toMatchObject({ retryAfterMs: 150 });
  });

  it('5xx then an answer: ServerError, retried', async () => {
    const { result, attempts } = await failure([apiError(503, { body: '{"error":{"message":"overloaded"}}' }), answer('ok')]);
    expect(result?.attempts).toBe(2);
    expect(attempts).toBe(2);
  });

  it('5xx every time: RetriesExhaustedError after maxAttempts, each a ServerError', async () => {
    const { error, attempts } = await failure([apiError(500)], { maxAttempts: 3 });
    expect(error).toMatchObject({ code: 'RETRIES_EXHAUSTED' });
    expect(attempts).toBe(3);
  });

  it('400: ApiError, one attempt, the body quoted', async () => {
    const { error, attempts } = await failure([apiError(400, { body: '{"error":{"message":"max_tokens is too large"}}' })]);
    expect(error).toMatchObject({ code: 'API_ERROR', status: 400, retryable: false, fault: 'service' });
    expect(error!.message).toMatch(/AI SDK provider "mock\.chat" request for "mock-model" answered HTTP 400: .*max_tokens is too large/);
    expect(attempts).toBe(1);
  });

  it('401 and 403: AuthError, one attempt, the key not quoted', async () => {
    for (const status of [401, 403]) {
      const { error, attempts } = await failure([apiError(status, { body: 'Incorrect API key provided: sk-test-1234567890abcdef' })]);
      expect(error).toMatchObject({ code: 'AUTH_FAILED', status, fault: 'caller' });
      expect(error!.message).not.toContain('sk-test');
      expect(error!.message).toMatch(/refused the key.*check the API key given to the AI SDK provider/);
      expect(attempts).toBe(1);
    }
  });

  it("the provider's isRetryable wins over the status: a 429 it calls final is not retried, a 408 it calls transient is", async () => {
    const quota = await failure([apiError(429, { isRetryable: false, body: '{"error":{"code":"insufficient_quota"}}' }), answer('ok')]);
    expect(quota.error).toMatchObject({ code: 'API_ERROR', status: 429 });
    expect(quota.error!.message).toMatch(/marks as not retryable/);
    expect(quota.attempts).toBe(1);
    const timeout = await failure([apiError(408), answer('ok')]);
    expect(timeout.result?.attempts).toBe(2);
  });

  it('a connection refused (nothing sent) is a NetworkError and retried; an answer lost is ambiguous and not', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const notSent = await failure([
      apiError(undefined, { cause: refused, isRetryable: true, message: 'Cannot connect to API: connect ECONNREFUSED' }),
      answer('ok'),
    ]);
    expect(notSent.result?.attempts).toBe(2);
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const lost = await failure([apiError(undefined, { cause: reset, isRetryable: true }), answer('ok')]);
    expect(lost.error).toMatchObject({ code: 'CREATE_AMBIGUOUS', retryable: false });
    expect(lost.error!.message).toMatch(/was sent but its answer was lost \(socket hang up\)/);
    expect(lost.attempts).toBe(1);
  });

  it("the SDK's other errors: a missing key is an AuthError, a malformed answer a ProtocolError, anything else an InternalError", async () => {
    const noKey = await failure([new LoadAPIKeyError({ message: 'OpenAI API key is missing. Pass it using the apiKey parameter.' })]);
    expect(noKey.error).toMatchObject({ code: 'AUTH_FAILED' });
    expect(noKey.error!.message).toMatch(/has no API key, so nothing was sent: OpenAI API key is missing/);
    const malformed = await failure([new TypeValidationError({ value: { choices: 'x' }, cause: new Error('expected array') })]);
    expect(malformed.error).toMatchObject({ code: 'PROTOCOL_ERROR', retryable: false });
    expect(malformed.attempts).toBe(1);
    const odd = await failure([new RangeError('custom model broke')]);
    expect(odd.error).toMatchObject({ code: 'INTERNAL' });
    expect(odd.error!.message).toMatch(/threw an unexpected error: RangeError: custom model broke/);
  });
});

describe('aborts', () => {
  /** A model that answers only when aborted (as the SDK's providers do: the fetch rejects), and says when it was called. */
  function waitingModel(honoursSignal: boolean) {
    let called!: () => void;
    const started = new Promise<void>((resolve) => (called = resolve));
    const model = mockModel([
      (options: LanguageModelV3CallOptions) =>
        new Promise((_, reject) => {
          called();
          if (honoursSignal) options.abortSignal!.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
        }),
    ]);
    return { model, started };
  }

  for (const honoursSignal of [true, false]) {
    it(`the caller's abort ends the call with AbortError, and the model's request is aborted (${honoursSignal ? 'a model that honours the signal' : 'one that ignores it'})`, async () => {
      const { model, started } = waitingModel(honoursSignal);
      const controller = new AbortController();
      const call = executorOn(model)
        .complete({ prompt: 'long' }, { signal: controller.signal })
        .catch((e: unknown) => e);
      await started;
      controller.abort();
      const error = await call;
      expect(error).toMatchObject({ code: 'ABORTED' });
      expect((error as Error).message).toMatch(/`ai-sdk:mock\.chat` provider cancelled its request/);
      expect(model.doGenerateCalls[0]!.abortSignal!.aborted).toBe(true);
    });
  }

  it("the executor's own reason wins: a call's timeout is a TimeoutError, not an abort", async () => {
    const clock = manualClock();
    const { model, started } = waitingModel(true);
    const call = executorOn(model, undefined, { clock })
      .complete({ prompt: 'slow' }, { timeoutMs: 5000 })
      .catch((e: unknown) => e);
    await started;
    await clock.advance(5000);
    const error = await call;
    expect(TimeoutError.isInstance(error)).toBe(true);
  });
});

describe('the key never appears', () => {
  const KEY = 'sk-live-0123456789abcdefXYZ';

  it("reads the key from where the AI SDK's providers keep their headers", () => {
    const model = createOpenAICompatible({ name: 'vendor', baseURL: 'https://api.example.test/v1', apiKey: KEY, queryParams: { 'api-version': '2025-01' } })(
      'm',
    );
    const secrets = modelSecrets(model, { 'x-proxy-token': 'extra-secret-value', 'X-Title': 'Ticket triage' });
    expect(secrets).toContain(KEY);
    expect(secrets).toContain(`Bearer ${KEY}`);
    expect(secrets).toContain('extra-secret-value');
    // Only credentials: the user agent, a title header and the API version are ordinary text.
    expect(secrets.some((s) => s.startsWith('ai-sdk/'))).toBe(false);
    expect(secrets).not.toContain('Ticket triage');
    expect(secrets).not.toContain('2025-01');
  });

  it('blanks nothing but credentials out of an answer (a date that is also a version header, a title)', async () => {
    const model = mockModel([answer('{"date":"2023-06-01","title":"Ticket triage"}')]);
    // As @ai-sdk/anthropic keeps its headers: a key, and a version that is a date.
    Object.assign(model, { config: { headers: () => ({ 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }) } });
    const executor = executorOn(model, { headers: { 'X-Title': 'Ticket triage' } });
    expect((await executor.complete({ prompt: 'p' })).text).toBe('{"date":"2023-06-01","title":"Ticket triage"}');
  });

  it('does not leave a rejected promise unhandled when the model makes its headers asynchronously (no credentials)', async () => {
    const model = mockModel([answer('ok')]);
    const rejected = Promise.reject(new Error('Could not load the default credentials'));
    Object.assign(model, { config: { headers: () => rejected } });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      expect((await executorOn(model).complete({ prompt: 'p' })).text).toBe('ok');
      // Unhandled rejections are reported after the microtasks of a macrotask: wait one out.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('takes it out of every error, body and event when a server echoes it (in a 400, a 5xx, the message, the URL)', async () => {
    const headerKey = 'hdr-0123456789-secret';
    const echo = (status: number) =>
      apiError(status, {
        message: `bad request from key ${KEY}`,
        body: `{"error":{"message":"key ${KEY} and header ${headerKey} are not allowed"}}`,
        url: `https://api.example.test/v1/chat?key=${KEY}`,
      });
    const model = mockModel([echo(500), echo(400)]);
    // The model keeps its key where the SDK's providers do; the header comes from aiSdk()'s options.
    Object.assign(model, { config: { headers: () => ({ Authorization: `Bearer ${KEY}` }) } });
    const executor = executorOn(model, { headers: { 'x-api-key': headerKey } }, { retry: { maxAttempts: 2 } });
    const seen: unknown[] = [];
    executor.events.on('call-retry', (event) => seen.push(event));
    executor.events.on('call-error', (event) => seen.push(event));
    const error = (await executor.complete({ prompt: 'p' }).catch((e: unknown) => e)) as ShoalError;
    // The 5xx was retried (its error rides on the retry event), the 400 ended the call.
    expect(error).toMatchObject({ code: 'API_ERROR', status: 400 });
    expect(seen.map((event) => (event as { error: ShoalError }).error.code)).toEqual(['SERVER_ERROR', 'API_ERROR']);
    const everything = [inspect(error, { depth: 10 }), JSON.stringify(error), inspect(seen, { depth: 10 }), JSON.stringify(seen)];
    for (const text of everything) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(headerKey);
    }
    expect(everything.join('\n')).toContain('[redacted]'); // the bodies are still quoted, less the secrets
  });

  it("keeps it out of the model's answer too", async () => {
    const model = mockModel([answer(`the key is ${KEY}`)]);
    Object.assign(model, { config: { headers: () => ({ Authorization: `Bearer ${KEY}` }) } });
    expect((await executorOn(model).complete({ prompt: 'p' })).text).toBe('the key is [redacted]');
  });
});
