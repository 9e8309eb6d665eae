import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { context, type HrTime, metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createCoordinator, createExecutor, defineAgent, type Executor, type Plan, shortApi } from '@shoal/core';
import { openTelemetry } from '@shoal/core/otel';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { memoryMetrics, memoryTracing } from './otel-sdk.js';

const API_KEY = 'sk-otel-e2e-4b1d9c7e2f5a8036';
const THEME = 'tidal-pools-private-theme';
const MODEL = 'openai/gpt-5.4-nano';
const MODEL_SPAN = `text_completion ${MODEL}`;

const lister = defineAgent({
  name: 'lister',
  description: 'Lists three words on a theme.',
  input: z.object({ theme: z.string() }),
  output: z.object({ words: z.array(z.string()).length(3) }),
  instructions: 'LIST three words on the theme.',
});
const scorer = defineAgent({
  name: 'scorer',
  description: 'Scores one word from 0 to 1.',
  input: z.object({ word: z.string() }),
  output: z.object({ score: z.number() }),
  instructions: 'SCORE the word from 0 to 1.',
});
const best = defineAgent({
  name: 'best',
  description: 'Picks the best of the scores.',
  input: z.object({ scores: z.array(z.object({ score: z.number() })) }),
  output: z.object({ best: z.number() }),
  instructions: 'BEST of the scores.',
});
const agents = [lister, scorer, best];
const plan: Plan = {
  steps: [
    { id: 'list', agent: 'lister', input: { theme: THEME } },
    { id: 'scores', agent: 'scorer', forEach: { $ref: 'list.words' }, input: { word: { $item: '' } } },
    { id: 'pick', agent: 'best', input: { scores: { $ref: 'scores' } } },
  ],
  output: 'pick',
};

let emulator: ShortApiEmulator;
const closers: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  emulator = await startShortApiEmulator({
    latencyMs: 5,
    seed: 3,
    apiKey: API_KEY,
    rules: [
      { match: 'BEST', reply: '{"best":0.9}' },
      { match: 'SCORE', reply: '{"score":0.9}' },
      { match: 'LIST', reply: '{"words":["tide","reef","kelp"]}' },
      { match: 'BREAK', reply: { fail: 'the model broke' } },
    ],
  });
});
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});
afterAll(async () => {
  await emulator.close();
  context.disable();
});

function executorOn(options: { cache?: boolean } = {}): Executor {
  const executor = createExecutor({
    provider: shortApi({ apiKey: API_KEY, baseURL: emulator.url, poll: { initialDelayMs: 5 } }),
    concurrency: 4,
    cache: options.cache ?? false,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  closers.push(() => executor.close({ drain: false }));
  return executor;
}

const ms = (time: HrTime) => time[0] * 1000 + time[1] / 1e6;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

/** The exported spans as a tree: each span's children, by span id. */
function tree(spans: readonly ReadableSpan[]) {
  const children = (parent: ReadableSpan) => spans.filter((s) => s.parentSpanContext?.spanId === idOf(parent));
  return { children, named: (name: string) => spans.filter((s) => s.name === name) };
}

/** Every exported string (names, attributes, events, statuses) must be free of the key, and of the content unless `content`. */
function expectNothingSecret(spans: readonly ReadableSpan[], content = false): void {
  const exported = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links })));
  expect(exported).not.toContain(API_KEY);
  if (!content) {
    expect(exported).not.toContain(THEME);
    expect(spans.flatMap((s) => Object.keys(s.attributes)).filter((key) => key.startsWith('gen_ai.input') || key.startsWith('gen_ai.output'))).toEqual([]);
  }
}

