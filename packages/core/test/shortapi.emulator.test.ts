import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  AmbiguousCreateError,
  ApiError,
  AuthError,
  JobFailedError,
  ProtocolError,
  RateLimitError,
  RetriesExhaustedError,
  type ServerError,
  type ShoalError,
} from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { shortApi } from '../src/providers/shortapi/shortapi.js';
import { rig, until } from './helpers.js';

describe('shortApi over HTTP against the emulator', () => {
  it('creates a job, polls it, and returns text, job id, usage and the server amount', async () => {
    const { executor, emulator } = await rig({ latencyMs: 30, rules: [{ match: 'capital of France', reply: 'Paris' }] });
    const result = await executor.complete({ prompt: 'What is the capital of France?' });
    expect(result.text).toBe('Paris');
    expect(result.jobId).toBe(emulator.jobs[0]!.id);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.costUsd).toBeCloseTo(Number(emulator.jobs[0]!.amountUsd), 12);
    expect(result.attempts).toBe(1);
    expect(result.requests).toBe(1 + emulator.jobs[0]!.queries);
    expect(emulator.jobs[0]!.prompt).toBe('What is the capital of France?');
    expect(emulator.stats().duplicateCreates).toBe(0);
  });

  it('passes extra args through and sends the model', async () => {
    const { executor, emulator } = await rig({}, { args: { temperature: 0 } });
    await executor.complete({ prompt: 'x', args: { max_output_tokens: 20 } });
    expect(emulator.jobs[0]!.args).toEqual({ temperature: 0, max_output_tokens: 20, prompt: 'x' });
  });

  it.each(['text', 'output', 'output_text', 'content', 'choices', 'string'] as const)('reads the answer from result shape %s', async (resultShape) => {
    const { executor } = await rig({ resultShape, rules: [{ match: 'q', reply: 'the answer' }] });
    expect((await executor.complete({ prompt: 'q' })).text).toBe('the answer');
  });

  it('prices counted tokens at the vendor rates when the server reports neither amount nor usage', async () => {
    const { executor } = await rig({ reportAmount: false, reportUsage: false, rules: [{ match: 'hi', reply: 'hello there' }] });
    const result = await executor.complete({ prompt: 'hi' });
    // o200k: "hi" is 1 token, "hello there" is 2 tokens: 1 * 0.20/M + 2 * 1.25/M
    expect(result.usage).toEqual({ inputTokens: 1, cachedInputTokens: 0, outputTokens: 2 });
    expect(result.costUsd).toBeCloseTo(0.0000002 + 0.0000025, 12);
  });

  it('refuses a wrong key with AuthError at once, without retrying', async () => {
    const { executor, emulator } = await rig({ apiKey: 'the-right-key-123' }, { apiKey: 'a-wrong-key-456789' });
    const error = await executor.complete({ prompt: 'x' }).catch((e: unknown) => e);
    expect(AuthError.isInstance(error)).toBe(true);
    expect((error as AuthError).status).toBe(401);
    expect((error as Error).message).not.toContain('a-wrong-key-456789');
    expect(emulator.stats().unauthorized).toBe(1);
  });

  it('retries 429s honouring Retry-After, then succeeds; the job is created once', async () => {
    const { executor, emulator } = await rig({ faults: { rateLimit: 0.5, retryAfterSeconds: 0 }, seed: 2 }, {}, { retry: { maxAttempts: 10 } });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => executor.complete({ prompt: `p${i}` })));
    expect(results).toHaveLength(20);
    expect(emulator.stats().refusedCreates).toBeGreaterThan(0);
    expect(emulator.stats().jobs).toBe(20);
    expect(emulator.stats().duplicateCreates).toBe(0);
    expect(executor.metrics().retries).toBe(emulator.stats().refusedCreates);
  });

  it('gives up on persistent 429s with RetriesExhaustedError carrying every attempt', async () => {
    const { executor } = await rig({ faults: { rateLimit: 1, retryAfterSeconds: 0 } }, {}, { retry: { maxAttempts: 3 } });
    const error = (await executor.complete({ prompt: 'x' }).catch((e: unknown) => e)) as RetriesExhaustedError;
    expect(RetriesExhaustedError.isInstance(error)).toBe(true);
    expect(error.errors).toHaveLength(3);
    expect(error.errors.every((e) => RateLimitError.isInstance(e) && e.retryAfterMs === 0)).toBe(true);
  });

  it('turns a failed job into a new job (a counted retry), and reports JobFailedError when all fail', async () => {
    const { executor, emulator } = await rig(
      { rules: [{ match: 'doomed', reply: { fail: 'model crashed' } }] },
      {},
      { retry: { maxAttempts: 2, baseDelayMs: 1 } },
    );
    const error = (await executor.complete({ prompt: 'doomed' }).catch((e: unknown) => e)) as RetriesExhaustedError;
    expect(RetriesExhaustedError.isInstance(error)).toBe(true);
    expect(JobFailedError.isInstance(error.errors[0])).toBe(true);
    expect((error.errors[0] as JobFailedError).serverMessage).toBe('model crashed');
    expect(emulator.stats().jobs).toBe(2);
    expect(emulator.stats().duplicateCreates).toBe(0);
  });

  it('retries a dropped or garbled poll without creating the job again', async () => {
    const { executor, emulator } = await rig(
      { latencyMs: 5, faults: { dropQuery: 0.3, invalidJson: 0.2 }, seed: 9 },
      {},
      { retry: { maxAttempts: 8, baseDelayMs: 1 } },
    );
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => executor.complete({ prompt: `q${i}` })));
    expect(results.every((r) => r.attempts === 1)).toBe(true);
    expect(emulator.stats().jobs).toBe(40);
    expect(emulator.stats().duplicateCreates).toBe(0);
    expect((emulator.stats().faults.dropQuery ?? 0) + (emulator.stats().faults.invalidJson ?? 0)).toBeGreaterThan(0);
  });

  it("keeps polling through failing polls until the job's deadline, then times out with the job id, never re-creating it", async () => {
    const { executor, emulator } = await rig(
      { faults: { queryServerError: 1 } },
      { maxJobWaitMs: 200 },
      { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 } },
    );
    const error = (await executor.complete({ prompt: 'x' }).catch((e: unknown) => e)) as ShoalError;
    expect(error.code).toBe('TIMEOUT');
    expect(error.jobId).toBe(emulator.jobs[0]!.id);
    expect(error.message).toMatch(/could not be polled before its deadline.*SERVER_ERROR/);
    expect(emulator.stats().jobs).toBe(1);
    // Not limited to retry.maxAttempts: a poll is free to repeat.
    expect(emulator.stats().queries).toBeGreaterThan(3);
  });

  it('stops waiting at once on abort, and says the job keeps running', async () => {
    const { executor, emulator } = await rig({ latencyMs: 60_000 });
    const controller = new AbortController();
    const pending = executor.complete({ prompt: 'slow' }, { signal: controller.signal });
    await until(() => executor.metrics().jobs === 1); // the job exists and is polled
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(emulator.jobs[0]!.status).toBe(1); // "at once": the job has not ended, the call has
    expect(AbortError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/keeps running on the server/);
    expect(emulator.stats().jobs).toBe(1);
  });

  it('says a network failure before sending is safe to retry', async () => {
    const provider = shortApi({ apiKey: 'k-12345678', baseURL: 'http://127.0.0.1:9' });
    const error = await provider.doComplete({ prompt: 'x' }, context()).catch((e: unknown) => e);
    expect((error as ShoalError).code).toBe('NETWORK_ERROR');
    expect((error as ShoalError).retryable).toBe(true);
    await provider.close();
  });
});

