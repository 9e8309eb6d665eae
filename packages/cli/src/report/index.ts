/**
 * `shoal report`: one self-contained HTML page from a run record (`recordRun()`'s JSONL):
 * totals checked against the executor's, a timeline by priority lane, queue depth and
 * concurrency, cost by agent and tag, retries and 429s, latency, the slowest and the
 * failed calls.
 */
export { renderReport } from './html.js';
export { readRunRecord } from './read.js';
export type { RunReportData } from './types.js';
export { writeReport } from './write.js';
