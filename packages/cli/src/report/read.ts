import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ShoalConfigError } from '@shoal/core';
import { RunAggregator } from './aggregate.js';
import { parseLine, readHeader } from './parse.js';
import type { RunReportData } from './types.js';

/**
 * Reads a run record written by `recordRun()` line by line (a large record is never one
 * string) and aggregates it. Lines that cannot be used are counted, not thrown on; a file
 * that cannot be opened, is empty or does not start with a version-1 header is refused
 * with a `ShoalConfigError` that says so. recordRun appends by default, so a file may hold
 * several runs (a run and its resumptions): each starts with a header. The report is of the
 * last one, or of run `run` (1-based) when given; the page says how many the file holds.
 */
export async function readRunRecord(path: string, options: { readonly run?: number } = {}): Promise<RunReportData> {
  const wanted = options.run;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ShoalConfigError(
      `Cannot read the run record "${path}" (${(error as Error).message}): give the path of a file written by recordRun(executor, file).`,
    );
  }
  const stream = handle.createReadStream({ encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let aggregator: RunAggregator | undefined;
  let lineNumber = 0;
  let runs = 0;
  const startRun = (text: string) => {
    runs++;
    if (wanted !== undefined && runs !== wanted) return;
    const header = readHeader(text);
    if ('problem' in header) throw new ShoalConfigError(`"${path}" is not a run record shoal can report on: ${header.problem}.`);
    aggregator = new RunAggregator(header.header, path);
  };
  try {
    for await (const text of lines) {
      lineNumber++;
      if (text.trim().length === 0) continue;
      if (runs === 0) {
        startRun(text);
        continue;
      }
      const parsed = parseLine(text);
      if (parsed.kind === 'line' && parsed.line.ev === 'run') {
        if (wanted !== undefined && runs === wanted) {
          aggregator?.laterRun(lineNumber);
          break;
        }
        startRun(text);
        continue;
      }
      if (!aggregator) continue; // a run before the one wanted
      if (parsed.kind === 'malformed') aggregator.malformed(lineNumber);
      else if (parsed.kind === 'unknown') aggregator.unknown(lineNumber, parsed.ev);
      else if (parsed.line.ev !== 'run') aggregator.add(parsed.line, lineNumber);
    }
  } catch (error) {
    // A read that failed (a folder, a file gone): said plainly. Anything else is not the file's fault and goes on as it is.
    if ((error as NodeJS.ErrnoException).code === undefined || ShoalConfigError.isInstance(error)) throw error;
    throw new ShoalConfigError(`Cannot read the run record "${path}" (${(error as Error).message}): is it a readable file?`);
  } finally {
    lines.close();
    stream.destroy();
  }
  if (runs === 0)
    throw new ShoalConfigError(`"${path}" is empty: a run record starts with the header line recordRun(executor, file) writes. Record a run first.`);
  const found = aggregator as RunAggregator | undefined;
  if (!found) throw new ShoalConfigError(`"${path}" holds ${runs} run${runs === 1 ? '' : 's'}: there is no run ${wanted}.`);
  found.runsInFile(runs, wanted ?? runs);
  return found.finish();
}
