import type { Agent, Executor } from '@shoal/core';
import type { InputItem } from '../items.js';
import { badInput, failed, type ItemOutcome } from '../outcome.js';
import type { WorkUnit } from '../run-units.js';
import { batchesByIndex } from './batches.js';

export interface AgentUnitOptions {
  readonly priority?: number;
  /** Inputs per model call (runMany's packing); 1 = one call per item. */
  readonly pack: number;
}

/**
 * `shoal run`: every item's value is parsed with the agent's input schema first; an item
 * that does not fit is a BAD_INPUT line with its line number and the schema's issues, and
 * costs nothing. The rest run one call each, or `pack` inputs a call through `runMany`.
 */
export function agentUnits(agent: Agent, items: readonly InputItem[], executor: Executor, options: AgentUnitOptions) {
  const known = new Map<number, ItemOutcome>();
  const good: { index: number; value: unknown }[] = [];
  items.forEach((item, index) => {
    if (!item.ok) {
      known.set(index, badInput(item.reason, item.line));
      return;
    }
    const parsed = agent.input.safeParse(item.value);
    if (parsed.success) good.push({ index, value: item.value });
    else {
      const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(the item)'}: ${i.message}`).join('; ');
      known.set(index, badInput(`line ${item.line} does not fit the agent's input: ${issues}`, item.line));
    }
  });
  const callOptions = { executor, ...(options.priority === undefined ? {} : { priority: options.priority }) };
  const units: WorkUnit[] = [];
  if (options.pack <= 1) {
    for (const { index, value } of good) {
      units.push({
        indexes: [index],
        run: async () => {
          try {
            return [{ ok: true, output: (await agent.run(value, callOptions)).output }];
          } catch (error) {
            return [failed(error)];
          }
        },
      });
    }
  } else {
    for (const batch of batchesByIndex(good, options.pack)) {
      units.push({
        indexes: batch.map((b) => b.index),
        run: async () => {
          const result = await agent.runMany(
            batch.map((b) => b.value),
            { ...callOptions, pack: options.pack },
          );
          return result.items.map((item): ItemOutcome => (item.ok ? { ok: true, output: item.output } : failed(item.error)));
        },
      });
    }
  }
  return { units, known };
}
