import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { ShoalConfigError } from '@shoal/core';
import { parse as parseCsv } from 'csv-parse';

/** One line of the input file: its value, or why it could not be read. */
export type InputItem =
  | { readonly line: number; readonly id: string; readonly ok: true; readonly value: unknown }
  | { readonly line: number; readonly id: string; readonly ok: false; readonly reason: string };

export type InputFormat = 'jsonl' | 'csv';

/** The format from `--format`, else the file's extension (.csv, .tsv; anything else is JSONL). */
export function inputFormat(path: string, given: string | undefined): InputFormat {
  if (given !== undefined) return given as InputFormat;
  return ['.csv', '.tsv'].includes(extname(path).toLowerCase()) ? 'csv' : 'jsonl';
}

/**
 * Reads every item of a JSONL or CSV file, in order, streaming. An item's id is its `id`
 * field (a string or a number) when it has one, else its line number; two items with the
 * same id are refused (the output is matched by id). A line that is not JSON, or a CSV row
 * with the wrong number of fields, becomes a failed item with its line number: it costs
 * nothing and is reported in the output. Blank lines are skipped.
 */
export async function readItems(path: string, format: InputFormat): Promise<InputItem[]> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new ShoalConfigError(`Cannot read the input file ${path}: give a JSONL file (one JSON value a line) or a CSV file with a header row.`);
  }
  const items = format === 'csv' ? await readCsv(path) : await readJsonl(path);
  const seen = new Map<string, number>();
  for (const item of items) {
    const first = seen.get(item.id);
    if (first !== undefined) {
      throw new ShoalConfigError(
        `${path}: line ${item.line} has the id "${item.id}" that line ${first} has already: give every item a unique "id", or none (then line numbers are used).`,
      );
    }
    seen.set(item.id, item.line);
  }
  return items;
}

async function readJsonl(path: string): Promise<InputItem[]> {
  const items: InputItem[] = [];
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line++;
    // A byte-order mark (some editors write one) is not part of the first line's JSON.
    const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (text.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(text);
      items.push({ line, id: idOf(value, line), ok: true, value });
    } catch (error) {
      items.push({ line, id: String(line), ok: false, reason: `line ${line} is not JSON (${(error as Error).message})` });
    }
  }
  return items;
}

async function readCsv(path: string): Promise<InputItem[]> {
  const items: InputItem[] = [];
  const delimiter = extname(path).toLowerCase() === '.tsv' ? '\t' : ',';
  // Rows with a wrong field count are kept (relax) and reported as bad items, not thrown for the whole file.
  const parser = createReadStream(path, { encoding: 'utf8' }).pipe(
    parseCsv({ columns: true, delimiter, bom: true, skip_empty_lines: true, relax_column_count: true, info: true, trim: false }),
  );
  let columns: number | undefined;
  // csv-parse counts the rows of a wrong length so far: a row is bad when the count grew with it.
  let invalidSoFar = 0;
  for await (const record of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number; invalid_field_length: number } }>) {
    const { record: row, info } = record;
    const line = info.lines;
    columns ??= Object.keys(row).length;
    const wrongLength = info.invalid_field_length > invalidSoFar;
    invalidSoFar = info.invalid_field_length;
    if (wrongLength || Object.keys(row).length !== columns) {
      items.push({ line, id: String(line), ok: false, reason: `line ${line} has a different number of fields than the header` });
      continue;
    }
    items.push({ line, id: idOf(row, line), ok: true, value: row });
  }
  return items;
}

function idOf(value: unknown, line: number): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const id = (value as { id?: unknown }).id;
    if (typeof id === 'string' && id !== '') return id;
    if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  }
  return String(line);
}
