import { CLIENT_SCRIPT } from './client-script.js';
import { count, duration, escapeHtml, jsonForScript, usd, utcTime } from './format.js';
import { concurrencyTable, costSections, failureSection, laneName, retryCodesTable, slowestTable } from './html-tables.js';
import { notesList } from './notes.js';
import { STYLES } from './styles.js';
import { TOTAL_NAMES } from './totals.js';
import type { RunReportData, TotalName } from './types.js';

const TOTAL_LABELS: Readonly<Record<TotalName, string>> = {
  done: 'answered',
  failed: 'failed',
  cached: 'from the cache',
  deduplicated: 'shared (dedup)',
  retries: 'retries',
  rateLimited: '429 answers',
  jobs: 'jobs created',
  inputTokens: 'input tokens',
  cachedInputTokens: 'cached input tokens',
  outputTokens: 'output tokens',
  costUsd: 'cost',
};

/**
 * The report as one self-contained HTML page: inline CSS, the aggregated chart data as
 * JSON, and a small inline script that draws it on canvases (no network at view time).
 * The tables and totals are plain HTML, readable with scripts off.
 */
export function renderReport(data: RunReportData): string {
  const title = data.header.label ?? 'Run report';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · shoal run report</title>
<style>${STYLES}</style>
</head>
<body>
<main>
${headerBlock(data, title)}
${notesList(data)}
${totalsSection(data)}
${timelineSection(data)}
${loadSection(data)}
${costSections(data)}
${retriesSection(data)}
${latencySection(data)}
<section><h2>Slowest calls</h2>${slowestTable(data)}</section>
<section><h2>Failed calls</h2>${failureSection(data)}</section>
<footer>shoal run report of ${escapeHtml(data.source)} · ${count(data.issues.lines)} lines · ${count(data.calls)} calls</footer>
</main>
<script type="application/json" id="report-data">${jsonForScript(data.charts)}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

function headerBlock(data: RunReportData, title: string): string {
  const h = data.header;
  const facts: [string, string][] = [
    ['provider', h.provider],
    ['model', h.model],
    ['started', utcTime(h.startedAt)],
    ['wall time', duration(data.durationMs)],
    ['concurrency', String(h.concurrency)],
    ['budget', typeof h.budgetUsd === 'number' ? `$${usd(h.budgetUsd)}` : 'none'],
  ];
  const list = facts.map(([term, value]) => `<div><dt>${term}</dt><dd>${escapeHtml(value)}</dd></div>`).join('');
  return `<header><h1>${escapeHtml(title)}</h1><p>shoal run report</p><dl>${list}</dl></header>`;
}

function totalsSection(data: RunReportData): string {
  const mismatched = new Map(data.mismatches.map((m) => [m.name, m]));
  const cards = TOTAL_NAMES.map((name) => {
    const value = data.totals[name];
    const shown = name === 'costUsd' ? `$<span data-total="${name}">${usd(value)}</span>` : `<span data-total="${name}">${value}</span>`;
    const mismatch = mismatched.get(name);
    const hint = mismatch ? `executor: ${name === 'costUsd' ? `$${usd(mismatch.recorded)}` : mismatch.recorded}` : totalHint(data, name);
    return `<div class="total${mismatch ? ' mismatch' : ''}"><div class="label">${TOTAL_LABELS[name]}</div><div class="value">${shown}</div>${hint ? `<div class="hint">${hint}</div>` : ''}</div>`;
  });
  return `<section><h2>Totals</h2><div class="totals">\n${cards.join('\n')}\n</div></section>`;
}

function totalHint(data: RunReportData, name: TotalName): string {
  if (name === 'rateLimited') return data.rateLimitedFrom === 'totals' ? "executor's count, polls included" : 'retries after a 429 (polls not seen)';
  if (name === 'inputTokens' || name === 'outputTokens') return 'cache and dedup excluded';
  return '';
}

function legend(items: readonly (readonly [label: string, color: string, dashed?: boolean])[]): string {
  return `<div class="legend">${items.map(([label, color, dashed]) => `<span${dashed ? ' class="dashed"' : ''} style="--swatch: var(--${color})">${escapeHtml(label)}</span>`).join('')}</div>`;
}

function timelineSection(data: RunReportData): string {
  const charts = data.charts;
  const lanes = charts.lanes.map((lane) => `<b>${laneName(lane.priority)}</b> ${count(lane.calls)} calls, ${count(lane.failed)} failed`).join(' · ');
  const how =
    charts.timeline.mode === 'calls'
      ? 'Each call from queued to started (waiting) and on to its end (running).'
      : `${count(data.calls)} calls: per ${duration(charts.bucketMs)} bucket, the most calls waiting and running at once in each lane; the red strip marks failures.`;
  return `<section><h2>Calls by priority lane</h2>
${legend([
  ['waiting', 'wait'],
  ['running', 'run'],
  ['failed', 'fail'],
])}
<canvas id="timeline" role="img" aria-label="Timeline of calls by priority lane"></canvas>
<p class="stats">${how} ${lanes}</p></section>`;
}

function loadSection(data: RunReportData): string {
  const charts = data.charts;
  const peak = (values: readonly number[]) => Math.max(0, ...values);
  const running = peak(charts.running);
  const above =
    running > data.header.concurrency
      ? ' Above the limit: identical calls answered by one cache lookup each count as running, and the record does not say which of them held the slot.'
      : '';
  return `<section><h2>Queue depth and concurrency</h2>
${legend([
  ['queued', 'queued'],
  ['running', 'run'],
  ['effective concurrency', 'limit', true],
])}
<canvas id="load" role="img" aria-label="Calls queued and running over time"></canvas>
<p class="stats">Most at once: <b>${count(peak(charts.queued))}</b> queued, <b>${count(running)}</b> running (limit ${data.header.concurrency}); per ${duration(charts.bucketMs)} bucket, the highest.${above}</p>
<h3>Effective concurrency changes</h3>${concurrencyTable(data.concurrencyChanges)}</section>`;
}

function retriesSection(data: RunReportData): string {
  const codes = data.charts.retries.map((r, i): [string, string] => [r.code, `c${i % 6}`]);
  const rateLimited =
    data.rateLimitedFrom === 'totals'
      ? `${count(data.totals.rateLimited)} answers of 429 in all (the executor's count: polls included)`
      : `${count(data.totals.rateLimited)} retries after a 429 (no totals line: 429s on polls are not in the record)`;
  return `<section><h2>Retries and 429s</h2>
${legend(codes)}
<canvas id="retries" role="img" aria-label="Retries over time by code"></canvas>
<p class="stats"><b>${count(data.totals.retries)}</b> retries; ${rateLimited}.</p>
${retryCodesTable(data)}</section>`;
}

function latencySection(data: RunReportData): string {
  const l = data.charts.latency;
  const stats =
    data.totals.done === 0
      ? 'No call was answered.'
      : `<b>p50</b> ${duration(l.p50)} · <b>p95</b> ${duration(l.p95)} · <b>p99</b> ${duration(l.p99)} · <b>max</b> ${duration(l.max)}, over ${count(data.totals.done)} answered calls, queue wait included.`;
  return `<section><h2>Latency</h2>
${legend([['answered calls', 'run']])}
<canvas id="latency" role="img" aria-label="Histogram of call durations"></canvas>
<p class="stats">${stats}</p></section>`;
}
