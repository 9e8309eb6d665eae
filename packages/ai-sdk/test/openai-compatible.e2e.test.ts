import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { AuthError, createExecutor, defineAgent, type Executor, type ExecutorOptions, openAICompatible, type ShoalError, type Usage } from '@shoal/core';
import { type OpenAIServerOptions, startOpenAICompatibleServer } from '@shoal/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AiSdkOptions, aiSdk } from '../src/index.js';

/**
 * `@ai-sdk/openai-compatible`'s real chat model, over real HTTP, against core's loopback
 * chat-completions server on 127.0.0.1: the AI SDK's request and answer handling end to end,
 * shoal's executor on top.
 */

const KEY = 'sk-loopback-0123456789abcdef';
const PRICES = { inputPerMillionUsd: 2, cachedInputPerMillionUsd: 0.5, outputPerMillionUsd: 8 };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

function loopbackModel(baseURL: string, settings: { apiKey?: string; supportsStructuredOutputs?: boolean } = {}) {
  return createOpenAICompatible({
    name: 'loopback',
    baseURL,
    apiKey: settings.apiKey ?? KEY,
    supportsStructuredOutputs: settings.supportsStructuredOutputs ?? true,
  })('nano-test');
}

async function setup(
  serverOptions: OpenAIServerOptions = {},
  modelSettings: Parameters<typeof loopbackModel>[1] = {},
  options: AiSdkOptions = { pricing: PRICES },
  executorOptions: Omit<ExecutorOptions, 'provider'> = {},
) {
  const server = await startOpenAICompatibleServer({ apiKey: KEY, ...serverOptions });
  closers.push(() => server.close());
  const executor: Executor = createExecutor({
    provider: aiSdk(loopbackModel(server.url, modelSettings), options),
    cache: false,
    retry: { baseDelayMs: 1 },
    ...executorOptions,
  });
  closers.push(() => executor.close());
  return { server, executor };
}

// Instructions long enough (over 1,024 tokens with the schema) for the server's prefix cache: a second call shares them.
const guidance = Array.from(
  { length: 120 },
  (_, i) => `Rule ${i + 1}: read the ticket for signs of ${['billing trouble', 'a software defect', 'an account problem'][i % 3]} and weigh them.`,
).join('\n');
const triage = defineAgent({
  name: 'ticket-triage',
  description: 'Sorts a support ticket into a queue.',
  input: z.object({ ticket: z.string().min(1) }),
  output: z.object({ queue: z.enum(['billing', 'bug', 'account']), urgent: z.boolean(), reason: z.string() }),
  instructions: `Sort the support ticket into a queue and say whether it is urgent.\n${guidance}`,
});

/** What usage costs at PRICES, in USD, as the ledger books it. */
const dollars = (u: Usage) => ((u.inputTokens - u.cachedInputTokens) * 2 + u.cachedInputTokens * 0.5 + u.outputTokens * 8) / 1e6;

describe('aiSdk() on @ai-sdk/openai-compatible, over HTTP', () => {
  it('runs a defineAgent agent end to end: the schema as response_format, the output parsed, cached tokens and dollars booked', async () => {
    const { server, executor } = await setup();
    const first = await triage.run({ ticket: 'I was charged twice this month' }, { executor });
    const second = await triage.run({ ticket: 'The export button crashes the app' }, { executor });
    for (const run of [first, second]) expect(triage.output.parse(run.output)).toEqual(run.output);
    expect(server.requests.map((r) => [r.status, r.responseFormat?.type, r.responseFormat?.json_schema?.name])).toEqual([
      [200, 'json_schema', 'ticket-triage'],
      [200, 'json_schema', 'ticket-triage'],
    ]);
    expect(server.requests[0]!.prompt).toContain('"queue"'); // the prompt states the schema too
    // The second call shares the instructions: the server reports them as cached, and they are booked at the cached price.
    expect(first.usage.inputTokens).toBeGreaterThan(1024);
    expect(first.usage.cachedInputTokens).toBe(0);
    expect(second.usage.cachedInputTokens).toBeGreaterThanOrEqual(1024);
    expect(second.usage.cachedInputTokens).toBeLessThan(second.usage.inputTokens);
    expect(first.costUsd).toBe(dollars(first.usage));
    expect(second.costUsd).toBe(dollars(second.usage));
    expect(second.costUsd).toBeLessThan(first.costUsd);
    const totals = executor.metrics().totals;
    expect(totals).toMatchObject({ calls: 2, unpricedCalls: 0, cachedInputTokens: second.usage.cachedInputTokens });
    expect(totals.costUsd).toBeCloseTo(first.costUsd + second.costUsd, 15);
  });

  it("books the same tokens and dollars as core's own openAICompatible() for the same calls", async () => {
    const viaAiSdk = await setup();
    const direct = await startOpenAICompatibleServer({ apiKey: KEY });
    closers.push(() => direct.close());
    const core = createExecutor({ provider: openAICompatible({ baseURL: direct.url, apiKey: KEY, model: 'nano-test', pricing: PRICES }), cache: false });
    closers.push(() => core.close());
    for (const ticket of ['Refund please', 'Cannot log in']) {
      const a = await triage.run({ ticket }, { executor: viaAiSdk.executor });
      const b = await triage.run({ ticket }, { executor: core });
      expect(a.usage).toEqual(b.usage);
      expect(a.costUsd).toBe(b.costUsd);
    }
  });

  it("retries the server's 429s and 5xx through the executor until every call is answered", async () => {
    const { server, executor } = await setup(
      { seed: 7, faults: { rateLimit: 0.25, serverError: 0.15, retryAfterSeconds: 0 } },
      {},
      { pricing: PRICES },
      {
        retry: { maxAttempts: 10, baseDelayMs: 1 },
      },
    );
    const tickets = Array.from({ length: 16 }, (_, i) => ({ ticket: `Ticket number ${i}: something is wrong` }));
    const runs = await Promise.all(tickets.map((input) => triage.run(input, { executor })));
    for (const run of runs) expect(triage.output.safeParse(run.output).success).toBe(true);
    const statuses = server.requests.map((r) => r.status);
    const count = (s: number) => statuses.filter((x) => x === s).length;
    expect(count(429)).toBeGreaterThan(0);
    expect(count(500)).toBeGreaterThan(0);
    expect(count(200)).toBe(16);
    const metrics = executor.metrics();
    expect(metrics).toMatchObject({ requests: statuses.length, retries: count(429) + count(500), rateLimited: count(429), failed: 0 });
  });

  it('a wrong key is an AuthError after one request, and the key is in none of it', async () => {
    const wrong = 'sk-wrong-key-9876543210';
    const { executor } = await setup({}, { apiKey: wrong });
    const error = (await triage.run({ ticket: 'x' }, { executor }).catch((e: unknown) => e)) as ShoalError;
    expect(AuthError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ status: 401, attempt: 1 });
    expect(executor.metrics().requests).toBe(1);
    expect(inspect(error, { depth: 10 })).not.toContain(wrong);
  });

  it('falls back to the prompt when the server refuses the strict schema, once per schema', async () => {
    const { server } = await setup({ rejectStrict: true });
    const executor = createExecutor({ provider: aiSdk(loopbackModel(server.url), { pricing: PRICES }), cache: false });
    closers.push(() => executor.close());
    const first = await triage.run({ ticket: 'one' }, { executor });
    await triage.run({ ticket: 'two' }, { executor });
    expect(triage.output.parse(first.output)).toEqual(first.output);
    expect(server.requests.map((r) => [r.status, r.responseFormat?.type])).toEqual([
      [400, 'json_schema'],
      [200, undefined],
      [200, undefined],
    ]);
    expect(executor.metrics()).toMatchObject({ requests: 3, retries: 0 });
  });

  it('works with a model that has no structured outputs (the SDK sends json_object, the prompt carries the schema)', async () => {
    const { server, executor } = await setup({}, { supportsStructuredOutputs: false });
    const run = await triage.run({ ticket: 'My invoice is wrong' }, { executor });
    expect(triage.output.parse(run.output)).toEqual(run.output);
    expect(server.requests[0]!.responseFormat).toEqual({ type: 'json_object' });
  });
});