/** A loopback server answering with whatever a test scripts: for answers the emulator would never give. */
async function rawServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function context() {
  return { signal: new AbortController().signal, callId: 'call-1', idempotencyKey: 'call-1', attempt: 1, retryPoll: () => ({ retry: false, delayMs: 0 }) };
}

const KEY = 'sk-test-SECRET-0123456789';

describe('shortApi against answers that do not fit the protocol', () => {
  it('turns a non-zero code into ApiError with the code and message', async () => {
    const server = await rawServer((_req, res) => res.end(JSON.stringify({ code: 1003, msg: 'insufficient balance' })));
    const provider = shortApi({ apiKey: KEY, baseURL: server.url });
    const error = (await provider.doComplete({ prompt: 'x' }, context()).catch((e: unknown) => e)) as ApiError;
    expect(ApiError.isInstance(error)).toBe(true);
    expect(error.apiCode).toBe(1003);
    expect(error.message).toContain('insufficient balance');
    await provider.close();
    await server.close();
  });

  it('refuses an image-shaped success with ProtocolError carrying the raw body, secrets redacted', async () => {
    const server = await rawServer((req, res) => {
      if (req.url?.includes('create')) res.end(JSON.stringify({ code: 0, data: { job_id: 'j1', amount: '0.02' } }));
      else res.end(JSON.stringify({ code: 0, data: { status: 2, result: { images: [{ url: 'https://x/a.png' }], echo: `Bearer ${KEY}` } } }));
    });
    const provider = shortApi({ apiKey: KEY, baseURL: server.url, poll: { initialDelayMs: 1 } });
    const error = (await provider.doComplete({ prompt: 'x' }, context()).catch((e: unknown) => e)) as ProtocolError;
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.jobId).toBe('j1');
    expect(error.body).toContain('images');
    expect(error.body).not.toContain(KEY);
    expect(JSON.stringify(error.toJSON()) + error.message + error.body).not.toContain(KEY);
    await provider.close();
    await server.close();
  });

  it('treats a garbled create answer as a protocol error that is never retried (the job may exist)', async () => {
    let creates = 0;
    const server = await rawServer((_req, res) => {
      creates++;
      res.end('{"code":0,"data":{"amount":"0.02"}}');
    });
    const provider = shortApi({ apiKey: KEY, baseURL: server.url });
    const executor = createExecutor({ provider, retry: { baseDelayMs: 1 } });
    const error = (await executor.complete({ prompt: 'x' }).catch((e: unknown) => e)) as ProtocolError;
    expect(error.code).toBe('PROTOCOL_ERROR');
    expect(error.message).toMatch(/job_id/);
    expect(creates).toBe(1);
    await executor.close();
    await server.close();
  });

  it('reports a create whose answer was lost as ambiguous, not retried by default', async () => {
    let creates = 0;
    const server = await rawServer((req) => {
      creates++;
      req.socket.destroy();
    });
    const provider = shortApi({ apiKey: KEY, baseURL: server.url });
    const executor = createExecutor({ provider, retry: { baseDelayMs: 1 } });
    const error = (await executor.complete({ prompt: 'x' }).catch((e: unknown) => e)) as ShoalError;
    expect(AmbiguousCreateError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/was sent but its answer was lost.*may have done, and charged for/);
    expect(creates).toBe(1);
    await executor.close();
    await server.close();
  });

  it('ends a request that gets no answer at its timeout (a create: ambiguous, a poll: retried)', async () => {
    const server = await rawServer(() => {
      // never answers
    });
    const provider = shortApi({ apiKey: KEY, baseURL: server.url, requestTimeoutMs: 100 });
    const error = (await provider.doComplete({ prompt: 'x' }, context()).catch((e: unknown) => e)) as ShoalError;
    expect(AmbiguousCreateError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/ETIMEDOUT/);
    await provider.close();
    await server.close();
  });

  it('retries a 5xx create with an HTML body and keeps the body, redacted, on the error', async () => {
    let creates = 0;
    const server = await rawServer((_req, res) => {
      creates++;
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end(`<html>502 Bad Gateway ${KEY}</html>`);
    });
    const provider = shortApi({ apiKey: KEY, baseURL: server.url });
    const executor = createExecutor({ provider, retry: { baseDelayMs: 1, maxAttempts: 3 } });
    const error = (await executor.complete({ prompt: 'x' }).catch((e: unknown) => e)) as RetriesExhaustedError;
    expect(RetriesExhaustedError.isInstance(error)).toBe(true);
    expect(creates).toBe(3);
    const last = error.errors[2] as ServerError;
    expect(last.status).toBe(502);
    expect(last.body).toContain('502 Bad Gateway');
    expect(last.body).not.toContain(KEY);
    await executor.close();
    await server.close();
  });
});
