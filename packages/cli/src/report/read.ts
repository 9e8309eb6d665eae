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
 * with a `ShoalConfigError` that says so. A second header (recordRun appends by default)
 * ends the reading: this report is of the first run in the file.
 */
export async function readRunRecord(path: string): Promise<RunReportData> {
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
  try {
    for await (const text of lines) {
      lineNumber++;
      if (text.trim().length === 0) continue;
      if (!aggregator) {
        const header = readHeader(text);
        if ('problem' in header) throw new ShoalConfigError(`"${path}" is not a run record shoal can report on: ${header.problem}.`);
        aggregator = new RunAggregator(header.header, path);
        continue;
      }
      const parsed = parseLine(text);
      if (parsed.kind === 'malformed') aggregator.malformed(lineNumber);
      else if (parsed.kind === 'unknown') aggregator.unknown(lineNumber, parsed.ev);
      else if (parsed.line.ev === 'run') {
        aggregator.laterRun(lineNumber);
        break;
      } else aggregator.add(parsed.line, lineNumber);
    }
  } catch (error) {
    // A read that failed (a folder, a file gone): said plainly. Anything else is not the file's fault and goes on as it is.
    if ((error as NodeJS.ErrnoException).code === undefined || ShoalConfigError.isInstance(error)) throw error;
    throw new ShoalConfigError(`Cannot read the run record "${path}" (${(error as Error).message}): is it a readable file?`);
  } finally {
    lines.close();
    stream.destroy();
  }
  if (!aggregator)
    throw new ShoalConfigError(`"${path}" is empty: a run record starts with the header line recordRun(executor, file) writes. Record a run first.`);
  return aggregator.finish();
}