describe('@shoal/core/otel: a planned coordinator run as OpenTelemetry spans', () => {
  it('makes the span tree of the run, from the run down to each poll, named and attributed by the GenAI conventions', async () => {
    const tracing = memoryTracing();
    const executor = executorOn();
    const coordinator = createCoordinator({ executor, agents, telemetry: openTelemetry({ tracerProvider: tracing.provider }) });
    closers.push(() => coordinator.close());
    const result = await coordinator.execute(plan);
    expect(result.output).toEqual({ best: 0.9 });
    await tracing.provider.forceFlush();
    const spans = tracing.spans();
    const { children, named } = tree(spans);

    // The run: the root (nobody's span was active), with the run's totals.
    const shoalRun = result.trace.spans.find((s) => s.kind === 'run')!;
    const [run, ...otherRuns] = named('invoke_workflow run');
    expect(otherRuns).toEqual([]);
    expect(run!.kind).toBe(SpanKind.INTERNAL);
    expect(run!.parentSpanContext).toBeUndefined();
    expect(run!.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_workflow',
      'gen_ai.workflow.name': 'run',
      'shoal.run_id': shoalRun.id,
      'shoal.priority': 0,
      'shoal.agent_calls': 5,
      'shoal.model_calls': 5,
      'shoal.cost_usd': result.costUsd,
    });
    expect(spans.every((s) => s.spanContext().traceId === run!.spanContext().traceId && s.attributes['shoal.run_id'] === shoalRun.id)).toBe(true);

    // Its steps, each running its agent (a fan-out: once per item).
    const steps = children(run!);
    expect(steps.map((s) => s.name).sort()).toEqual(['step list', 'step pick', 'step scores']);
    const calls: Record<string, [string, number]> = { list: ['lister', 1], scores: ['scorer', 3], pick: ['best', 1] };
    const jobIds: string[] = [];
    let polls = 0;
    for (const step of steps) {
      const id = step.name.slice('step '.length);
      const [agent, count] = calls[id]!;
      expect(step.kind).toBe(SpanKind.INTERNAL);
      expect(step.attributes).toMatchObject({ 'shoal.step_id': id, 'shoal.step.agent': agent, 'shoal.step.policy': 'fail' });
      if (id === 'scores') expect(step.attributes).toMatchObject({ 'shoal.step.fan_out': true, 'shoal.step.items': 3 });
      const invocations = children(step);
      expect(invocations).toHaveLength(count);
      for (const invocation of invocations) {
        expect(invocation.name).toBe(`invoke_agent ${agent}`);
        expect(invocation.kind).toBe(SpanKind.INTERNAL);
        expect(invocation.attributes).toMatchObject({
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': agent,
          'gen_ai.provider.name': 'shortapi',
          'gen_ai.request.model': MODEL,
          'shoal.step_id': id,
          'shoal.priority': expect.any(Number),
          'shoal.attempts': 1,
          'shoal.parse_stage': 'parsed',
          'shoal.cost_usd': expect.any(Number),
        });
        // One model job per agent call, the job of the emulator it names, with that job's tokens and charge.
        const [job, ...more] = children(invocation);
        expect(more).toEqual([]);
        expect(job!.name).toBe(MODEL_SPAN);
        expect(job!.kind).toBe(SpanKind.CLIENT);
        const served = emulator.jobs.find((j) => j.id === job!.attributes['shoal.job_id'])!;
        expect(served).toBeDefined();
        jobIds.push(served.id);
        expect(job!.attributes).toMatchObject({
          'gen_ai.operation.name': 'text_completion',
          'gen_ai.provider.name': 'shortapi',
          'gen_ai.request.model': MODEL,
          'gen_ai.agent.name': agent,
          'gen_ai.usage.input_tokens': served.reply.inputTokens,
          'gen_ai.usage.output_tokens': served.reply.outputTokens,
          'gen_ai.usage.cache_read.input_tokens': served.reply.cachedInputTokens,
          'shoal.cost_usd': Number(served.amountUsd),
          'shoal.attempt': 1,
          'shoal.attempts': 1,
          'shoal.priority': invocation.attributes['shoal.priority'],
          'shoal.queue_wait_ms': expect.any(Number),
          'shoal.step_id': id,
        });
        expect(invocation.attributes['shoal.cost_usd']).toBe(job!.attributes['shoal.cost_usd']);
        // Its polls: HTTP client requests, numbered, each with its status.
        const jobPolls = children(job!);
        expect(jobPolls.length).toBeGreaterThan(0);
        expect(jobPolls.length).toBe(job!.attributes['shoal.polls']);
        for (const poll of jobPolls) {
          expect(poll.name).toBe('poll');
          expect(poll.kind).toBe(SpanKind.CLIENT);
          expect(poll.attributes).toMatchObject({ 'http.response.status_code': 200, 'shoal.job_id': served.id, 'shoal.step_id': id });
          expect(ms(poll.startTime)).toBeGreaterThanOrEqual(ms(job!.startTime));
          expect(ms(poll.endTime)).toBeLessThanOrEqual(ms(job!.endTime) + 0.01);
        }
        expect(jobPolls.map((p) => p.attributes['shoal.poll']).sort()).toEqual(jobPolls.map((_, i) => i + 1));
        polls += jobPolls.length;
      }
    }
    expect(jobIds.sort()).toEqual(emulator.jobs.map((j) => j.id).sort());
    expect(polls).toBe(emulator.stats().queries);
    expect(spans).toHaveLength(1 + 3 + 5 + 5 + polls);
    expect(spans.every((s) => s.status.code === SpanStatusCode.UNSET && s.ended)).toBe(true);

    // Each span starts and ends when shoal's does: durations are the run's own.
    const modelSpanOf = (jobId: unknown) => spans.find((s) => s.name === MODEL_SPAN && s.attributes['shoal.job_id'] === jobId);
    for (const shoal of result.trace.spans.filter((s) => s.kind !== 'poll')) {
      const otel =
        shoal.kind === 'run'
          ? run
          : shoal.kind === 'step'
            ? spans.find((s) => s.name === `step ${shoal.name}`)
            : shoal.kind === 'model-job'
              ? modelSpanOf(shoal.attributes.jobId)
              : // an agent call: the parent of its job's span
                spans.find((s) => idOf(s) === modelSpanOf(result.trace.children(shoal.id)[0]?.attributes.jobId)?.parentSpanContext?.spanId);
      if (!otel) throw new Error(`no OpenTelemetry span for ${shoal.kind} ${shoal.name}`);
      expect(ms(otel.startTime)).toBeCloseTo(shoal.startedAt, 2);
      expect(ms(otel.endTime)).toBeCloseTo(shoal.endedAt!, 2);
    }
    expectNothingSecret(spans);
  });

  it("parents the run under the caller's active span", async () => {
    const tracing = memoryTracing();
    const executor = executorOn();
    const coordinator = createCoordinator({ executor, agents, telemetry: openTelemetry({ tracerProvider: tracing.provider }) });
    closers.push(() => coordinator.close());
    const caller = tracing.provider.getTracer('the-app');
    await caller.startActiveSpan('handle request', async (span) => {
      try {
        await coordinator.execute(plan);
      } finally {
        span.end();
      }
    });
    await tracing.provider.forceFlush();
    const spans = tracing.spans();
    const request = spans.find((s) => s.name === 'handle request')!;
    const run = spans.find((s) => s.name === 'invoke_workflow run')!;
    expect(run.parentSpanContext?.spanId).toBe(idOf(request));
    expect(spans.every((s) => s.spanContext().traceId === request.spanContext().traceId)).toBe(true);
    expect(spans.filter((s) => s.name === MODEL_SPAN)).toHaveLength(5);
    expectNothingSecret(spans);
  });

  it('records content only when asked: the inputs of the run and of each agent call', async () => {
    const tracing = memoryTracing();
    const executor = executorOn();
    const coordinator = createCoordinator({ executor, agents, telemetry: openTelemetry({ tracerProvider: tracing.provider, recordContent: true }) });
    closers.push(() => coordinator.close());
    await coordinator.execute(plan);
    await tracing.provider.forceFlush();
    const spans = tracing.spans();
    const listing = spans.find((s) => s.name === 'invoke_agent lister')!;
    expect(JSON.parse(listing.attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: JSON.stringify({ theme: THEME }) }] },
    ]);
    expect(spans.filter((s) => s.attributes['gen_ai.input.messages'] !== undefined).map((s) => s.name)).toEqual(
      spans.filter((s) => s.name.startsWith('invoke_agent')).map((s) => s.name),
    );
    expectNothingSecret(spans, true);
  });
});

