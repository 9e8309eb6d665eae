import type { RunHeaderLine, RunRecordLine } from '@shoal/core';

/** What one line of a run record is: an event this reader knows, or why it cannot be used. */
export type ParsedLine =
  | { readonly kind: 'line'; readonly line: RunRecordLine }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'unknown'; readonly ev: string };

/** `amount`: a number of dollars, never negative. */
type FieldType = 'number' | 'amount' | 'string' | 'strings' | 'true';
/** A field's type; a trailing `?` marks it optional (absent, or of that type). */
type FieldSpec = `${FieldType}` | `${FieldType}?`;

/** The fields each event needs, as `format.ts` documents them; anything else on the line is ignored. */
const SHAPES: Readonly<Record<RunRecordLine['ev'], Readonly<Record<string, FieldSpec>>>> = {
  run: { v: 'number', startedAt: 'number', provider: 'string', model: 'string', concurrency: 'number', label: 'string?' },
  queued: { id: 'string', t: 'number', priority: 'number', agent: 'string?', tags: 'strings?' },
  started: { id: 'string', t: 'number', waitMs: 'number' },
  job: { id: 'string', t: 'number', job: 'string', attempt: 'number', usd: 'amount?', resumed: 'true?' },
  retry: { id: 'string', t: 'number', attempt: 'number', delayMs: 'number', code: 'string', status: 'number?' },
  end: {
    id: 'string',
    t: 'number',
    ms: 'number',
    attempts: 'number',
    requests: 'number',
    in: 'number',
    cachedIn: 'number',
    out: 'number',
    usd: 'amount',
    cached: 'true?',
    dedup: 'true?',
  },
  error: { id: 'string', t: 'number', ms: 'number', attempts: 'number', code: 'string', status: 'number?', message: 'string' },
  concurrency: { t: 'number', from: 'number', to: 'number', reason: 'string' },
  budget: { t: 'number', budgetUsd: 'number', spentUsd: 'number', rejected: 'number' },
  totals: {
    t: 'number',
    done: 'number',
    failed: 'number',
    cached: 'number',
    deduplicated: 'number',
    retries: 'number',
    jobs: 'number',
    rateLimited: 'number',
    inputTokens: 'number',
    cachedInputTokens: 'number',
    outputTokens: 'number',
    costUsd: 'amount',
    unpricedCalls: 'number?',
  },
};

function isKnownEv(ev: string): ev is RunRecordLine['ev'] {
  return Object.hasOwn(SHAPES, ev);
}

function fits(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'number':
      return typeof value === 'number';
    case 'amount':
      return typeof value === 'number' && value >= 0;
    case 'string':
      return typeof value === 'string';
    case 'strings':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'true':
      return value === true;
  }
}

/** Parses one line and checks it has the fields its `ev` needs. */
export function parseLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'malformed' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'malformed' };
  const record = value as Record<string, unknown>;
  const ev = record.ev;
  if (typeof ev !== 'string') return { kind: 'malformed' };
  if (!isKnownEv(ev)) return { kind: 'unknown', ev };
  for (const [field, spec] of Object.entries(SHAPES[ev])) {
    const optional = spec.endsWith('?');
    const type = (optional ? spec.slice(0, -1) : spec) as FieldType;
    const present = record[field] !== undefined;
    if (present ? !fits(record[field], type) : !optional) return { kind: 'malformed' };
  }
  return { kind: 'line', line: record as unknown as RunRecordLine };
}

/** The header's `v` this reader understands. */
const READABLE_VERSION = 1;

/** The file's first line as its header, or why it is not one (worded to follow "<file> cannot be read: "). */
export function readHeader(text: string): { readonly header: RunHeaderLine } | { readonly problem: string } {
  const shown = text.length > 80 ? `${text.slice(0, 79)}…` : text;
  const parsed = parseLine(text);
  if (parsed.kind === 'line' && parsed.line.ev === 'run' && parsed.line.v === READABLE_VERSION) return { header: parsed.line };
  // The version is read before the shape: another version may have other fields.
  const v = parsed.kind === 'malformed' ? versionOf(text) : parsed.kind === 'line' && parsed.line.ev === 'run' ? parsed.line.v : undefined;
  if (v !== undefined && v !== READABLE_VERSION)
    return {
      problem: `it is a run record of format version ${v}, and this report reads version ${READABLE_VERSION}: render it with the shoal version that wrote it`,
    };
  if (parsed.kind === 'malformed' && v === READABLE_VERSION) return { problem: `its header lacks a field (provider, model, startedAt, concurrency): ${shown}` };
  return {
    problem: `its first line should be the header ({"ev":"run","v":1,...}) that recordRun() writes, but it is ${shown}: the file lost its beginning, or is not a run record`,
  };
}

/** `v` of a header line whose other fields may not be this version's. */
function versionOf(text: string): unknown {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && (value as { ev?: unknown }).ev === 'run' ? (value as { v?: unknown }).v : undefined;
  } catch {
    return undefined;
  }
}
