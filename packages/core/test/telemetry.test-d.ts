import { expectTypeOf, test } from 'vitest';
import { createCoordinator, createExecutor, type Span, type SpanListenerErrorEvent, type Telemetry, Trace } from '../src/index.js';
import { scriptedProvider } from '../src/testing/index.js';

test('telemetry types', () => {
  const executor = createExecutor({ provider: scriptedProvider([{ reply: 'x' }]) });
  expectTypeOf<Trace>().toExtend<Telemetry>();
  // A backend may be async: its promise is not awaited, a rejection is reported.
  const remote: Telemetry = { spanStart: async (_span: Readonly<Span>) => {}, spanEnd: async () => {} };
  const coordinator = createCoordinator({ executor, telemetry: remote });
  createCoordinator({ executor, telemetry: new Trace() });
  // @ts-expect-error a backend needs spanEnd
  createCoordinator({ executor, telemetry: { spanStart: () => {} } });
  coordinator.events.on('listener-error', (event) => {
    expectTypeOf(event).toEqualTypeOf<SpanListenerErrorEvent>();
    expectTypeOf(event.event).toEqualTypeOf<'span-start' | 'span-attributes' | 'span-end'>();
  });
  coordinator.events.on('span-end', (span) => {
    expectTypeOf(span.kind).toEqualTypeOf<'run' | 'step' | 'agent-call' | 'model-job' | 'poll'>();
  });
});