describe('@shoal/core/otel: executor calls made outside a coordinator (instrument)', () => {
  it("traces each call under the caller's span: one client span per job, its polls, a cache hit, a failed job, then detaches", async () => {
    const tracing = memoryTracing();
    const executor = executorOn({ cache: true });
    const otel = openTelemetry({ tracerProvider: tracing.provider });
    const listening = () => executor.events.listenerCount('call-queued') + executor.events.listenerCount('call-end');
    const detach = otel.instrument(executor);
    expect(listening()).toBe(2);
    const app = tracing.provider.getTracer('the-app');
    await app.startActiveSpan('score words', async (span) => {
      try {
        await scorer.run({ word: 'tide' }, { executor, priority: 3 });
        await scorer.run({ word: 'tide' }, { executor, priority: 3 }); // the same prompt: from the result cache
      } finally {
        span.end();
      }
    });
    // Outside any span: a root of its own. Both jobs fail; the second is the last attempt.
    await expect(executor.complete({ prompt: 'BREAK please' }, { tags: ['breaker'] })).rejects.toMatchObject({ code: 'RETRIES_EXHAUSTED' });
    detach();
    detach(); // twice is once
    expect(listening()).toBe(0);
    const before = emulator.jobs.length;
    await scorer.run({ word: 'reef' }, { executor }); // after detaching: not traced
    await tracing.provider.forceFlush();
    const spans = tracing.spans();
    const { children } = tree(spans);

    const request = spans.find((s) => s.name === 'score words')!;
    const [job, hit, ...more] = children(request).sort((a, b) => ms(a.startTime) - ms(b.startTime));
    expect(more).toEqual([]);
    const served = emulator.jobs.find((j) => j.id === job!.attributes['shoal.job_id'])!;
    expect(served.prompt).toContain('tide');
    expect(job!.name).toBe(MODEL_SPAN);
    expect(job!.kind).toBe(SpanKind.CLIENT);
    expect(job!.attributes).toMatchObject({
      'gen_ai.operation.name': 'text_completion',
      'gen_ai.provider.name': 'shortapi',
      'gen_ai.request.model': MODEL,
      'gen_ai.usage.input_tokens': served.reply.inputTokens,
      'gen_ai.usage.output_tokens': served.reply.outputTokens,
      'shoal.cost_usd': Number(served.amountUsd),
      'shoal.priority': 3,
      'shoal.tags': ['scorer'],
      'shoal.queue_wait_ms': expect.any(Number),
      'shoal.attempt': 1,
      'shoal.attempts': 1,
      'shoal.requests': expect.any(Number),
    });
    expect(job!.status.code).toBe(SpanStatusCode.UNSET);
    const jobPolls = children(job!);
    expect(jobPolls.length).toBe((job!.attributes['shoal.requests'] as number) - 1);
    expect(jobPolls.every((p) => p.name === 'poll' && p.kind === SpanKind.CLIENT && p.attributes['http.response.status_code'] === 200)).toBe(true);

    // The cache hit asked no model: an internal span, no job, no tokens.
    expect(hit!.name).toBe(MODEL_SPAN);
    expect(hit!.kind).toBe(SpanKind.INTERNAL);
    expect(hit!.attributes).toMatchObject({ 'shoal.cached': true, 'shoal.attempts': 0, 'shoal.cost_usd': 0 });
    expect(hit!.attributes['shoal.job_id']).toBeUndefined();
    expect(hit!.attributes['gen_ai.usage.input_tokens']).toBeUndefined();

    // The failing call: one span per job, each in error, as roots (no span was active).
    const failed = spans
      .filter((s) => (s.attributes['shoal.tags'] as string[] | undefined)?.includes('breaker'))
      .sort((a, b) => ms(a.startTime) - ms(b.startTime));
    expect(failed.map((s) => [s.name, s.parentSpanContext, s.attributes['shoal.attempt'], s.status.code, s.attributes['error.type']])).toEqual([
      [MODEL_SPAN, undefined, 1, SpanStatusCode.ERROR, 'JOB_FAILED'],
      [MODEL_SPAN, undefined, 2, SpanStatusCode.ERROR, 'RETRIES_EXHAUSTED'],
    ]);
    expect(failed[1]!.attributes['shoal.attempts']).toBe(2);

    // Nothing after detaching: the 'reef' job has no span.
    const reef = emulator.jobs.slice(before);
    expect(reef).toHaveLength(1);
    expect(spans.some((s) => s.attributes['shoal.job_id'] === reef[0]!.id)).toBe(false);
    expectNothingSecret(spans);
  });

  it('leaves the calls of a coordinator run it is the backend of to the run: no call is traced twice', async () => {
    const tracing = memoryTracing();
    const executor = executorOn();
    const otel = openTelemetry({ tracerProvider: tracing.provider });
    closers.push(otel.instrument(executor));
    const coordinator = createCoordinator({ executor, agents, telemetry: otel });
    closers.push(() => coordinator.close());
    await coordinator.execute(plan);
    await tracing.provider.forceFlush();
    const spans = tracing.spans();
    const jobs = spans.filter((s) => s.name === MODEL_SPAN);
    expect(jobs).toHaveLength(5);
    expect(jobs.every((s) => spans.find((p) => idOf(p) === s.parentSpanContext?.spanId)?.name.startsWith('invoke_agent'))).toBe(true);
  });

  it("records the GenAI client histograms and the executor's gauges through the meter", async () => {
    const measured = memoryMetrics();
    const executor = executorOn({ cache: true });
    const otel = openTelemetry({ meterProvider: measured.provider });
    expect(otel).toMatchObject({ tracing: false, metering: true });
    const detach = otel.instrument(executor);
    const before = emulator.jobs.length;
    await Promise.all(['tide', 'reef', 'kelp'].map((word) => scorer.run({ word }, { executor })));
    await scorer.run({ word: 'tide' }, { executor }); // a cache hit: no GenAI operation
    await expect(executor.complete({ prompt: 'BREAK again' })).rejects.toMatchObject({ code: 'RETRIES_EXHAUSTED' });
    const { resourceMetrics, errors } = await measured.collect();
    expect(errors).toEqual([]);
    const all = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    const metric = (name: string) => all.find((m) => m.descriptor.name === name)!;
    const scored = emulator.jobs.slice(before).filter((j) => j.prompt.includes('SCORE'));
    expect(scored).toHaveLength(3);
    const model = { 'gen_ai.operation.name': 'text_completion', 'gen_ai.provider.name': 'shortapi', 'gen_ai.request.model': MODEL };

    const tokens = metric('gen_ai.client.token.usage');
    expect(tokens.descriptor).toMatchObject({
      unit: '{token}',
      advice: { explicitBucketBoundaries: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] },
    });
    const byType = (type: string) => tokens.dataPoints.find((p) => p.attributes['gen_ai.token.type'] === type)!;
    expect(byType('input')).toMatchObject({
      attributes: { ...model, 'gen_ai.token.type': 'input' },
      value: { count: 3, sum: scored.reduce((n, j) => n + j.reply.inputTokens, 0) },
    });
    expect(byType('output')).toMatchObject({ value: { count: 3, sum: scored.reduce((n, j) => n + j.reply.outputTokens, 0) } });

    const duration = metric('gen_ai.client.operation.duration');
    expect(duration.descriptor).toMatchObject({
      unit: 's',
      advice: { explicitBucketBoundaries: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] },
    });
    const durations = duration.dataPoints.map((p) => [p.attributes, (p.value as { count: number }).count]);
    expect(durations).toHaveLength(2);
    expect(durations).toEqual(
      expect.arrayContaining([
        [model, 3],
        [{ ...model, 'error.type': 'RETRIES_EXHAUSTED' }, 1],
      ]),
    );

    const gauge = (name: string) => metric(name).dataPoints.map((p) => [p.attributes, p.value]);
    const executorAttributes = { 'gen_ai.provider.name': 'shortapi', 'gen_ai.request.model': MODEL };
    expect(gauge('shoal.executor.queued')).toEqual([[executorAttributes, 0]]);
    expect(gauge('shoal.executor.running')).toEqual([[executorAttributes, 0]]);
    expect(gauge('shoal.executor.concurrency.effective')).toEqual([[executorAttributes, 4]]);
    expect(gauge('shoal.executor.concurrency.limit')).toEqual([[executorAttributes, 4]]);
    expect(metric('shoal.executor.spend').descriptor.unit).toBe('USD');
    expect(gauge('shoal.executor.spend')).toEqual([[executorAttributes, executor.metrics().costUsd]]);
    expect(executor.metrics().costUsd).toBeGreaterThan(0);

    // Detached: the gauges no longer read the executor.
    detach();
    const read = vi.spyOn(executor, 'metrics');
    await measured.collect();
    expect(read).not.toHaveBeenCalled();
  });
});

