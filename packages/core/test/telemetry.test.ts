import { EventEmitter } from 'eventemitter3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { createCoordinator } from '../src/coordinator/coordinator.js';
import type { Plan } from '../src/coordinator/plan.js';
import { ShoalConfigError } from '../src/errors.js';
import { createExecutor, type Executor } from '../src/executor/executor.js';
import type { Span, SpanListenerErrorEvent, Telemetry, TraceEvents } from '../src/telemetry/telemetry.js';
import { Trace } from '../src/telemetry/trace.js';
import { Tracer } from '../src/telemetry/tracer.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';

const score = defineAgent({
  name: 'score',
  description: 'Scores one item from 0 to 1.',
  input: z.object({ item: z.string() }),
  output: z.object({ score: z.number() }),
  instructions: 'SCORE the item.',
});
const fanOut: Plan = { steps: [{ id: 'all', agent: 'score', forEach: ['a', 'b', 'c'], input: { item: { $item: '' } } }], output: 'all' };

const executors: Executor[] = [];
afterEach(async () => {
  while (executors.length > 0) await executors.pop()!.close();
});

function scriptedExecutor(): Executor {
  const executor = createExecutor({ provider: scriptedProvider([{ match: 'SCORE', reply: '{"score":0.5}' }]) });
  executors.push(executor);
  return executor;
}

/** A backend that keeps what it is told, as a remote one would: copies, at the time of each call. */
function recorder() {
  const told: { what: string; id: string; kind: string; status: string; attributes: Record<string, unknown> }[] = [];
  const note = (what: string, span: Readonly<Span>, attributes: Readonly<Record<string, unknown>>) =>
    told.push({ what, id: span.id, kind: span.kind, status: span.status, attributes: { ...attributes } });
  const backend: Telemetry = {
    spanStart: (span) => note('start', span, span.attributes),
    spanAttributes: (span, attributes) => note('attributes', span, attributes),
    spanEnd: (span) => note('end', span, span.attributes),
  };
  return { told, backend };
}

describe('the tracer: every backend hears of every span, and a failing one breaks nothing', () => {
  it('tells each backend in order of start, attributes and end; an ended span no longer changes', () => {
    const { told, backend } = recorder();
    const trace = new Trace();
    const tracer = new Tracer([trace, backend]);
    const run = tracer.start('run', 'run', undefined, { task: 't' });
    const step = tracer.start('step', 'all', run.id);
    tracer.set(step, { items: 3 });
    tracer.end(step, 'ok');
    tracer.end(step, 'error'); // a second end does nothing
    tracer.set(step, { late: true });
    tracer.end(run, 'ok', { costUsd: 0 });
    expect(told.map((t) => `${t.what} ${t.kind}`)).toEqual(['start run', 'start step', 'attributes step', 'end step', 'end run']);
    expect(trace.spans.map((s) => [s.kind, s.status, s.parentId])).toEqual([
      ['run', 'ok', undefined],
      ['step', 'ok', run.id],
    ]);
    expect(step.attributes).toEqual({ items: 3 });
    expect(trace.children(run.id)).toEqual([step]);
  });

  it('reports a backend that throws to listener-error and still tells the backends after it', () => {
    const events = new EventEmitter<TraceEvents>();
    const reported: SpanListenerErrorEvent[] = [];
    events.on('listener-error', (e) => reported.push(e));
    const broken: Telemetry = {
      spanStart: () => {
        throw new Error('exporter down');
      },
      spanEnd: () => {
        throw new Error('exporter still down');
      },
    };
    const trace = new Trace();
    const tracer = new Tracer([broken, trace], events);
    const span = tracer.start('run', 'run', undefined);
    tracer.end(span, 'ok');
    expect(trace.spans).toEqual([span]);
    expect(span.status).toBe('ok');
    expect(reported).toEqual([
      { event: 'span-start', error: new Error('exporter down') },
      { event: 'span-end', error: new Error('exporter still down') },
    ]);
  });

  it('reports a backend whose promise rejects (it is never awaited)', async () => {
    const events = new EventEmitter<TraceEvents>();
    const reported = new Promise<SpanListenerErrorEvent>((resolve) => events.once('listener-error', resolve));
    const tracer = new Tracer([{ spanStart: async () => Promise.reject(new Error('export failed')), spanEnd: () => {} }], events);
    tracer.start('run', 'run', undefined);
    expect(await reported).toEqual({ event: 'span-start', error: new Error('export failed') });
  });

  it('throws the error again on its own when nobody listens for listener-error', () => {
    const later: (() => void)[] = [];
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => later.push(callback));
    try {
      const tracer = new Tracer([
        {
          spanStart: () => {
            throw new Error('unheard');
          },
          spanEnd: () => {},
        },
      ]);
      expect(() => tracer.start('run', 'run', undefined)).not.toThrow();
    } finally {
      spy.mockRestore();
    }
    expect(later).toHaveLength(1);
    expect(() => later[0]!()).toThrow('unheard');
  });
});

