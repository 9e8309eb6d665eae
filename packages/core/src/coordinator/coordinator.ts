import { EventEmitter } from 'eventemitter3';
import type { z } from 'zod';
import type { Agent } from '../agent/types.js';
import { PlanError, ShoalConfigError } from '../errors.js';
import type { Executor } from '../executor/executor.js';
import { createRegistry, type Registry } from '../plugins/plugin.js';
import { toJsonSchema } from '../structured/structured-output.js';
import { JobSpans } from '../telemetry/job-spans.js';
import type { Telemetry, TraceEvents } from '../telemetry/telemetry.js';
import { describeError } from '../telemetry/tracer.js';
import { checkOptions, expectNumber, isPlainObject } from '../util/options.js';
import { checkFinal } from './final-output.js';
import { flowOf } from './flow.js';
import { COORDINATOR_OPTIONS } from './options.js';
import { type Plan, type ValidatedPlan, validatePlan } from './plan.js';
import { planTask } from './planner.js';
import { RunContext, type RunServices } from './run-context.js';
import { runPlan } from './run-plan.js';
import type { Coordinator, CoordinatorOptions, Flow, RunOptions, RunResult } from './types.js';

/**
 * A coordinator of agents on one executor: planned runs (`run`), your own plans (`execute`) and code-first flows (`flow`), with one trace and budget per run.
 */
export function createCoordinator(options: CoordinatorOptions): Coordinator {
  return new ShoalCoordinator(options);
}

/**
 * Wires the parts: the registry (plugins loaded once, before the first run), the planner
 * (`planner.ts`), plan execution (`run-plan.ts`), flows (`flow.ts`), each run's context
 * (`run-context.ts`), and the span bridge from the executor's events (`telemetry/`).
 */
class ShoalCoordinator implements Coordinator {
  readonly events = new EventEmitter<TraceEvents>();
  readonly registry: Registry;
  readonly #services: RunServices;
  readonly #ready: Promise<void>;
  readonly #planAttempts: number;

  constructor(options: CoordinatorOptions) {
    if (isPlainObject(options)) checkOptions('createCoordinator()', options, COORDINATOR_OPTIONS);
    if (!options?.executor || typeof options.executor.complete !== 'function') {
      throw new ShoalConfigError('createCoordinator() needs { executor }: the shared executor all sub-calls go through.');
    }
    const executor: Executor = options.executor;
    const registry = options.registry ?? createRegistry({ agents: options.agents ?? [] });
    if (options.registry && options.agents) registry.add(...options.agents);
    this.registry = registry;
    this.#ready = (async () => {
      for (const plugin of options.plugins ?? []) await registry.use(plugin);
    })();
    this.#ready.catch(() => {}); // surfaced by the first run
    this.#planAttempts = expectNumber('planAttempts', options.planAttempts ?? 3, { min: 1, integer: true });
    const telemetry: Telemetry | undefined = options.telemetry;
    this.#services = { executor, events: this.events, telemetry, jobSpans: new JobSpans(executor) };
  }

  close(): void {
    this.#services.jobSpans.close();
  }

  /** Agents by name, with their names listed for plan issues ("unknown agent `x` (known: ...)"). */
  get #lookup(): ((name: string) => Agent | undefined) & { names: () => string[] } {
    return Object.assign((name: string) => this.registry.get(name), { names: () => this.registry.list().map((entry) => entry.name) });
  }

  async plan(task: string, options: Pick<RunOptions, 'output' | 'priority' | 'signal' | 'budgetUsd'> = {}): Promise<ValidatedPlan> {
    const context = new RunContext(this.#services, options, 'plan', { task });
    try {
      const validated = await this.#plan(task, options.output, context);
      context.finish('ok');
      return validated;
    } catch (error) {
      context.finish('error', { error: describeError(error) });
      throw error;
    }
  }

  async run<O extends z.ZodType = z.ZodUnknown>(task: string, options: RunOptions<O> = {}): Promise<RunResult<z.output<O>>> {
    const context = new RunContext(this.#services, options, 'run', { task });
    try {
      const validated = await this.#plan(task, options.output, context);
      return await runPlan(validated, options, context, this.#lookup);
    } catch (error) {
      context.finish('error', { error: describeError(error) });
      throw error;
    }
  }

  async execute<O extends z.ZodType = z.ZodUnknown>(plan: Plan, options: RunOptions<O> = {}): Promise<RunResult<z.output<O>>> {
    await this.#ready;
    const context = new RunContext(this.#services, options, 'execute', { plan: 'given' });
    try {
      const checked = validatePlan(plan, this.#lookup);
      const issues = checked.ok ? (options.output ? checkFinal(checked.value.plan, toJsonSchema(options.output), this.#lookup) : []) : checked.issues;
      if (!checked.ok || issues.length > 0) throw new PlanError(issues, plan, 0);
      return await runPlan(checked.value, options, context, this.#lookup);
    } catch (error) {
      context.finish('error', { error: describeError(error) });
      throw error;
    }
  }

  flow(options: Omit<RunOptions, 'output' | 'onStepError'> = {}): Flow {
    return flowOf(new RunContext(this.#services, options, 'flow', {}));
  }

  async #plan(task: string, output: z.ZodType | undefined, context: RunContext): Promise<ValidatedPlan> {
    await this.#ready;
    return planTask(task, output, context, { registry: this.registry, lookup: this.#lookup, attempts: this.#planAttempts });
  }
}
