/**
 * The shoal demo: the ranking and extraction examples end to end through one shared
 * executor, with progress and the cost summary. Without SHORTAPI_KEY it runs against the
 * emulator in this process, and says so first.
 *
 *   npx -y pnpm@12.4.2 demo
 */
import { extractionExample } from './extraction.js';
import { rankingExample } from './ranking.js';
import { connect, printSummary } from './shared/backend.js';

const backend = await connect({ concurrency: 16 });
const started = performance.now();
let failed = false;
try {
  const ranking = await rankingExample(backend.executor);
  const extraction = await extractionExample(backend.executor);
  failed = ranking.ranking.length === 0 || extraction.documents.some((d) => d.failedChunks.length > 0);
  printSummary(backend.executor.metrics(), backend.emulator, performance.now() - started);
} finally {
  await backend.close();
}
if (failed) process.exitCode = 1;
