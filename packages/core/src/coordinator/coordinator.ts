import { EventEmitter } from 'eventemitter3';
import { z } from 'zod';
import { BudgetGate } from '../agent/budget-gate.js';
import { endsTheWork, mayRetryStep } from '../agent/ask-again.js';
import { defineAgent, type Agent } from '../agent/define-agent.js';
import {
  AbortError,
  PlanError,
  type PlanIssue,
  ShoalConfigError,
  ShoalError,
  StepFailedError,
  StructuredOutputError,
  formatIssues,
} from '../errors.js';
import type { Executor } from '../executor/executor.js';
import { type SpentResult, Tally } from '../budget/tally.js';
import { picoToUsd, usdToPico } from '../util/money.js';
import { createRegistry, type Plugin, type Registry } from '../plugins/plugin.js';
import { toJsonSchema, zodIssues } from '../structured/structured-output.js';
import { type Check, checkOptions, expectNumber, isPlainObject, option, optionError } from '../util/options.js';
import { type Plan, type PlanStep, type ValidatedPlan, getPath, parseItemPath, parseReference, planSchema, typeOf, validatePlan } from './plan.js';
import { type Span, Trace, type TraceEvents } from './trace.js';

export interface CoordinatorOptions {
  /** The shared executor: every sub-call of every run goes through it. */
  readonly executor: Executor;
  readonly agents?: readonly Agent[];
  readonly plugins?: readonly Plugin[];
  /** Or a registry you built. */
  readonly registry?: Registry;
  /** Planner attempts: a bad plan goes back to the planner with its issues. @default 3 */
  readonly planAttempts?: number;
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
  /** Spans as they start and end, for every run. */
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

const catalogueEntry = z.object({ name: z.string(), description: z.string(), inputSchema: z.unknown(), outputSchema: z.unknown() });

/** The planner: itself an agent on the same executor. */
export const plannerAgent = defineAgent({
  name: 'shoal.planner',
  description: 'Turns a task into a plan of agent steps.',
  input: z.object({
    task: z.string().min(1),
    agents: z.array(catalogueEntry).min(1),
    output: z.unknown().optional(),
    previousPlan: z.unknown().optional(),
    problems: z.array(z.string()).optional(),
  }),
  output: planSchema,
  instructions: [
    "You are shoal's planner. Break the task into steps, each run by one of the listed agents (use their names exactly; inputs must fit their inputSchema).",
    'A step is {"id", "agent", "input", "dependsOn"?, "forEach"?, "onError"?}. An input value is a literal, or {"$ref": "stepId.path.to[0].field"} for (part of) an earlier step\'s output.',
    'A fan-out step has "forEach": {"$ref": "stepId.arrayField"} (or a literal array) and runs its agent once per element; inside its input, {"$item": "path"} is the current element (or {"$item": ""} for the whole element). Its output is the array of results.',
    '"output" names the step whose output answers the task; when an output JSON Schema is given, that step\'s agent must produce it.',
    'Prefer few steps and fan-outs over many single steps. If "problems" are listed, they are what was wrong with "previousPlan": fix every one.',
  ].join('\n'),
  maxAttempts: 2,
});

export function createCoordinator(options: CoordinatorOptions): Coordinator {
  return new ShoalCoordinator(options);
}

/** Shared by a planned run and a flow: budget, totals, trace, cancellation. */
class RunContext {
  readonly trace: Trace;
  readonly root: Span;
  readonly controller = new AbortController();
  /** Summed in the ledger's integer unit (pico-USD), so many small costs add up exactly. */
  readonly #costByAgent = new Map<string, bigint>();
  /** What the run's agent calls spent (an agent call that failed is not booked). */
  readonly #spend = new Tally();
  readonly started = performance.now();
  agentCalls = 0;
  modelCalls = 0;
  retries = 0;
  readonly #unlink: (() => void) | undefined;
  /** With a run budget: admission of its agent calls. */
  readonly #gate: BudgetGate | undefined;

