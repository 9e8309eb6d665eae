// `@shoal/cli`: the `shoal` command (bin), and the pieces a program may use on its own.
export { EXIT } from './exit-codes.js';
export { buildProgram } from './program.js';
export type { RunReportData } from './report/index.js';
export { readRunRecord, renderReport, writeReport } from './report/index.js';
