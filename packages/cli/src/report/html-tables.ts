import type { ConcurrencyLine } from '@shoal/core';
import { count, duration, escapeHtml, percent, usd } from './format.js';
import type { CostRow, RunReportData } from './types.js';

interface Column<T> {
  readonly title: string;
  /** The cell's HTML (escape text in it). */
  readonly cell: (row: T) => string;
  readonly className?: 'n' | 'id' | 'msg';
}

/** Rows shown in a cost or concurrency table before "and N more". */
const ROWS_SHOWN = 50;

interface TableOptions<T> {
  readonly empty: string;
  readonly rowClass?: (row: T) => string;
  /** As wide as its content rather than the section (a few short columns). */
  readonly compact?: boolean;
}

function table<T>(rows: readonly T[], columns: readonly Column<T>[], options: TableOptions<T>): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(options.empty)}</p>`;
  const head = columns.map((c) => `<th${c.className === 'n' ? ' class="n"' : ''}>${escapeHtml(c.title)}</th>`).join('');
  const body = rows
    .map((row) => {
      const cls = options.rowClass?.(row);
      const cells = columns.map((c) => `<td${c.className ? ` class="${c.className}"` : ''}>${c.cell(row)}</td>`).join('');
      return `<tr${cls ? ` class="${cls}"` : ''}>${cells}</tr>`;
    })
    .join('\n');
  return `<table${options.compact ? ' class="compact"' : ''}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function more(shown: number, total: number, what: string): string {
  return total > shown ? `<p class="more">and ${count(total - shown)} more ${what}</p>` : '';
}

export function laneName(priority: number | undefined): string {
  return priority === undefined ? 'priority unknown' : `priority ${priority}`;
}

function costTable(rows: readonly CostRow[], what: string, totalUsd: number): string {
  const shown = rows.slice(0, ROWS_SHOWN);
  return (
    table(
      shown,
      [
        { title: what, cell: (r) => escapeHtml(r.name) },
        { title: 'calls', className: 'n', cell: (r) => count(r.calls) },
        { title: 'failed', className: 'n', cell: (r) => count(r.failed) },
        { title: 'USD', className: 'n', cell: (r) => usd(r.costUsd) },
        { title: 'share', className: 'n', cell: (r) => percent(r.costUsd, totalUsd) },
      ],
      { empty: 'No calls settled.' },
    ) + more(shown.length, rows.length, `${what}s`)
  );
}

export function costSections(data: RunReportData): string {
  const total = data.totals.costUsd;
  return `<div class="columns row">
<section><h2>Cost by agent</h2>${costTable(data.byAgent, 'agent', total)}</section>
<section><h2>Cost by tag</h2><p class="stats">A call counts under each of its tags.</p>${costTable(data.byTag, 'tag', total)}</section>
</div>`;
}

export function concurrencyTable(changes: readonly ConcurrencyLine[]): string {
  const shown = changes.slice(0, ROWS_SHOWN);
  return (
    table(
      shown,
      [
        { title: 'at', className: 'n', cell: (c) => duration(c.t) },
        { title: 'from', className: 'n', cell: (c) => count(c.from) },
        { title: 'to', className: 'n', cell: (c) => count(c.to) },
        { title: 'reason', cell: (c) => escapeHtml(c.reason) },
      ],
      { empty: 'The effective concurrency did not change.', compact: true },
    ) + more(shown.length, changes.length, 'changes')
  );
}

export function retryCodesTable(data: RunReportData): string {
  return table(
    data.retryCodes,
    [
      { title: 'code', cell: (r) => escapeHtml(r.code) },
      { title: 'retries', className: 'n', cell: (r) => count(r.count) },
    ],
    { empty: 'No call was retried.', compact: true },
  );
}

export function slowestTable(data: RunReportData): string {
  return table(
    data.slowest,
    [
      { title: 'call', className: 'id', cell: (c) => escapeHtml(c.id) },
      { title: 'agent', cell: (c) => escapeHtml(c.agent ?? '') },
      { title: 'priority', className: 'n', cell: (c) => (c.priority === undefined ? '?' : String(c.priority)) },
      { title: 'ms', className: 'n', cell: (c) => c.ms.toFixed(1) },
      { title: 'attempts', className: 'n', cell: (c) => String(c.attempts) },
      { title: 'outcome', cell: (c) => (c.failed ? 'failed' : 'answered') },
    ],
    { empty: 'No call settled.', rowClass: (c) => (c.failed ? 'failed' : '') },
  );
}

export function failureSection(data: RunReportData): string {
  const byCode = table(
    data.failuresByCode,
    [
      { title: 'code', cell: (r) => escapeHtml(r.code) },
      { title: 'calls', className: 'n', cell: (r) => count(r.count) },
    ],
    { empty: 'No call failed.', compact: true },
  );
  if (data.failures.length === 0) return byCode;
  const list = table(
    data.failures,
    [
      { title: 'at', className: 'n', cell: (f) => duration(f.t) },
      { title: 'call', className: 'id', cell: (f) => escapeHtml(f.id) },
      { title: 'agent', cell: (f) => escapeHtml(f.agent ?? '') },
      { title: 'code', cell: (f) => escapeHtml(f.code) + (f.status === undefined ? '' : ` (${f.status})`) },
      { title: 'attempts', className: 'n', cell: (f) => String(f.attempts) },
      { title: 'ms', className: 'n', cell: (f) => f.ms.toFixed(1) },
      { title: 'message', className: 'msg', cell: (f) => escapeHtml(f.message) },
    ],
    { empty: '' },
  );
  const title = data.totals.failed > data.failures.length ? `The first ${data.failures.length} of ${count(data.totals.failed)}` : 'Every failed call';
  return `${byCode}<h3>${title}</h3>${list}`;
}
