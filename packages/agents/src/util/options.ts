import { ShoalConfigError } from '@shoal/core';
import type { z } from 'zod';

/**
 * Options are checked with a zod schema before anything is sent; a failure is a
 * `ShoalConfigError` that names the option, what was expected and what came.
 */
export function parseOptions<S extends z.ZodType>(where: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  const got = path ? valueAt(value, issue.path) : value;
  const unknownKeys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.map((k) => `\`${k}\``).join(', ')})` : '';
  throw new ShoalConfigError(`${where}: ${path ? `option \`${path}\`: ` : ''}${issue.message}${unknownKeys}${issue.code === 'unrecognized_keys' ? '' : `, got ${describe(got)}`}.`);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}\` (string)`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return `\`${String(value)}\` (${value === null ? 'null' : typeof value})`;
}

/** Totals over the agent calls of one operation. */
export class Tally {
  calls = 0;
  inputTokens = 0;
  cachedInputTokens = 0;
  outputTokens = 0;
  costUsd = 0;

  add(result: { readonly usage: { inputTokens: number; cachedInputTokens: number; outputTokens: number }; readonly costUsd: number; readonly attempts?: number; readonly calls?: number }): void {
    this.calls += result.calls ?? result.attempts ?? 1;
    this.inputTokens += result.usage.inputTokens;
    this.cachedInputTokens += result.usage.cachedInputTokens;
    this.outputTokens += result.usage.outputTokens;
    this.costUsd += result.costUsd;
  }

  usage(): { inputTokens: number; cachedInputTokens: number; outputTokens: number } {
    return { inputTokens: this.inputTokens, cachedInputTokens: this.cachedInputTokens, outputTokens: this.outputTokens };
  }
}
