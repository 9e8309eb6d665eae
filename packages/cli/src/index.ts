/**
 * `@shoal/cli`: the `shoal` command (its bin), and the pieces a program may use on its own: the command's
 * program, its exit codes, and the HTML report of a run.
 *
 * @module @shoal/cli
 */
export { EXIT } from './exit-codes.js';
export { buildProgram } from './program.js';
export type { RunReportData } from './report/index.js';
export { readRunRecord, renderReport, writeReport } from './report/index.js';