  constructor(
    readonly coordinator: ShoalCoordinator,
    readonly options: Omit<RunOptions, 'output'>,
    name: string,
    attributes: Record<string, unknown>,
  ) {
    checkRunOptions(options, name === 'run' && 'plan' in attributes ? 'execute' : name);
    this.trace = new Trace(coordinator.events);
    this.root = this.trace.start('run', name, undefined, { ...attributes, priority: options.priority ?? 0, budgetUsd: options.budgetUsd });
    // A cancelled run wakes every call waiting for budget room, which then throws.
    this.#gate = options.budgetUsd === undefined ? undefined : new BudgetGate(options.budgetUsd, this.#spend, this.controller.signal);
    const signal = options.signal;
    if (signal) {
      // Whatever the caller aborted with, sub-calls and the caller see an AbortError (or the caller's own shoal error).
      const onAbort = () =>
        this.controller.abort(ShoalError.isInstance(signal.reason) ? signal.reason : new AbortError('The run was cancelled.', { cause: signal.reason }));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.#unlink = () => signal.removeEventListener('abort', onAbort);
      }
    }
  }

  readonly #pending = new Set<Promise<unknown>>();

  /** Waits for every agent call of the run still going (after a failure, the others stop at once). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  get costUsd(): number {
    return this.#spend.costUsd;
  }

  get costByAgent(): Record<string, number> {
    return Object.fromEntries([...this.#costByAgent].map(([agent, pico]) => [agent, picoToUsd(pico)]));
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Runs one agent for this run: budget first, a span, the run's signal (or a narrower one) and priority. */
  runAgent<I extends z.ZodType, O extends z.ZodType>(
    agent: Agent<I, O>,
    input: z.input<I>,
    parent: Span,
    priority: number,
    signal?: AbortSignal,
    cache?: 'refresh',
  ): Promise<z.output<O>> {
    const call = this.#runAgent(agent, input, parent, priority, signal, cache);
    this.#pending.add(call);
    void call.then(
      () => this.#pending.delete(call),
      () => this.#pending.delete(call),
    );
    return call;
  }

  async #runAgent<I extends z.ZodType, O extends z.ZodType>(
    agent: Agent<I, O>,
    input: z.input<I>,
    parent: Span,
    priority: number,
    signal: AbortSignal | undefined,
    cache: 'refresh' | undefined,
  ): Promise<z.output<O>> {
    await this.#gate?.admit();
    let charged = false;
    const span = this.trace.start('agent-call', agent.name, parent.id, { input });
    this.coordinator.watch(span.id, this);
    this.agentCalls++;
    try {
      if (this.controller.signal.aborted) throw this.controller.signal.reason;
      const result = await agent.run(input, {
        executor: this.coordinator.executor,
        priority,
        signal: signal ?? this.controller.signal,
        spanId: span.id,
        ...(this.#gate ? { budgetUsd: this.#gate.projection.remainingUsd() } : {}),
        ...(cache ? { cache } : {}),
      });
      this.#charge(agent.name, result);
      charged = true;
      this.trace.end(span, 'ok', { attempts: result.attempts, costUsd: result.costUsd, usage: result.usage, stage: result.stage, jobIds: result.jobIds });
      return result.output;
    } catch (error) {
      this.trace.end(span, 'error', { error: describe(error) });
      throw error;
    } finally {
      this.coordinator.unwatch(span.id);
      this.#gate?.release(charged);
    }
  }

  /** Books an agent call's result (the float edge: its `costUsd` back to pico-dollars, once). */
  #charge(agent: string, result: SpentResult): void {
    const pico = usdToPico(result.costUsd) ?? 0n;
    this.#spend.book(result.usage, pico, result.attempts ?? 1);
    this.#costByAgent.set(agent, (this.#costByAgent.get(agent) ?? 0n) + pico);
    // Spent: stop the run. Its queued sub-calls are dropped at once (a fan-out may have queued
    // hundreds); calls already running are abandoned, their jobs still booked by the executor.
    const budget = this.#gate?.projection;
    if (budget?.exhausted && !this.controller.signal.aborted) this.controller.abort(budget.error());
  }

  totals() {
    return {
      costUsd: this.costUsd,
      costByAgent: this.costByAgent,
      agentCalls: this.agentCalls,
      modelCalls: this.modelCalls,
      retries: this.retries,
      wallMs: performance.now() - this.started,
      trace: this.trace,
    };
  }

  finish(status: 'ok' | 'error', attributes: Record<string, unknown> = {}): void {
    this.#unlink?.();
    this.trace.end(this.root, status, { costUsd: this.costUsd, agentCalls: this.agentCalls, modelCalls: this.modelCalls, ...attributes });
  }
}