describe('@shoal/core/otel: nothing when no provider is registered', () => {
  const EVENTS = ['call-queued', 'call-start', 'job-created', 'job-resumed', 'job-poll', 'call-retry', 'call-end', 'call-cached', 'call-error'] as const;

  it('neither listens to the executor nor makes a span, and the run goes on as before', async () => {
    const executor = executorOn();
    const otel = openTelemetry();
    expect(otel).toMatchObject({ tracing: false, metering: false });
    const detach = otel.instrument(executor);
    expect(EVENTS.map((name) => executor.events.listenerCount(name))).toEqual(EVENTS.map(() => 0));
    detach();
    const coordinator = createCoordinator({ executor, agents, telemetry: otel });
    closers.push(() => coordinator.close());
    expect((await coordinator.execute(plan)).output).toEqual({ best: 0.9 });
    // Only the coordinator's own bridge listens (for its in-memory trace).
    expect(executor.events.listenerCount('call-queued')).toBe(0);
  });

  it('uses the providers registered globally before it is made', async () => {
    const tracing = memoryTracing();
    const measured = memoryMetrics();
    trace.setGlobalTracerProvider(tracing.provider);
    metrics.setGlobalMeterProvider(measured.provider);
    try {
      const otel = openTelemetry();
      expect(otel).toMatchObject({ tracing: true, metering: true });
      expect(openTelemetry({ metrics: false }).metering).toBe(false);
      const executor = executorOn();
      closers.push(otel.instrument(executor));
      await scorer.run({ word: 'kelp' }, { executor });
      await tracing.provider.forceFlush();
      expect(tracing.spans().filter((s) => s.name === MODEL_SPAN)).toHaveLength(1);
      expectNothingSecret(tracing.spans());
    } finally {
      trace.disable();
      metrics.disable();
    }
    expect(openTelemetry().tracing).toBe(false);
  });

  it('exports exactly this list from @shoal/core/otel', async () => {
    expect(Object.keys(await import('@shoal/core/otel')).sort()).toEqual(['openTelemetry']);
  });

  it('checks its options', () => {
    expect(() => openTelemetry({ recordContent: 'yes' as never })).toThrow(/Expected `recordContent` to be true or false/);
    expect(() => openTelemetry({ tracerProvider: {} as never })).toThrow(/Expected `tracerProvider` to be an OpenTelemetry TracerProvider/);
    expect(() => openTelemetry({ recordContents: true } as never)).toThrow(
      /Unknown option `recordContents` in openTelemetry\(\)\. Did you mean `recordContent`\?/,
    );
  });

  it('is never loaded by @shoal/core: importing it with every @opentelemetry/* import refused', async () => {
    // A resolve hook that fails any @opentelemetry/* import, then core's entries, then (the control) the otel entry.
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier.startsWith('@opentelemetry/')) throw new Error('refused ' + specifier);
      return next(specifier, context);
    }`;
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    const script = `
      await import('@shoal/core');
      await import('@shoal/core/testing');
      console.log('core loaded without @opentelemetry');
      await import('@shoal/core/otel').then(() => console.log('otel loaded'), (error) => console.log(error.message));
    `;
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script],
      { cwd: root },
    );
    expect(stdout.trim().split('\n')).toEqual(['core loaded without @opentelemetry', 'refused @opentelemetry/api']);
  });
});
