import type { EventEmitter } from 'eventemitter3';
import type { z } from 'zod';
import type { Agent } from '../agent/types.js';
import type { Executor } from '../executor/executor.js';
import type { Plugin, Registry } from '../plugins/plugin.js';
import type { Telemetry, TraceEvents } from '../telemetry/telemetry.js';
import type { Trace } from '../telemetry/trace.js';
import type { Plan, ValidatedPlan } from './plan.js';

export interface CoordinatorOptions {
  /** The shared executor: every sub-call of every run goes through it. */
  readonly executor: Executor;
  readonly agents?: readonly Agent[];
  readonly plugins?: readonly Plugin[];
  /** Or a registry you built. */
  readonly registry?: Registry;
  /** Planner attempts: a bad plan goes back to the planner with its issues. @default 3 */
  readonly planAttempts?: number;
  /**
   * Also tells this backend of every span of every run (an OpenTelemetry exporter, a run
   * record). Runs never wait for it, and it cannot break them. Each run's own `Trace` is
   * kept either way. @default undefined (the runs' traces only)
   */
  readonly telemetry?: Telemetry;
}

export interface RunOptions<O extends z.ZodType = z.ZodType> {
  /** The schema of the run's answer: the final step's output must fit it. */
  readonly output?: O;
  /** Stop the run, cleanly, once it has spent this much. */
  readonly budgetUsd?: number;
  /** Priority of this run's calls against other runs on the executor. @default 0 */
  readonly priority?: number;
  readonly signal?: AbortSignal;
  /** Failure policy for steps whose plan does not say. @default 'fail' */
  readonly onStepError?: 'retry' | 'skip' | 'fail';
}

export interface RunResult<O> {
  readonly output: O;
  /** Every step's output (null for a skipped step; an array for a fan-out). */
  readonly steps: Readonly<Record<string, unknown>>;
  readonly plan: Plan | undefined;
  readonly costUsd: number;
  readonly costByAgent: Readonly<Record<string, number>>;
  /** Agent runs made, and model calls made by them. */
  readonly agentCalls: number;
  readonly modelCalls: number;
  readonly retries: number;
  readonly wallMs: number;
  readonly trace: Trace;
}

/** Code-first orchestration: the same executor, trace and budget as a planned run. */
export interface Flow {
  run<I extends z.ZodType, O extends z.ZodType>(agent: Agent<I, O>, input: z.input<I>): Promise<z.output<O>>;
  /** One agent over many inputs, in parallel through the executor. */
  map<I extends z.ZodType, O extends z.ZodType>(agent: Agent<I, O>, inputs: readonly z.input<I>[]): Promise<z.output<O>[]>;
  /** Folds items one after another: each call gets the accumulator and the next item. */
  reduce<I extends z.ZodType, O extends z.ZodType, A>(
    agent: Agent<I, O>,
    items: readonly unknown[],
    initial: A,
    step: { readonly input: (accumulator: A, item: unknown) => z.input<I>; readonly next?: (output: z.output<O>, accumulator: A) => A },
  ): Promise<A>;
  /** Runs functions one after another, each given the previous one's result. */
  sequence<T>(first: () => Promise<T>, ...rest: ((previous: unknown) => Promise<unknown>)[]): Promise<unknown>;
  parallel<T extends readonly (() => Promise<unknown>)[]>(tasks: T): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }>;
  /** Totals and the trace so far. */
  result(): Omit<RunResult<undefined>, 'output' | 'steps' | 'plan'>;
  /** Ends the flow's run span. */
  end(): void;
}

export interface Coordinator {
  readonly registry: Registry;
  /**
   * Spans as they start and end, for every run. A listener that throws does not break the
   * run: its error goes to `listener-error` listeners, or is thrown again on its own.
   */
  readonly events: EventEmitter<TraceEvents>;
  /** Plans a task with the planner agent, checks the plan (repairing it from its issues), then runs it. */
  run<O extends z.ZodType = z.ZodUnknown>(task: string, options?: RunOptions<O>): Promise<RunResult<z.output<O>>>;
  /** Checks and runs a plan you wrote. */
  execute<O extends z.ZodType = z.ZodUnknown>(plan: Plan, options?: RunOptions<O>): Promise<RunResult<z.output<O>>>;
  /** Plans only: the validated plan, or PlanError. */
  plan(task: string, options?: Pick<RunOptions, 'output' | 'priority' | 'signal' | 'budgetUsd'>): Promise<ValidatedPlan>;
  flow(options?: Omit<RunOptions, 'output' | 'onStepError'>): Flow;
  /** Detaches from the executor's events (the executor itself stays open: it is shared). */
  close(): void;
}
