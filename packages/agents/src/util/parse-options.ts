import { ShoalConfigError, rejectUnknownKeys } from '@shoal/core';
import type { z } from 'zod';

/**
 * Options are checked with a zod schema before anything is sent; a failure is a
 * `ShoalConfigError` in core's wording: "Unknown option `topk` in rank(). Did you mean
 * `topK`? Known options: ..." or "Expected `topK` to be an integer from 1 and up, got `0`
 * (number)." What was expected is read from the schema at the failing option.
 *
 * `where` is the function ("rank()"), optionally followed by the option being parsed
 * ("rank() strategy"): its keys are then named `strategy.window`.
 */
export function parseOptions<S extends z.ZodType>(where: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const [fn, ...prefix] = where.split(' ');
  const issues = parsed.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const owner = path.length > 0 || prefix.length > 0 ? `${fn!.replace(/\(\)$/, '')}({ ${[...prefix, ...path].join('.')} })` : fn!;
    const known = Object.keys(shapeOf(schemaAt(schema, value, path)) ?? {});
    const object = valueAt(value, path) as object;
    if (known.length > 0) rejectUnknownKeys(owner, object, known);
    throw new ShoalConfigError(`Unknown option ${issue.keys.map((k) => `\`${k}\``).join(', ')} in ${owner}.`);
  }
  const name = formatPath([...prefix, ...path]);
  const got = valueAt(value, path);
  if (issue.code === 'invalid_union' && 'discriminator' in issue && Array.isArray((issue as { options?: unknown[] }).options)) {
    const options = (issue as unknown as { options: unknown[] }).options;
    const close = typeof got === 'string' ? closeTo(got, options) : undefined;
    throw new ShoalConfigError(`Expected \`${name}\` to be ${listValues(options)}, got ${describe(got)}.${close ? ` Did you mean ${JSON.stringify(close)}?` : ''}`);
  }
  // A schema's own words ("Expected a non-empty query") are kept; zod's defaults ("Too small: ...") are not.
  if (issue.code === 'custom' || issue.message.startsWith('Expected ')) {
    // The schema's own words: "Expected `labels` to be a zod enum, ..." or "an executor from createExecutor({ provider })".
    const message = issue.message.replace(/\.$/, '');
    throw new ShoalConfigError(`${message.startsWith('Expected `') ? message : `Expected \`${name}\` to be ${message.replace(/^Expected /, '')}`}, got ${describe(got)}.`);
  }
  const at = schemaAt(schema, value, path);
  const expected = expectedOf(at) ?? issue.message.replace(/^Invalid input: expected /, 'a ').replace(/, received \w+$/, '');
  const close = typeof got === 'string' ? closeTo(got, valuesOf(at)) : undefined;
  throw new ShoalConfigError(`Expected \`${name}\` to be ${expected}, got ${describe(got)}.${close ? ` Did you mean ${JSON.stringify(close)}?` : ''}`);
}

// ---- reading a zod schema (v4 internals: `def.type` and its fields) ----

type Def = { type: string; [key: string]: unknown };
type Schema = { def: Def; shape?: Record<string, Schema>; minValue?: number | null; maxValue?: number | null; isInt?: boolean; minLength?: number | null };

