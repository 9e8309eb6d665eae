import type { EventEmitter } from 'eventemitter3';
import type { z } from 'zod';
import type { Agent } from '../agent/types.js';
import type { Executor } from '../executor/executor.js';
import type { Plugin, Registry } from '../plugins/plugin.js';
import type { Telemetry, TraceEvents } from '../telemetry/telemetry.js';
import type { Trace } from '../telemetry/trace.js';
import type { Plan, ValidatedPlan } from './plan.js';

/** What `createCoordinator()` takes: the executor, and the agents (directly, from plugins, or in a registry). */
export interface CoordinatorOptions {
  /** The shared executor: every sub-call of every run goes through it. */
  readonly executor: Executor;
  /** Agents to plan and run with. */
  readonly agents?: readonly Agent[];
  /** Plugins whose agents join them (loaded once, before the first run). */
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

/** Options of a coordinated run (`run`, `execute`; some of them for `plan` and `flow`). */
export interface RunOptions<O extends z.ZodType = z.ZodType> {
  /** The schema of the run's answer: the final step's output must fit it. */
  readonly output?: O;
  /** Stop the run, cleanly, once it has spent this much. */
  readonly budgetUsd?: number;
  /** Priority of this run's calls against other runs on the executor. @default 0 */
  readonly priority?: number;
  /** Stops the run: every queued or running sub-call is cancelled. */
  readonly signal?: AbortSignal;
  /** Failure policy for steps whose plan does not say. @default 'fail' */
  readonly onStepError?: 'retry' | 'skip' | 'fail';
}

/** What a coordinated run resolves with. */
export interface RunResult<O> {
  /** The final step's output (parsed by the run's `output` schema, when it had one). */
  readonly output: O;
  /** Every step's output (null for a skipped step; an array for a fan-out). */
  readonly steps: Readonly<Record<string, unknown>>;
  /** The plan that ran. */
  readonly plan: Plan | undefined;
  /** What the run spent, in USD. */
  readonly costUsd: number;
  /** What the run spent per agent, in USD. */
  readonly costByAgent: Readonly<Record<string, number>>;
  /** Agent runs made, and model calls made by them. */
  readonly agentCalls: number;
  /** Model jobs created for the run's agent calls. */
  readonly modelCalls: number;
  /** Model calls retried by the executor during the run. */
  readonly retries: number;
  /** Wall time of the run. */
  readonly wallMs: number;
  /** The run's spans: run, steps, agent calls, model jobs and polls (`trace.toJSON()` for the tree). */
  readonly trace: Trace;
}

/** Code-first orchestration: the same executor, trace and budget as a planned run. */
export interface Flow {
  /** Runs one agent on one input; resolves with its output. */
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
  /** Runs the tasks at once; resolves with their results, in order. @typeParam T - The tasks: functions that return promises. */
  parallel<T extends readonly (() => Promise<unknown>)[]>(tasks: T): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }>;
  /** Totals and the trace so far. */
  result(): Omit<RunResult<undefined>, 'output' | 'steps' | 'plan'>;
  /** Ends the flow's run span. */
  end(): void;
}

/** What `createCoordinator()` returns. */
export interface Coordinator {
  /** The agents the coordinator knows, by name. */
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
  /** Starts a code-first flow: your code calls the agents, on the run's executor, trace and budget. */
  flow(options?: Omit<RunOptions, 'output' | 'onStepError'>): Flow;
  /** Detaches from the executor's events (the executor itself stays open: it is shared). */
  close(): void;
}
