import type { AgentRunOptions, Executor, Usage } from '@shoal/core';
import { picoToUsd, usdToPico } from '@shoal/core/internal';
import { z } from 'zod';

export { parseOptions } from './parse-options.js';

/** Totals over the agent calls of one operation. */
export class Tally {
  calls = 0;
  inputTokens = 0;
  cachedInputTokens = 0;
  outputTokens = 0;
  /** Summed in integer pico-dollars, the ledger's unit: a float sum of small costs drifts (0.000005 + 0.000189 is 0.00019400000000000003). */
  #costPico = 0n;

  /** USD spent so far, exact to the pico-dollar. */
  get costUsd(): number {
    return picoToUsd(this.#costPico);
  }

  add(result: { readonly usage: Usage; readonly costUsd: number; readonly attempts?: number; readonly calls?: number }): void {
    this.calls += result.calls ?? result.attempts ?? 1;
    this.inputTokens += result.usage.inputTokens;
    this.cachedInputTokens += result.usage.cachedInputTokens;
    this.outputTokens += result.usage.outputTokens;
    // Costs come from picoToUsd, so they are finite and not negative; anything else is not money and adds nothing.
    this.#costPico += usdToPico(result.costUsd) ?? 0n;
  }

  usage(): Usage {
    return { inputTokens: this.inputTokens, cachedInputTokens: this.cachedInputTokens, outputTokens: this.outputTokens };
  }
}

/** The options every ready-made agent passes on to its calls, checked the same way everywhere. */
export const callOptionsShape = {
  executor: z.custom<Executor>((v) => typeof (v as Executor | undefined)?.complete === 'function', 'an executor: create one with createExecutor({ provider }) and pass it'),
  priority: z.number().optional(),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
  budgetUsd: z.number().min(0).optional(),
  tags: z.array(z.string()).optional(),
  timeoutMs: z.number().positive().optional(),
};

/** The run options of one agent call in `scope`: the caller's, with `tag` first, the scope's signal and what is left of the budget. */
export function agentRunOptions(options: AgentCallOptions, tag: string, scope: { readonly signal: AbortSignal; remainingUsd(): number | undefined }): AgentRunOptions {
  const remaining = scope.remainingUsd();
  return {
    executor: options.executor,
    tags: [tag, ...(options.tags ?? [])],
    signal: scope.signal,
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(remaining !== undefined ? { budgetUsd: remaining } : {}),
  };
}

/** What every ready-made agent's result reports about its spending. */
export interface Spending {
  /** Model calls made, re-asks included. */
  readonly calls: number;
  readonly usage: Usage;
  readonly costUsd: number;
  readonly durationMs: number;
}

/** Texts given as plain strings (their id is their index) or as `{ id, text }`. */
export const textsSchema = z.array(z.union([z.string(), z.object({ id: z.string().min(1), text: z.string() })]));

export function withIds(texts: readonly (string | { readonly id: string; readonly text: string })[]): { id: string; text: string }[] {
  return texts.map((t, i) => (typeof t === 'string' ? { id: String(i), text: t } : { id: t.id, text: t.text }));
}

/**
 * Options every ready-made agent takes and passes on to its model calls: the agent API's
 * run options (its budget covers the whole operation, admitted call by call).
 */
export type AgentCallOptions = Omit<AgentRunOptions, 'spanId'>;
