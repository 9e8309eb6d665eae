import type { ExecutorMetrics } from '../executor/types.js';

/** Options of `formatSummary()`. */
export interface SummaryOptions {
  /** Wall time of the run, for the first line. */
  readonly wallMs?: number;
  /** Which tags the cost is broken down by. @default tags that name an agent (they hold a '.', e.g. "rank.judge") */
  readonly costBy?: (tag: string) => boolean;
  /** Extra lines, as `[label, value]`, printed last (e.g. an emulator's counts). */
  readonly extra?: readonly (readonly [string, string])[];
}

/**
 * The closing summary of a run, from the executor's own metrics and ledger, as lines of
 * text (the demo and the `shoal` CLI print it). Cost is broken down by the tags `costBy`
 * picks: by default those that name an agent (a call also carries its function's tag, e.g.
 * "rank", which would count it twice).
 */
export function formatSummary(metrics: ExecutorMetrics, options: SummaryOptions = {}): string[] {
  const t = metrics.totals;
  const costBy = options.costBy ?? ((tag: string) => tag.includes('.'));
  const byTag = Object.entries(metrics.byTag).filter(([tag]) => costBy(tag));
  const row = (label: string, value: string) => `  ${label.padEnd(16)} ${value}`;
  const lines = [
    'Summary',
    row('calls', `${metrics.done} done, ${metrics.failed} failed${options.wallMs === undefined ? '' : `, in ${(options.wallMs / 1000).toFixed(2)} s`}`),
    row('retries', `${metrics.retries}${metrics.rateLimited > 0 ? ` (${metrics.rateLimited} answers of 429)` : ''}`),
    row(
      'requests per job',
      metrics.jobs > 0
        ? `${metrics.requestsPerJob.toFixed(2)} (${metrics.requests} HTTP requests for ${metrics.jobs} jobs)`
        : `no jobs (${metrics.requests} HTTP requests)`,
    ),
    row(
      'tokens',
      `${t.inputTokens} in (${t.cachedInputTokens} cached), ${t.outputTokens} out${metrics.tokenizer === 'estimate' ? ' (what shoal counted itself is estimated: gpt-tokenizer is not installed)' : ''}`,
    ),
    row('cost', costLine(metrics, byTag)),
    row(
      'latency',
      Number.isFinite(metrics.latencyMs.p50)
        ? `p50 ${metrics.latencyMs.p50.toFixed(0)} ms, p95 ${metrics.latencyMs.p95.toFixed(0)} ms (queue wait included)`
        : 'no call answered',
    ),
  ];
  if (metrics.cached > 0 || metrics.deduplicated > 0)
    lines.splice(2, 0, row('reused', `${metrics.cached} from the cache, ${metrics.deduplicated} shared with an identical call`));
  for (const [label, value] of options.extra ?? []) lines.push(row(label, value));
  return lines;
}

/** "$0.001234  (rank.judge $0.001234)", and what could not be priced, said as such rather than shown as free. */
function costLine(metrics: ExecutorMetrics, byTag: readonly (readonly [string, { readonly costUsd: number }])[]): string {
  const unpriced = metrics.totals.unpricedCalls;
  const cost = `$${metrics.costUsd.toFixed(6)}${byTag.length ? `  (${byTag.map(([k, v]) => `${k} $${v.costUsd.toFixed(6)}`).join(', ')})` : ''}`;
  if (unpriced === 0) return cost;
  const noPrice = `unknown price: ${unpriced} call${unpriced === 1 ? '' : 's'} not counted (no price known for this model; pass \`pricing\` to the provider)`;
  return metrics.totals.calls - metrics.totals.cachedCalls > unpriced ? `${cost} + ${noPrice}` : noPrice;
}
