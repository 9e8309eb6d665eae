import { count, duration, escapeHtml, usd } from './format.js';
import type { RunReportData } from './types.js';

/**
 * What the reader of the page must know before trusting the numbers: totals that disagree
 * with the executor's, lines that were skipped, calls that are incomplete. Warnings are
 * red, notes blue; nothing is left out of the page silently.
 */
export function notesList(data: RunReportData): string {
  const { issues, mismatches, recorded } = data;
  const warn: string[] = [];
  const info: string[] = [];
  if (mismatches.length > 0) {
    const fields = mismatches.map(
      (m) => `<b data-mismatch="${m.name}">${m.name}</b> (events: ${show(m.name, m.computed)}, executor: ${show(m.name, m.recorded)})`,
    );
    warn.push(
      `The totals computed from the events differ from the executor's own totals line on ${fields.join(', ')}: the record is missing lines, or holds events the totals do not tell.`,
    );
  }
  if (issues.malformed > 0)
    warn.push(
      `${count(issues.malformed)} malformed line${s(issues.malformed)} skipped (the first at line ${issues.firstMalformedLine}): not JSON, a field missing, or a call settled twice.`,
    );
  if (issues.unknown > 0)
    warn.push(
      `${count(issues.unknown)} line${s(issues.unknown)} of an unknown <code>ev</code> skipped (${issues.unknownNames.map(escapeHtml).join(', ')}; the first at line ${issues.firstUnknownLine}): written by a newer shoal?`,
    );
  if (issues.runs.inFile > 1 || issues.laterRunLine !== undefined)
    info.push(
      `This file holds ${issues.laterRunLine !== undefined ? 'more than one run' : `${issues.runs.inFile} runs`} (recordRun appends; a resumed run adds its own): this report shows run ${issues.runs.shown}${issues.runs.shown === issues.runs.inFile && issues.laterRunLine === undefined ? ', the last' : ''}. <code>shoal report FILE --run N</code> shows another.`,
    );
  if (issues.unfinished > 0)
    warn.push(`${count(issues.unfinished)} call${s(issues.unfinished)} had not ended when the record closed: drawn to the end of the run, not in the totals.`);
  if (issues.withoutQueued > 0)
    info.push(
      `${count(issues.withoutQueued)} call${s(issues.withoutQueued)} had no <code>queued</code> line (queued before the recording began): their priority is unknown.`,
    );
  if (!recorded)
    info.push(
      'No totals line (the recorder was not closed): the totals come from the events alone, and the 429s are the retries after one (429s on polls are not counted).',
    );
  const unpriced = recorded?.unpricedCalls ?? 0;
  if (unpriced > 0)
    warn.push(
      `${count(unpriced)} job${s(unpriced)} had no known price (the model's price is unknown and the server reported no charge): the cost shown leaves ${unpriced === 1 ? 'it' : 'them'} out. Give the provider <code>pricing</code> to count ${unpriced === 1 ? 'it' : 'them'}.`,
    );
  for (const budget of issues.budget)
    info.push(
      `The budget of $${usd(budget.budgetUsd)} ran out at ${duration(budget.t)}: $${usd(budget.spentUsd)} spent, ${count(budget.rejected)} queued call${s(budget.rejected)} refused.`,
    );
  if (warn.length + info.length === 0) return '';
  const items = [...warn.map((text) => `<li class="warn">${text}</li>`), ...info.map((text) => `<li class="info">${text}</li>`)];
  return `<ul class="notes">\n${items.join('\n')}\n</ul>`;
}

function show(name: string, value: number): string {
  return name === 'costUsd' ? `$${usd(value)}` : count(value);
}

function s(n: number): string {
  return n === 1 ? '' : 's';
}