describe('the coordinator under a failing span listener or telemetry backend', () => {
  it('finishes the run when a span-start listener throws, and reports every throw', async () => {
    const coordinator = createCoordinator({ executor: scriptedExecutor(), agents: [score] });
    coordinator.events.on('span-start', () => {
      throw new Error('listener bug');
    });
    const reported: SpanListenerErrorEvent[] = [];
    coordinator.events.on('listener-error', (e) => reported.push(e));
    const result = await coordinator.execute(fanOut);
    expect(result.output).toEqual([{ score: 0.5 }, { score: 0.5 }, { score: 0.5 }]);
    const spans = result.trace.spans;
    expect(spans.map((s) => s.kind).sort()).toEqual(['agent-call', 'agent-call', 'agent-call', 'model-job', 'model-job', 'model-job', 'run', 'step']);
    expect(spans.every((s) => s.status === 'ok')).toBe(true);
    expect(reported).toHaveLength(spans.length); // one per span started
    expect(reported.every((e) => e.event === 'span-start' && (e.error as Error).message === 'listener bug')).toBe(true);
    coordinator.close();
  });

  it('finishes the run when a span-end listener throws', async () => {
    const coordinator = createCoordinator({ executor: scriptedExecutor(), agents: [score] });
    coordinator.events.on('span-end', (span) => {
      if (span.kind === 'agent-call') throw new Error('end listener bug');
    });
    const reported: SpanListenerErrorEvent[] = [];
    coordinator.events.on('listener-error', (e) => reported.push(e));
    const result = await coordinator.execute(fanOut);
    expect(result.steps.all).toHaveLength(3);
    expect(reported.map((e) => e.event)).toEqual(['span-end', 'span-end', 'span-end']);
    coordinator.close();
  });

  it('tells its telemetry backend every span the run trace has, with parents started first', async () => {
    const { told, backend } = recorder();
    const coordinator = createCoordinator({ executor: scriptedExecutor(), agents: [score], telemetry: backend });
    const result = await coordinator.execute(fanOut);
    const spans = result.trace.spans;
    expect(told.filter((t) => t.what === 'start').map((t) => t.id)).toEqual(spans.map((s) => s.id));
    expect(
      told
        .filter((t) => t.what === 'end')
        .map((t) => t.id)
        .sort(),
    ).toEqual(spans.map((s) => s.id).sort());
    const started = new Set<string>();
    for (const t of told.filter((t) => t.what === 'start')) {
      const parent = spans.find((s) => s.id === t.id)!.parentId;
      if (parent !== undefined) expect(started.has(parent)).toBe(true);
      started.add(t.id);
    }
    expect(told).toContainEqual(expect.objectContaining({ what: 'attributes', kind: 'step', attributes: { items: 3 } }));
    expect(told.find((t) => t.what === 'end' && t.kind === 'model-job')!.attributes).toMatchObject({ attempts: 1, jobId: expect.stringMatching(/^scripted_/) });
    coordinator.close();
  });

  it('keeps every run of one coordinator in a Trace given as its telemetry', async () => {
    const all = new Trace();
    const coordinator = createCoordinator({ executor: scriptedExecutor(), agents: [score], telemetry: all });
    const first = await coordinator.execute(fanOut);
    const second = await coordinator.execute(fanOut);
    expect(all.spans).toEqual([...first.trace.spans, ...second.trace.spans]);
    expect(all.spans.filter((s) => s.kind === 'run')).toHaveLength(2);
    coordinator.close();
  });

  it('finishes the run when its telemetry backend throws, and reports it', async () => {
    const throwing: Telemetry = {
      spanStart: (span) => {
        if (span.kind === 'model-job') throw new Error('backend bug');
      },
      spanEnd: () => {},
    };
    const coordinator = createCoordinator({ executor: scriptedExecutor(), agents: [score], telemetry: throwing });
    const reported: SpanListenerErrorEvent[] = [];
    coordinator.events.on('listener-error', (e) => reported.push(e));
    const result = await coordinator.execute(fanOut);
    expect(result.modelCalls).toBe(3);
    expect(reported).toEqual(Array(3).fill({ event: 'span-start', error: new Error('backend bug') }));
    coordinator.close();
  });

  it('refuses a telemetry option that is not a backend, before any run', () => {
    const executor = scriptedExecutor();
    for (const telemetry of [{}, { spanStart: () => {} }, 'otel', { spanStart: () => {}, spanEnd: () => {}, spanAttributes: 1 }]) {
      const error = (() => {
        try {
          createCoordinator({ executor, agents: [score], telemetry: telemetry as never });
        } catch (e) {
          return e;
        }
      })();
      expect(ShoalConfigError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain('Expected `telemetry` to be a telemetry backend');
    }
  });
});
