import { ShoalConfigError } from '@shoal/core';
import { closestName, describeNumberRule, describeValue, joinOr, listValues, optionError, rejectUnknownKeys } from '@shoal/core/internal';
import type { z } from 'zod';

/**
 * Options are checked with a zod schema before anything is sent; a failure is a
 * `ShoalConfigError` worded by core's own option helpers (`@shoal/core/internal`): "Unknown
 * option `topk` in rank(). Did you mean `topK`? Known options: ..." or "Expected `topK` to be
 * an integer from 1 and up, got `0` (number)." What was expected is read from the schema at
 * the failing option.
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
    throw optionError(name, listValues(options), got, didYouMean(close));
  }
  // A schema's own words ("Expected a non-empty query") are kept; zod's defaults ("Too small: ...") are not.
  if (issue.code === 'custom' || issue.message.startsWith('Expected ')) {
    // The schema's own words: "Expected `labels` to be a zod enum, ..." or "an executor from createExecutor({ provider })".
    const message = issue.message.replace(/\.$/, '');
    if (message.startsWith('Expected `')) throw new ShoalConfigError(`${message}, got ${describeValue(got)}.`);
    throw optionError(name, message.replace(/^Expected /, ''), got);
  }
  const at = schemaAt(schema, value, path);
  const expected = expectedOf(at) ?? issue.message.replace(/^Invalid input: expected /, 'a ').replace(/, received \w+$/, '');
  const close = typeof got === 'string' ? closeTo(got, valuesOf(at)) : undefined;
  throw optionError(name, expected, got, didYouMean(close));
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
      schema = unwrap(
        (schema.def.options as Schema[]).find((option) =>
          (shapeOf(option)?.[schema!.def.discriminator as string]?.def.values as unknown[] | undefined)?.includes(tag),
        ),
      );
    }
    if (i === path.length || !schema) return schema;
    const key = path[i]!;
    const type = schema.def.type;
    schema = unwrap(
      type === 'object'
        ? shapeOf(schema)?.[key]
        : type === 'array'
          ? (schema.def.element as Schema)
          : type === 'record'
            ? (schema.def.valueType as Schema)
            : undefined,
    );
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

/** A zod number's bounds as core's number rule, worded by core ("an integer from 1 and up"). */
function describeNumber(s: Schema): string {
  const checks = ((s.def.checks as { _zod: { def: { check: string; value: number; inclusive: boolean } } }[] | undefined) ?? []).map((c) => c._zod.def);
  const low = checks.find((c) => c.check === 'greater_than');
  const high = checks.find((c) => c.check === 'less_than');
  // An integer schema reports the safe-integer range as its bounds when it has none of its own.
  const safe = s.isInt ? Number.MAX_SAFE_INTEGER : Infinity;
  const min = s.minValue ?? -Infinity;
  const max = s.maxValue ?? Infinity;
  return describeNumberRule({
    ...(min > -safe ? (low && !low.inclusive ? { above: min } : { min }) : {}),
    ...(max < safe ? (high && !high.inclusive ? { below: max } : { max }) : {}),
    integer: s.isInt === true,
  });
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

function didYouMean(close: string | undefined): string {
  return close === undefined ? '' : `Did you mean ${JSON.stringify(close)}?`;
}

/** The value among `options` a misspelt one meant, as core finds it. */
function closeTo(word: string, options: readonly unknown[]): string | undefined {
  return closestName(
    word,
    options.filter((o): o is string => typeof o === 'string'),
  );
}