class ShoalCoordinator implements Coordinator {
  readonly events = new EventEmitter<TraceEvents>();
  readonly registry: Registry;
  readonly executor: Executor;
  readonly #ready: Promise<void>;
  readonly #planAttempts: number;
  /** Agent-call spans of live runs, so executor events can become model-job spans. */
  readonly #watched = new Map<string, { context: RunContext; jobs: Map<string, Span> }>();

  constructor(options: CoordinatorOptions) {
    if (isPlainObject(options)) checkOptions('createCoordinator()', options, COORDINATOR_OPTIONS);
    if (!options?.executor || typeof options.executor.complete !== 'function') {
      throw new ShoalConfigError('createCoordinator() needs { executor }: the shared executor all sub-calls go through.');
    }
    this.executor = options.executor;
    const registry = options.registry ?? createRegistry({ agents: options.agents ?? [] });
    if (options.registry && options.agents) registry.add(...options.agents);
    this.registry = registry;
    this.#ready = (async () => {
      for (const plugin of options.plugins ?? []) await registry.use(plugin);
    })();
    this.#ready.catch(() => {}); // surfaced by the first run
    this.#planAttempts = expectNumber('planAttempts', options.planAttempts ?? 3, { min: 1, integer: true });
    this.#listen();
  }

  watch(spanId: string, context: RunContext): void {
    this.#watched.set(spanId, { context, jobs: new Map() });
  }

  unwatch(spanId: string): void {
    const watched = this.#watched.get(spanId);
    if (!watched) return;
    for (const span of watched.jobs.values()) watched.context.trace.end(span, 'error', { error: 'the agent call ended first' });
    this.#watched.delete(spanId);
  }

  /** Executor events of watched agent calls become model-job spans (job id, attempts, polls, tokens, USD, timings). */
  readonly #detach: (() => void)[] = [];

  close(): void {
    for (const detach of this.#detach.splice(0)) detach();
  }

  #listen(): void {
    const events = this.executor.events;
    const on = <E extends 'job-created' | 'call-retry' | 'call-end' | 'call-error'>(name: E, listener: Parameters<typeof events.on<E>>[1]) => {
      events.on(name, listener);
      this.#detach.push(() => events.off(name, listener));
    };
    on('job-created', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      if (!watched) return;
      const previous = watched.jobs.get(e.callId);
      if (previous) watched.context.trace.end(previous, 'error', { error: 'replaced by a new job' });
      watched.context.modelCalls++;
      watched.jobs.set(e.callId, watched.context.trace.start('model-job', e.jobId, e.spanId, { jobId: e.jobId, attempt: e.attempt, callId: e.callId }));
    });
    on('call-retry', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      if (!watched) return;
      watched.context.retries++;
      const job = watched.jobs.get(e.callId);
      if (job) {
        watched.context.trace.end(job, 'error', { error: `${e.error.code}: ${e.error.message}` });
        watched.jobs.delete(e.callId);
      }
    });
    on('call-end', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      if (!watched) return;
      const job = watched.jobs.get(e.callId);
      if (job) {
        watched.context.trace.end(job, 'ok', { attempts: e.attempts, requests: e.requests, polls: Math.max(0, e.requests - 1), usage: e.usage, costUsd: e.costUsd, durationMs: e.durationMs });
        watched.jobs.delete(e.callId);
      }
    });
    on('call-error', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      const job = watched?.jobs.get(e.callId);
      if (watched && job) {
        watched.context.trace.end(job, 'error', { error: `${e.error.code}: ${e.error.message}`, attempts: e.attempts });
        watched.jobs.delete(e.callId);
      }
    });
  }

  /** Agents by name, with their names listed for plan issues ("unknown agent `x` (known: ...)"). */
  get #lookup(): ((name: string) => Agent | undefined) & { names: () => string[] } {
    return Object.assign((name: string) => this.registry.get(name), { names: () => this.registry.list().map((entry) => entry.name) });
  }

  async plan(task: string, options: Pick<RunOptions, 'output' | 'priority' | 'signal' | 'budgetUsd'> = {}): Promise<ValidatedPlan> {
    const context = new RunContext(this, options, 'plan', { task });
    try {
      const validated = await this.#plan(task, options.output, context);
      context.finish('ok');
      return validated;
    } catch (error) {
      context.finish('error', { error: describe(error) });
      throw error;
    }
  }

  async #plan(task: string, output: z.ZodType | undefined, context: RunContext): Promise<ValidatedPlan> {
    await this.#ready;
    if (typeof task !== 'string' || task.trim() === '') throw new ShoalConfigError('coordinator.run() needs a task: a non-empty string.');
    const agents = this.registry.list().map(({ name, description, inputSchema, outputSchema }) => ({ name, description, inputSchema, outputSchema }));
    if (agents.length === 0) throw new ShoalConfigError('The coordinator has no agents to plan with: pass `agents` or `plugins` to createCoordinator().');
    const outputSchema = output ? toJsonSchema(output) : undefined;
    const span = context.trace.start('step', 'plan', context.root.id, { agent: plannerAgent.name });
    let issues: PlanIssue[] = [];
    let previous: unknown;
    for (let attempt = 1; attempt <= this.#planAttempts; attempt++) {
      let proposed: unknown;
      try {
        proposed = await context.runAgent(
          plannerAgent,
          { task, agents, ...(outputSchema ? { output: outputSchema } : {}), ...(issues.length ? { previousPlan: previous, problems: issues.map(formatPlanIssue) } : {}) },
          span,
          this.#priority(context, 1, 1),
        );
      } catch (error) {
        if (!StructuredOutputError.isInstance(error)) {
          context.trace.end(span, 'error', { error: describe(error) });
          throw error;
        }
        issues = error.issues.map((i) => ({ step: undefined, message: `${i.path.join('.') || '(plan)'}: ${i.message}` }));
        previous = error.text;
        continue;
      }
      const checked = validatePlan(proposed, this.#lookup);
      const finalIssues = checked.ok && output ? checkFinal(checked.value.plan, outputSchema!, this.#lookup) : [];
      if (checked.ok && finalIssues.length === 0) {
        context.trace.end(span, 'ok', { attempts: attempt, steps: checked.value.plan.steps.length });
        return checked.value;
      }
      issues = checked.ok ? finalIssues : checked.issues;
      previous = proposed;
    }
    const error = new PlanError(issues, previous, this.#planAttempts);
    context.trace.end(span, 'error', { error: describe(error), issues });
    throw error;
  }

  async run<O extends z.ZodType = z.ZodUnknown>(task: string, options: RunOptions<O> = {}): Promise<RunResult<z.output<O>>> {
    const context = new RunContext(this, options, 'run', { task });
    try {
      const validated = await this.#plan(task, options.output, context);
      return await this.#execute(validated, options, context);
    } catch (error) {
      context.finish('error', { error: describe(error) });
      throw error;
    }
  }

  async execute<O extends z.ZodType = z.ZodUnknown>(plan: Plan, options: RunOptions<O> = {}): Promise<RunResult<z.output<O>>> {
    await this.#ready;
    const context = new RunContext(this, options, 'run', { plan: 'given' });
    try {
      const checked = validatePlan(plan, this.#lookup);
      const issues = checked.ok ? (options.output ? checkFinal(checked.value.plan, toJsonSchema(options.output), this.#lookup) : []) : checked.issues;
      if (!checked.ok || issues.length > 0) throw new PlanError(issues, plan, 0);
      return await this.#execute(checked.value, options, context);
    } catch (error) {
      context.finish('error', { error: describe(error) });
      throw error;
    }
  }

  /** Within a run, earlier stages outrank later ones (a fraction below 1); across runs the caller's priority decides. */
  #priority(context: RunContext, depth: number, maxDepth: number): number {
    return (context.options.priority ?? 0) + (maxDepth + 1 - depth) / (maxDepth + 2);
  }

  async #execute<O extends z.ZodType>(validated: ValidatedPlan, options: RunOptions<O>, context: RunContext): Promise<RunResult<z.output<O>>> {
    const { plan, order, dependencies, depth } = validated;
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    const maxDepth = Math.max(...depth.values());
    const outputs = new Map<string, unknown>();
    const finished = new Map<string, Promise<void>>();
    const snapshot = () => Object.fromEntries(outputs);
    for (const id of order) {
      const step = byId.get(id)!;
      const deps = [...dependencies.get(id)!];
      finished.set(
        id,
        (async () => {
          // A step starts as soon as everything it reads exists.
          await Promise.all(deps.map((d) => finished.get(d)));
          outputs.set(id, await this.#runStep(step, outputs, context, this.#priority(context, depth.get(id)!, maxDepth), options.onStepError ?? 'fail', snapshot));
        })(),
      );
    }
    const all = [...finished.values()];
    try {
      await Promise.all(all);
    } catch (error) {
      // The first failure cancels every sub-call of the run still queued or running.
      context.controller.abort(error);
      await Promise.allSettled(all);
      await context.settled(); // fan-out siblings end (and close their spans) before the run does
      throw error;
    }
    let output = outputs.get(plan.output);
    if (options.output) {
      const parsed = options.output.safeParse(output);
      if (!parsed.success) throw new StepFailedError(plan.output, new Error(`its output does not fit the run's output schema: ${formatIssues(zodIssues(parsed.error))}`), snapshot(), context.costUsd);
      output = parsed.data;
    }
    context.finish('ok');
    return { output: output as z.output<O>, steps: snapshot(), plan, ...context.totals() };
  }

  async #runStep(step: PlanStep, outputs: Map<string, unknown>, context: RunContext, priority: number, fallback: 'retry' | 'skip' | 'fail', snapshot: () => Record<string, unknown>): Promise<unknown> {
    const agent = this.registry.get(step.agent)!;
    const policy = step.onError ?? fallback;
    const span = context.trace.start('step', step.id, context.root.id, { agent: step.agent, policy, ...(step.forEach ? { fanOut: true } : {}) });
    const once = async (input: unknown): Promise<unknown> => {
      try {
        return await context.runAgent(agent, input as never, span, priority);
      } catch (error) {
        if (policy !== 'retry' || !mayRetryStep(error) || context.aborted) throw error;
        context.retries++;
        // An unreadable answer sits in the result cache: ask again rather than read it back.
        // A timed-out call's job, if one was made, is re-attached to by the executor (same request, same process).
        return context.runAgent(agent, input as never, span, priority, undefined, StructuredOutputError.isInstance(error) ? 'refresh' : undefined);
      }
    };
    try {
      let output: unknown;
      if (step.forEach) {
        const items = Array.isArray(step.forEach) ? step.forEach : resolveReference(step.forEach.$ref, outputs);
        if (!Array.isArray(items)) throw new ShoalError('STEP_FAILED', `forEach of step \`${step.id}\` did not resolve to an array`, false);
        span.attributes.items = items.length;
        // The fan-out goes to the executor at once: its queue and limits govern it. Under `skip`, a failed element is null.
        output = await Promise.all(
          items.map((item) =>
            once(resolveInput(step.input, outputs, item)).catch((error: unknown) => {
              if (policy === 'skip' && !endsTheWork(error) && !context.aborted) return null;
              throw error;
            }),
          ),
        );
      } else {
        output = await once(resolveInput(step.input, outputs, undefined));
      }
      context.trace.end(span, 'ok');
      return output;
    } catch (error) {
      if (policy === 'skip' && !endsTheWork(error) && !context.aborted) {
        context.trace.end(span, 'skipped', { error: describe(error) });
        return null; // dependants see null
      }
      context.trace.end(span, 'error', { error: describe(error) });
      if (context.aborted && context.controller.signal.reason !== undefined && ShoalError.isInstance(context.controller.signal.reason) && !ShoalError.isInstance(error)) {
        throw context.controller.signal.reason;
      }
      if (ShoalError.isInstance(error) && (error.code === 'BUDGET_EXCEEDED' || error.code === 'ABORTED' || error.code === 'STEP_FAILED')) throw error;
      throw new StepFailedError(step.id, error, snapshot(), context.costUsd);
    }
  }

  flow(options: Omit<RunOptions, 'output' | 'onStepError'> = {}): Flow {
    const context = new RunContext(this, options, 'flow', {});
    const priority = options.priority ?? 0;
    let stage = 0;
    const stepSpan = (name: string) => context.trace.start('step', name, context.root.id, { stage: stage++ });
    const wrap = async <T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> => {
      const span = stepSpan(name);
      try {
        const value = await fn(span);
        context.trace.end(span, 'ok');
        return value;
      } catch (error) {
        context.trace.end(span, 'error', { error: describe(error) });
        throw error;
      }
    };
    const flow: Flow = {
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
    return flow;
  }
}

const POLICIES: readonly unknown[] = ['retry', 'skip', 'fail'];

const COORDINATOR_OPTIONS = {
  executor: option.any(), // checked in the constructor, with its own message
  agents: option.array('an array of agents (from defineAgent)'),
  plugins: option.array('an array of plugins (from definePlugin)'),
  registry: option.plainObject('a registry from createRegistry()'),
  planAttempts: option.number({ min: 1, integer: true }),
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

/** A run's options, checked before anything starts: a wrong one would otherwise pass for another (a budget of -1 for a spent one). */
function checkRunOptions(options: unknown, method: string): void {
  const spec = RUN_OPTIONS_OF[method as keyof typeof RUN_OPTIONS_OF] ?? RUN_OPTIONS;
  checkOptions(`coordinator.${method}()`, options, spec);
}

function resolveReference(ref: string, outputs: Map<string, unknown>): unknown {
  const parsed = parseReference(ref)!;
  return getPath(outputs.get(parsed.step), parsed.path);
}

/** Replaces every {"$ref"} and {"$item"} in an input with the value it names. */
function resolveInput(value: unknown, outputs: Map<string, unknown>, item: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveInput(v, outputs, item));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && typeof record.$ref === 'string') return resolveReference(record.$ref, outputs);
  if (keys.length === 1 && '$item' in record) return getPath(item, parseItemPath((record.$item as string | null) ?? '') ?? []);
  return Object.fromEntries(keys.map((k) => [k, resolveInput(record[k], outputs, item)]));
}

/** When the caller gives an output schema, the final step's agent must produce it: same fields, same types. */
function checkFinal(plan: Plan, outputSchema: Record<string, unknown>, lookup: (name: string) => Agent | undefined): PlanIssue[] {
  const step = plan.steps.find((s) => s.id === plan.output);
  const agent = step ? lookup(step.agent) : undefined;
  if (!step || !agent) return [];
  if (step.forEach) return outputSchema.type === 'array' ? [] : [{ step: step.id, message: 'the output step is a fan-out (an array) but the run asks for an object' }];
  const produced = agent.metadata().outputSchema as { properties?: Record<string, Record<string, unknown>> };
  const wanted = outputSchema as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  const issues: PlanIssue[] = [];
  for (const key of wanted.required ?? []) {
    const have = produced.properties?.[key];
    if (!have) issues.push({ step: step.id, message: `the output step's agent \`${agent.name}\` does not produce \`${key}\`, which the run's output needs` });
    else {
      const need = typeOf(wanted.properties?.[key]);
      const got = typeOf(have);
      if (need !== undefined && got !== undefined && need !== got) issues.push({ step: step.id, message: `\`${key}\` is ${got} from \`${agent.name}\` but the run's output needs ${need}` });
    }
  }
  return issues;
}

function formatPlanIssue(issue: PlanIssue): string {
  return issue.step ? `step "${issue.step}": ${issue.message}` : issue.message;
}

function describe(error: unknown): string {
  return ShoalError.isInstance(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}
