import type { EventEmitter } from 'eventemitter3';
import type { z } from 'zod';
import { BudgetGate } from '../agent/budget-gate.js';
import type { Agent } from '../agent/types.js';
import { type SpentResult, Tally } from '../budget/tally.js';
import { abortError } from '../errors.js';
import type { Executor } from '../executor/executor.js';
import { refuseUnpricedBudget } from '../providers/prices.js';
import type { JobSpans } from '../telemetry/job-spans.js';
import type { Span, Telemetry, TraceEvents } from '../telemetry/telemetry.js';
import { Trace } from '../telemetry/trace.js';
import { describeError, spanEvents, Tracer } from '../telemetry/tracer.js';
import { picoToUsd, usdToPico } from '../util/money.js';
import { checkRunOptions, type RunMethod } from './options.js';
import type { RunOptions } from './types.js';

/** What every run of one coordinator shares. */
export interface RunServices {
  readonly executor: Executor;
  /** The coordinator's span events. */
  readonly events: EventEmitter<TraceEvents>;
  /** The coordinator's telemetry backend, beside each run's own trace. */
  readonly telemetry: Telemetry | undefined;
  readonly jobSpans: JobSpans;
}

/** Shared by a planned run and a flow: budget, totals, spans, cancellation. */
export class RunContext {
  /** The run's own record of its spans. */
  readonly trace = new Trace();
  readonly tracer: Tracer;
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
  /** Agent calls still going, so a failed run can wait for them to end. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    readonly services: RunServices,
    readonly options: Omit<RunOptions, 'output'>,
    method: RunMethod,
    attributes: Record<string, unknown>,
  ) {
    checkRunOptions(options, method);
    refuseUnpricedBudget(services.executor, options.budgetUsd, `coordinator.${method}({ budgetUsd })`);
    const { events, telemetry } = services;
    this.tracer = new Tracer([this.trace, spanEvents(events), ...(telemetry ? [telemetry] : [])], events);
    const name = method === 'execute' ? 'run' : method;
    this.root = this.tracer.start('run', name, undefined, { ...attributes, priority: options.priority ?? 0, budgetUsd: options.budgetUsd });
    // A cancelled run wakes every call waiting for budget room, which then throws.
    this.#gate = options.budgetUsd === undefined ? undefined : new BudgetGate(options.budgetUsd, this.#spend, this.controller.signal);
    const signal = options.signal;
    if (signal) {
      // Whatever the caller aborted with, sub-calls and the caller see an AbortError (or the caller's own shoal error).
      const onAbort = () => this.controller.abort(abortError(signal, { what: 'run' }));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.#unlink = () => signal.removeEventListener('abort', onAbort);
      }
    }
  }

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

  /** Within a run earlier stages outrank later ones (a fraction below 1); across runs the caller's priority decides. */
  priorityAt(depth: number, maxDepth: number): number {
    return (this.options.priority ?? 0) + (maxDepth + 1 - depth) / (maxDepth + 2);
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
    // Where its model jobs go, and at what priority: what a backend names and groups them by (OpenTelemetry's GenAI attributes).
    const { provider } = this.services.executor;
    const span = this.tracer.start('agent-call', agent.name, parent.id, { input, priority, provider: provider.name, model: provider.model });
    this.services.jobSpans.watch(span.id, { span, tracer: this.tracer, onJob: () => this.modelCalls++, onRetry: () => this.retries++ });
    this.agentCalls++;
    try {
      if (this.controller.signal.aborted) throw this.controller.signal.reason;
      const result = await agent.run(input, {
        executor: this.services.executor,
        priority,
        signal: signal ?? this.controller.signal,
        spanId: span.id,
        ...(this.#gate ? { budgetUsd: this.#gate.projection.remainingUsd() } : {}),
        ...(cache ? { cache } : {}),
      });
      this.#charge(agent.name, result);
      charged = true;
      this.tracer.end(span, 'ok', { attempts: result.attempts, costUsd: result.costUsd, usage: result.usage, stage: result.stage, jobIds: result.jobIds });
      return result.output;
    } catch (error) {
      this.tracer.end(span, 'error', { error: describeError(error) });
      throw error;
    } finally {
      this.services.jobSpans.unwatch(span.id);
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
    this.tracer.end(this.root, status, { costUsd: this.costUsd, agentCalls: this.agentCalls, modelCalls: this.modelCalls, ...attributes });
  }
}
