import { AbortError, ShoalError } from '../errors.js';
import type { Span } from '../telemetry/telemetry.js';
import { describeError } from '../telemetry/tracer.js';
import type { RunContext } from './run-context.js';
import type { Flow } from './types.js';

/**
 * Code-first orchestration over one run context: each `run`, `map` and `reduce` is a step
 * span under the flow's run span, its calls on the same executor, budget and signal.
 */
export function flowOf(context: RunContext): Flow {
  const priority = context.options.priority ?? 0;
  let stage = 0;
  const wrap = async <T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> => {
    const span = context.tracer.start('step', name, context.root.id, { stage: stage++ });
    try {
      const value = await fn(span);
      context.tracer.end(span, 'ok');
      return value;
    } catch (error) {
      context.tracer.end(span, 'error', { error: describeError(error) });
      throw error;
    }
  };
  return {
    run: (agent, input) => wrap(agent.name, (span) => context.runAgent(agent, input, span, priority)),
    map: (agent, inputs) =>
      wrap(`map ${agent.name}`, async (span) => {
        // The first failure stops the map's other calls (queued ones are dropped), not the whole flow.
        const local = new AbortController();
        const signal = AbortSignal.any([context.controller.signal, local.signal]);
        try {
          return await Promise.all(inputs.map((input) => context.runAgent(agent, input, span, priority, signal)));
        } catch (error) {
          local.abort(ShoalError.isInstance(error) ? error : new AbortError('another call of this map failed', { cause: error }));
          await context.settled();
          throw error;
        }
      }),
    reduce: (agent, items, initial, step) =>
      wrap(`reduce ${agent.name}`, async (span) => {
        let accumulator = initial;
        for (const item of items) {
          const output = await context.runAgent(agent, step.input(accumulator, item), span, priority);
          accumulator = step.next ? step.next(output, accumulator) : (output as typeof accumulator);
        }
        return accumulator;
      }),
    sequence: async (first, ...rest) => {
      let value: unknown = await first();
      for (const next of rest) value = await next(value);
      return value;
    },
    parallel: (tasks) => Promise.all(tasks.map((task) => task())) as never,
    result: () => context.totals(),
    end: () => context.finish('ok'),
  };
}
