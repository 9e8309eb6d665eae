import { z } from 'zod';
import { type Check, checkOptions, option, optionError } from '../util/options.js';
import type { CoordinatorOptions, RunOptions } from './types.js';

const POLICIES: readonly unknown[] = ['retry', 'skip', 'fail'];

/** A backend needs `spanStart` and `spanEnd`; `spanAttributes` is optional. */
const TELEMETRY: Check = (name, value) => {
  const backend = value as { spanStart?: unknown; spanEnd?: unknown; spanAttributes?: unknown } | null;
  const ok =
    typeof value === 'object' &&
    backend !== null &&
    typeof backend.spanStart === 'function' &&
    typeof backend.spanEnd === 'function' &&
    (backend.spanAttributes === undefined || typeof backend.spanAttributes === 'function');
  if (!ok) throw optionError(name, 'a telemetry backend ({ spanStart(span), spanEnd(span), spanAttributes?(span, attributes) }, or a Trace)', value);
  return value;
};

export const COORDINATOR_OPTIONS = {
  executor: option.any(), // checked in the constructor, with its own message
  agents: option.array('an array of agents (from defineAgent)'),
  plugins: option.array('an array of plugins (from definePlugin)'),
  registry: option.plainObject('a registry from createRegistry()'),
  planAttempts: option.number({ min: 1, integer: true }),
  telemetry: TELEMETRY,
} satisfies Record<keyof CoordinatorOptions, Check>;

const ZOD_OUTPUT: Check = (name, value) => {
  if (!(value instanceof z.ZodType)) throw optionError(name, "a zod (v4) schema of the run's answer", value);
  return value;
};

const RUN_OPTIONS = {
  output: ZOD_OUTPUT,
  budgetUsd: option.number({ min: 0 }),
  priority: option.number(),
  signal: option.signal(),
  onStepError: option.oneOf(POLICIES),
} satisfies Record<keyof RunOptions, Check>;

/** The options each entry point takes: plan() has no failure policy, a flow neither that nor an output. */
const RUN_OPTIONS_OF = {
  run: RUN_OPTIONS,
  execute: RUN_OPTIONS,
  plan: { output: RUN_OPTIONS.output, budgetUsd: RUN_OPTIONS.budgetUsd, priority: RUN_OPTIONS.priority, signal: RUN_OPTIONS.signal },
  flow: { budgetUsd: RUN_OPTIONS.budgetUsd, priority: RUN_OPTIONS.priority, signal: RUN_OPTIONS.signal },
} as const;

/** The coordinator's entry points, each with its own set of run options. */
export type RunMethod = keyof typeof RUN_OPTIONS_OF;

/** A run's options, checked before anything starts: a wrong one would otherwise pass for another (a budget of -1 for a spent one). */
export function checkRunOptions(options: unknown, method: RunMethod): void {
  checkOptions(`coordinator.${method}()`, options, RUN_OPTIONS_OF[method]);
}
