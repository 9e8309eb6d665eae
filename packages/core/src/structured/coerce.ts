import { resolveLocalRef, type JsonSchema as Schema } from '../util/json-schema.js';

/**
 * Schema-guided repairs of a parsed value, before validation: what small models get
 * wrong often and harmlessly. Numbers and booleans sent as strings, enum values and keys
 * in the wrong case, null for an optional field, a value wrapped in an extra single-key
 * object or a one-element array. Nothing is invented: a value that cannot be mapped is
 * left for validation to report.
 *
 * A `__proto__` key is dropped wherever it appears: copied with `out[key] = …` it would set
 * the prototype of the result, and a model answering `{"__proto__":{"label":"x"}}` would pass
 * as `{label:"x"}`. No schema asks for that key.
 */
export function coerceToSchema(value: unknown, schema: Schema): unknown {
  return coerce(value, schema).value;
}

/**
 * The coerced value, and whether any repair was made. When none was, validating the result
 * again would only repeat the first validation's issues (and on a large answer full of
 * invalid values, zod's failing path is the slowest step there is), so the caller skips it.
 */
export function coerce(value: unknown, schema: Schema): { value: unknown; changed: boolean } {
  const state = { changed: false };
  return { value: fix(value, schema, schema, 0, state), changed: state.changed };
}

function fix(value: unknown, schema: Schema, root: Schema, depth: number, state: { changed: boolean }): unknown {
  if (depth > 32) return value;
  const s = resolveLocalRef(schema, root);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options)) {
      // Leave a value alone if some option accepts its JSON type as is; else try each.
      for (const option of options as Schema[]) if (typeMatches(value, resolveLocalRef(option, root))) return fix(value, option, root, depth + 1, state);
      return value;
    }
  }
  const type = Array.isArray(s.type) ? (s.type as string[]).find((t) => t !== 'null') : (s.type as string | undefined);
  if (value === null || value === undefined) return value;
  if (Array.isArray(s.enum) && typeof value === 'string' && !s.enum.includes(value)) {
    const lower = value.trim().toLowerCase();
    const match = (s.enum as unknown[]).find((e) => typeof e === 'string' && e.toLowerCase() === lower);
    if (match !== undefined) return changed(state, match);
  }
  if ((type === 'number' || type === 'integer') && typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value))
    return changed(state, Number(value));
  if (type === 'boolean' && typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return changed(state, value.trim().toLowerCase() === 'true');
  if (type === 'object' && s.properties && typeof value === 'object') {
    if (Array.isArray(value)) return value.length === 1 ? changed(state, fix(value[0], s, root, depth + 1, state)) : value;
    const properties = s.properties as Record<string, Schema>;
    const record = value as Record<string, unknown>;
    if (Object.hasOwn(record, '__proto__')) state.changed = true;
    const keys = Object.keys(record).filter((key) => key !== '__proto__');
    const expected = Object.keys(properties);
    // Wrong nesting: {"result": {...the object...}} around what we asked for.
    if (keys.length === 1 && !expected.includes(keys[0]!) && typeof record[keys[0]!] === 'object' && record[keys[0]!] !== null) {
      const inner = record[keys[0]!] as Record<string, unknown>;
      if (!Array.isArray(inner) && Object.keys(inner).some((k) => expected.includes(k))) return changed(state, fix(inner, s, root, depth + 1, state));
    }
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      // Keys in the wrong case map to the schema's spelling.
      const target = expected.includes(key) ? key : (expected.find((e) => e.toLowerCase() === key.toLowerCase()) ?? key);
      // Own properties only: a key such as "constructor" must not find Object.prototype's.
      const sub = Object.hasOwn(properties, target) ? properties[target] : undefined;
      // null for an optional field that does not allow null means "absent".
      if (record[key] === null && sub && !required.includes(target) && !allowsNull(resolveLocalRef(sub, root))) {
        state.changed = true;
        continue;
      }
      if (target !== key) state.changed = true;
      out[target] = sub ? fix(record[key], sub, root, depth + 1, state) : record[key];
    }
    return out;
  }
  if (type === 'array' && s.items && typeof s.items === 'object') {
    if (!Array.isArray(value)) return value;
    return value.map((item) => fix(item, s.items as Schema, root, depth + 1, state));
  }
  return value;
}

function changed<T>(state: { changed: boolean }, value: T): T {
  state.changed = true;
  return value;
}

function allowsNull(schema: Schema): boolean {
  if (schema.type === 'null' || (Array.isArray(schema.type) && schema.type.includes('null'))) return true;
  const options = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  return Array.isArray(options) && options.some((o) => o.type === 'null');
}

function typeMatches(value: unknown, schema: Schema): boolean {
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : schema.type ? [schema.type as string] : [];
  if (types.length === 0) return false;
  const actual =
    value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
  return types.includes(actual) || (actual === 'integer' && types.includes('number'));
}