const WRAPPERS = new Set(['optional', 'default', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional']);

function unwrap(schema: Schema | undefined): Schema | undefined {
  let current = schema;
  for (let i = 0; current && i < 10; i++) {
    if (WRAPPERS.has(current.def.type)) current = current.def.innerType as Schema;
    else if (current.def.type === 'pipe') current = current.def.in as Schema;
    else break;
  }
  return current;
}

function shapeOf(schema: Schema | undefined): Record<string, Schema> | undefined {
  const s = unwrap(schema);
  return s?.def.type === 'object' ? (s.def.shape as Record<string, Schema>) : undefined;
}

/** The schema that checks `path` inside `value` (a discriminated union picks the member `value` names). */
function schemaAt(root: z.ZodType, value: unknown, path: readonly (string | number)[]): Schema | undefined {
  let schema = unwrap(root as unknown as Schema);
  let current = value;
  for (let i = 0; ; i++) {
    if (schema?.def.type === 'union' && typeof schema.def.discriminator === 'string') {
      const tag = (current as Record<string, unknown> | undefined)?.[schema.def.discriminator];
      schema = unwrap((schema.def.options as Schema[]).find((option) => (shapeOf(option)?.[schema!.def.discriminator as string]?.def.values as unknown[] | undefined)?.includes(tag)));
    }
    if (i === path.length || !schema) return schema;
    const key = path[i]!;
    const type = schema.def.type;
    schema = unwrap(type === 'object' ? shapeOf(schema)?.[key] : type === 'array' ? (schema.def.element as Schema) : type === 'record' ? (schema.def.valueType as Schema) : undefined);
    current = (current as Record<string | number, unknown> | undefined)?.[key];
  }
}

/** What a schema takes, in core's words ("an integer from 1 and up"); undefined for kinds it cannot say. */
function expectedOf(schema: Schema | undefined): string | undefined {
  const s = unwrap(schema);
  if (!s) return undefined;
  switch (s.def.type) {
    case 'number':
      return describeNumber(s);
    case 'string':
      return (s.minLength ?? 0) > 0 ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'enum':
      return listValues(Object.values(s.def.entries as Record<string, unknown>));
    case 'literal':
      return listValues(s.def.values as unknown[]);
    case 'array':
      return unwrap(s.def.element as Schema)?.def.type === 'string' ? 'an array of strings' : 'an array';
    case 'record':
      return unwrap(s.def.valueType as Schema)?.def.type === 'string' ? 'an object of strings' : 'an object';
    case 'object':
      return 'an object';
    case 'union': {
      const parts = (s.def.options as Schema[]).map(expectedOf);
      return parts.every((p): p is string => p !== undefined) ? joinOr(parts) : undefined;
    }
    default:
      return undefined;
  }
}

/** The fixed values a schema takes (enums, literals, and those among a union's members). */
function valuesOf(schema: Schema | undefined): unknown[] {
  const s = unwrap(schema);
  if (s?.def.type === 'enum') return Object.values(s.def.entries as Record<string, unknown>);
  if (s?.def.type === 'literal') return s.def.values as unknown[];
  if (s?.def.type === 'union') return (s.def.options as Schema[]).flatMap(valuesOf);
  return [];
}

function describeNumber(s: Schema): string {
  const checks = ((s.def.checks as { _zod: { def: { check: string; value: number; inclusive: boolean } } }[] | undefined) ?? []).map((c) => c._zod.def);
  const lowCheck = checks.find((c) => c.check === 'greater_than');
  const highCheck = checks.find((c) => c.check === 'less_than');
  const safe = s.isInt ? Number.MAX_SAFE_INTEGER : Infinity;
  const min = s.minValue ?? -Infinity;
  const max = s.maxValue ?? Infinity;
  const lower = min > -safe ? `${lowCheck && !lowCheck.inclusive ? 'above' : 'from'} ${min}` : '';
  const upperExclusive = highCheck !== undefined && !highCheck.inclusive;
  let range = '';
  if (max < safe) range = lower ? `${lower} ${upperExclusive ? 'and below' : 'to'} ${max}` : `${upperExclusive ? 'below' : 'up to'} ${max}`;
  else if (lower) range = lower.startsWith('from') ? `${lower} and up` : lower;
  return `${s.isInt ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`;
}

// ---- wording ----

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function listValues(values: readonly unknown[]): string {
  return joinOr(values.map((v) => JSON.stringify(v)));
}

function joinOr(parts: readonly string[]): string {
  const unique = [...new Set(parts)];
  return unique.length <= 1 ? (unique[0] ?? 'nothing') : `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

/** The value among `options` a misspelt one meant: at most one edit per three letters away (case ignored). */
function closeTo(word: string, options: readonly unknown[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const option of options) {
    if (typeof option !== 'string') continue;
    const distance = editDistance(word.toLowerCase(), option.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [option, distance];
  }
  return best;
}

/** Edits between two words (insert, delete, change, or swap two neighbours), as core counts them. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** A received value for an error message, as core shows one: `0` (number), `"abc"` (string). */
function describe(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}\` (string)`;
  if (value === null) return '`null`';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return `\`${String(value)}\` (${typeof value})`;
}
