import type { AgentRunOptions, Executor, Usage } from '@shoal/core';
import { z } from 'zod';

/** Totals over the agent calls of one operation: core's integer tally (calls, tokens, pico-dollars). */
export { Tally } from '@shoal/core/internal';
export { parseOptions } from './parse-options.js';

/** The options every ready-made agent passes on to its calls, checked the same way everywhere. */
export const callOptionsShape = {
  executor: z.custom<Executor>(
    (v) => typeof (v as Executor | undefined)?.complete === 'function',
    'an executor: create one with createExecutor({ provider }) and pass it',
  ),
  priority: z.number().optional(),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
  budgetUsd: z.number().min(0).optional(),
  tags: z.array(z.string()).optional(),
  timeoutMs: z.number().positive().optional(),
};

/** The run options of one agent call in `scope`: the caller's, with `tag` first, the scope's signal and what is left of the budget. */
export function agentRunOptions(
  options: AgentCallOptions,
  tag: string,
  scope: { readonly signal: AbortSignal; remainingUsd(): number | undefined },
): AgentRunOptions {
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
  /** Tokens the calls used. */
  readonly usage: Usage;
  /** What the calls cost, in USD. */
  readonly costUsd: number;
  /** Wall time of the operation. */
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
