import type { TotalsLine } from '@shoal/core';
import { usdToPico } from '@shoal/core/internal';
import type { ReportTotals, TotalMismatch, TotalName } from './types.js';

/** The totals in the order the page shows them. */
export const TOTAL_NAMES: readonly TotalName[] = [
  'done',
  'failed',
  'cached',
  'deduplicated',
  'retries',
  'rateLimited',
  'jobs',
  'inputTokens',
  'cachedInputTokens',
  'outputTokens',
  'costUsd',
];

/**
 * The computed totals that differ from the executor's own (the `totals` line): a record
 * that lost lines, or events that do not tell the whole story. Money is compared in
 * pico-dollars, so two floats of the same sum never differ by rounding.
 */
export function compareTotals(computed: ReportTotals, recorded: TotalsLine | undefined): TotalMismatch[] {
  if (!recorded) return [];
  const mismatches: TotalMismatch[] = [];
  for (const name of TOTAL_NAMES) {
    const same = name === 'costUsd' ? usdToPico(computed.costUsd) === usdToPico(recorded.costUsd) : computed[name] === recorded[name];
    if (!same) mismatches.push({ name, computed: computed[name], recorded: recorded[name] });
  }
  return mismatches;
}
