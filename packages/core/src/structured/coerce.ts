import { type JsonSchema as Schema, resolveLocalRef } from '../util/json-schema.js';

/**
 * Schema-guided repairs of a parsed value, before validation: what small models get
 * wrong often and harmlessly. Numbers and booleans sent as strings, enum values and keys
 * in the wrong case, null for an optional field, a value wrapped in an extra single-key
 * object or a one-element array. Nothing is invented: a value that cannot be mapped is
 * left for validation to report.
 */

export function coerceToSchema(value: unknown, schema: Schema, root: Schema = schema, depth = 0): unknown {
  if (depth > 32) return value;
  const s = resolveLocalRef(schema, root);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options)) {
      // Leave a value alone if some option accepts its JSON type as is; else try each.
      for (const option of options as Schema[]) if (typeMatches(value, resolveLocalRef(option, root))) return coerceToSchema(value, option, root, depth + 1);
      return value;
    }
  }
  const type = Array.isArray(s.type) ? (s.type as string[]).find((t) => t !== 'null') : (s.type as string | undefined);
  if (value === null || value === undefined) return value;
  if (Array.isArray(s.enum) && typeof value === 'string' && !s.enum.includes(value)) {
    const lower = value.trim().toLowerCase();
    const match = (s.enum as unknown[]).find((e) => typeof e === 'string' && e.toLowerCase() === lower);
    if (match !== undefined) return match;
  }
  if ((type === 'number' || type === 'integer') && typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value)) return Number(value);
  if (type === 'boolean' && typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  if (type === 'object' && s.properties && typeof value === 'object') {
    if (Array.isArray(value)) return value.length === 1 ? coerceToSchema(value[0], s, root, depth + 1) : value;
    const properties = s.properties as Record<string, Schema>;
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    const expected = Object.keys(properties);
    // Wrong nesting: {"result": {...the object...}} around what we asked for.
    if (keys.length === 1 && !expected.includes(keys[0]!) && typeof record[keys[0]!] === 'object' && record[keys[0]!] !== null) {
      const inner = record[keys[0]!] as Record<string, unknown>;
      if (!Array.isArray(inner) && Object.keys(inner).some((k) => expected.includes(k))) return coerceToSchema(inner, s, root, depth + 1);
    }
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      // Keys in the wrong case map to the schema's spelling.
      const target = expected.includes(key) ? key : (expected.find((e) => e.toLowerCase() === key.toLowerCase()) ?? key);
      const sub = properties[target];
      // null for an optional field that does not allow null means "absent".
      if (record[key] === null && sub && !required.includes(target) && !allowsNull(resolveLocalRef(sub, root))) continue;
      out[target] = sub ? coerceToSchema(record[key], sub, root, depth + 1) : record[key];
    }
    return out;
  }
  if (type === 'array' && s.items && typeof s.items === 'object') {
    if (!Array.isArray(value)) return value;
    return value.map((item) => coerceToSchema(item, s.items as Schema, root, depth + 1));
  }
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
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
  return types.includes(actual) || (actual === 'integer' && types.includes('number'));
}