describe('aiSdk() over HTTP: failures of the connection and echoing servers', () => {
  /** A server of our own on 127.0.0.1 that answers every request with `answer(req)`, told of each request as it arrives. */
  async function ownServer(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
    const server = http.createServer(answer);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  it('a server that quotes the key back (in a 5xx, a 400, an answer): no error, event or text carries it', async () => {
    let status = 500;
    const url = await ownServer((req, res) => {
      const echoed = `{"error":{"message":"your key ${String(req.headers.authorization).replace('Bearer ', '')} and header ${req.headers.authorization}"}}`;
      res.writeHead(status, { 'content-type': 'application/json' }).end(echoed);
      status = 400;
    });
    const executor = createExecutor({ provider: aiSdk(loopbackModel(url), { pricing: PRICES }), cache: false, retry: { baseDelayMs: 1 } });
    closers.push(() => executor.close());
    const seen: unknown[] = [];
    executor.events.on('call-retry', (event) => seen.push(event));
    executor.events.on('call-error', (event) => seen.push(event));
    const error = (await executor.complete({ prompt: 'p' }).catch((e: unknown) => e)) as ShoalError;
    expect(error).toMatchObject({ code: 'API_ERROR', status: 400 });
    expect(seen.map((e) => (e as { error: ShoalError }).error.code)).toEqual(['SERVER_ERROR', 'API_ERROR']);
    const everything = [inspect(error, { depth: 10 }), JSON.stringify(error), inspect(seen, { depth: 10 }), JSON.stringify(seen)].join('\n');
    expect(everything).not.toContain(KEY);
    expect(everything).toContain('your key [redacted]');
  });

  it('a port nothing listens on: NetworkError (nothing was sent), retried, named by origin only', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const executor = createExecutor({ provider: aiSdk(loopbackModel(`http://127.0.0.1:${port}/v1`)), retry: { maxAttempts: 2, baseDelayMs: 1 } });
    closers.push(() => executor.close());
    const error = (await executor.complete({ prompt: 'p' }).catch((e: unknown) => e)) as ShoalError & { errors: ShoalError[] };
    expect(error.code).toBe('RETRIES_EXHAUSTED');
    expect(error.errors.map((e) => e.code)).toEqual(['NETWORK_ERROR', 'NETWORK_ERROR']);
    expect(error.errors[0]!.message).toMatch(
      new RegExp(
        `AI SDK provider "loopback.chat" request for "nano-test" could not be sent to http://127.0.0.1:${port} \\(.*ECONNREFUSED.*\\); nothing reached the server`,
      ),
    );
  });

  it('an abort closes the request: the server sees it go, the caller gets AbortError', async () => {
    let arrived!: () => void;
    let closed!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const requestClosed = new Promise<void>((resolve) => (closed = resolve));
    const url = await ownServer((_req, res) => {
      res.on('close', closed); // never answered: only the client's abort ends it
      arrived();
    });
    const executor = createExecutor({ provider: aiSdk(loopbackModel(url)) });
    closers.push(() => executor.close());
    const controller = new AbortController();
    const call = executor.complete({ prompt: 'wait' }, { signal: controller.signal }).catch((e: unknown) => e);
    await requestArrived;
    controller.abort();
    expect(await call).toMatchObject({ code: 'ABORTED' });
    await requestClosed;
  });
});
