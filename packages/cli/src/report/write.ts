import { writeFile } from 'node:fs/promises';
import { ShoalConfigError } from '@shoal/core';
import { renderReport } from './html.js';
import { readRunRecord } from './read.js';

/** Reads the run record at `inputPath` and writes its HTML report to `outputPath`: of the file's last run, or of run `run` (1-based). */
export async function writeReport(
  inputPath: string,
  outputPath: string,
  options: { readonly run?: number } = {},
): Promise<{
  /** Calls in the run reported. */
  calls: number;
  /** Size of the HTML written, in bytes. */
  bytes: number;
  /** Runs the record holds. */
  runs: number;
}> {
  const data = await readRunRecord(inputPath, options);
  const html = renderReport(data);
  try {
    await writeFile(outputPath, html, 'utf8');
  } catch (error) {
    throw new ShoalConfigError(
      `Cannot write the report to "${outputPath}" (${(error as Error).message}): give a path in a folder that exists and can be written.`,
    );
  }
  return { calls: data.calls, bytes: Buffer.byteLength(html, 'utf8'), runs: data.issues.runs.inFile };
}
