import { type JsonSchema, resolveLocalRef } from '../util/json-schema.js';

/**
 * Whether a value of one JSON Schema, or a given value, is surely accepted by another
 * schema: what the simulated planner asks before it wires one step's output into another
 * step's input. Conservative by design: a keyword it does not know, or a bound it cannot
 * prove, answers false, so a wire it makes never fails at run time on the schema's account.
 */

/** A schema together with the root its local `$ref`s resolve against. */
export interface Rooted {
  readonly schema: JsonSchema;
  readonly root: JsonSchema;
}

/** Keywords that constrain nothing (annotations), and those this module checks. */
const ANNOTATIONS = new Set(['$schema', '$id', '$defs', 'definitions', '$comment', 'title', 'description', 'default', 'examples', 'readOnly', 'writeOnly']);
/** Keywords that only narrow what a schema allows: harmless on the source side of `fits`. */
const NARROWING = new Set(['format', 'multipleOf', 'uniqueItems', 'minProperties', 'maxProperties', 'propertyNames', 'contentEncoding', 'contentMediaType']);
const CHECKED = new Set([
  'type',
  'const',
  'enum',
  'anyOf',
  'oneOf',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'pattern',
]);

export function rooted(schema: JsonSchema, root: JsonSchema = schema): Rooted {
  return { schema, root };
}

/** Follows a local `$ref` (keywords beside it kept on top, as the simulator reads them). */
export function resolve({ schema, root }: Rooted): Rooted {
  const target = resolveLocalRef(schema, root);
  if (target === schema) return { schema, root };
  const beside = Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$ref'));
  return { schema: { ...target, ...beside }, root };
}

/** A named property of an object schema, when every value of the schema has it. */
export function requiredProperty(of: Rooted, key: string): Rooted | undefined {
  const { schema, root } = resolve(of);
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const required = Array.isArray(schema.required) ? (schema.required as unknown[]) : [];
  const property = properties?.[key];
  return property && required.includes(key) ? { schema: property, root } : undefined;
}

/** The element schema of an array schema, or undefined for anything else. */
export function itemsOf(of: Rooted): Rooted | undefined {
  const { schema, root } = resolve(of);
  return typesOf(schema).includes('array') && typeof schema.items === 'object' && schema.items !== null && !Array.isArray(schema.items)
    ? { schema: schema.items as JsonSchema, root }
    : undefined;
}

/** The JSON types a schema allows (inferred from its keywords when it names none). */
function typesOf(schema: JsonSchema): string[] {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === 'string');
  if (schema.properties) return ['object'];
  if (schema.items) return ['array'];
  return [];
}

function constrains(schema: JsonSchema): boolean {
  return Object.keys(schema).some((key) => !ANNOTATIONS.has(key));
}

function unknownKeywords(schema: JsonSchema, narrowingKnown = false): boolean {
  return Object.keys(schema).some((key) => !ANNOTATIONS.has(key) && !CHECKED.has(key) && !(narrowingKnown && NARROWING.has(key)));
}

/** Every value `source` allows is one `target` accepts (as far as can be proven from the two schemas). */
export function fits(sourceIn: Rooted, targetIn: Rooted, depth = 0): boolean {
  if (depth > 24) return false;
  const source = resolve(sourceIn);
  const target = resolve(targetIn);
  const s = source.schema;
  const t = target.schema;
  if (!constrains(t)) return true;
  if (unknownKeywords(t) || unknownKeywords(s, true) || !constrains(s)) return false;
  const sourceOptions = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(sourceOptions)) return sourceOptions.every((option) => fits({ schema: option, root: source.root }, target, depth + 1));
  const targetOptions = (t.anyOf ?? t.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(targetOptions)) return targetOptions.some((option) => fits(source, { schema: option, root: target.root }, depth + 1));
  // Values the source spells out one by one: check each against the target.
  const listed = 'const' in s ? [s.const] : Array.isArray(s.enum) ? (s.enum as unknown[]) : undefined;
  if (listed) return listed.every((value) => valueFits(value, target));
  if ('const' in t || Array.isArray(t.enum)) return false;
  const sourceTypes = typesOf(s);
  const targetTypes = typesOf(t);
  if (sourceTypes.length === 0) return false;
  for (const type of sourceTypes) {
    const accepted = targetTypes.length === 0 || targetTypes.includes(type) || (type === 'integer' && targetTypes.includes('number'));
    if (!accepted || !sameConstraints(type, source, target, depth)) return false;
  }
  return true;
}

function atLeast(source: unknown, target: unknown): boolean {
  return typeof target !== 'number' || (typeof source === 'number' && source >= target);
}

function atMost(source: unknown, target: unknown): boolean {
  return typeof target !== 'number' || (typeof source === 'number' && source <= target);
}

/** A number schema's lower or upper bound, and whether it is exclusive. */
function bound(schema: JsonSchema, side: 'minimum' | 'maximum'): { at: number; open: boolean } | undefined {
  const exclusive = side === 'minimum' ? schema.exclusiveMinimum : schema.exclusiveMaximum;
  const inclusive = schema[side];
  const tighter = (a: number, b: number) => (side === 'minimum' ? a >= b : a <= b);
  if (typeof exclusive === 'number' && (typeof inclusive !== 'number' || tighter(exclusive, inclusive))) return { at: exclusive, open: true };
  return typeof inclusive === 'number' ? { at: inclusive, open: false } : undefined;
}

/** Whether the source's bound lies inside the target's (`direction` 1 for lower bounds, -1 for upper). */
function within(source: { at: number; open: boolean } | undefined, target: { at: number; open: boolean } | undefined, direction: 1 | -1): boolean {
  if (!target) return true;
  if (!source) return false;
  const beyond = (source.at - target.at) * direction;
  return beyond > 0 || (beyond === 0 && (source.open || !target.open));
}

function sameConstraints(type: string, source: Rooted, target: Rooted, depth: number): boolean {
  const s = source.schema;
  const t = target.schema;
  switch (type) {
    case 'string':
      return atLeast(s.minLength ?? 0, t.minLength) && atMost(s.maxLength, t.maxLength) && (t.pattern === undefined || t.pattern === s.pattern);
    case 'number':
    case 'integer':
      return within(bound(s, 'minimum'), bound(t, 'minimum'), 1) && within(bound(s, 'maximum'), bound(t, 'maximum'), -1);
    case 'array': {
      if (!atLeast(s.minItems ?? 0, t.minItems) || !atMost(s.maxItems, t.maxItems)) return false;
      const targetItems = itemsOf(target);
      if (!targetItems) return true;
      const sourceItems = itemsOf(source);
      return sourceItems !== undefined && fits(sourceItems, targetItems, depth + 1);
    }
    case 'object':
      return objectFits(source, target, depth);
    default:
      return true; // boolean, null: the type says it all
  }
}

function objectFits(source: Rooted, target: Rooted, depth: number): boolean {
  const s = source.schema;
  const t = target.schema;
  const sourceProperties = (s.properties ?? {}) as Record<string, JsonSchema>;
  const targetProperties = (t.properties ?? {}) as Record<string, JsonSchema>;
  const sourceRequired = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  for (const key of Array.isArray(t.required) ? (t.required as string[]) : []) {
    if (!sourceRequired.has(key) || (!(key in sourceProperties) && targetProperties[key] && constrains(targetProperties[key]))) return false;
  }
  for (const [key, schema] of Object.entries(sourceProperties)) {
    const own = targetProperties[key];
    const extra = t.additionalProperties;
    const against = own ?? (typeof extra === 'object' && extra !== null ? (extra as JsonSchema) : extra === false ? undefined : {});
    if (!against || !fits({ schema, root: source.root }, { schema: against, root: target.root }, depth + 1)) return false;
  }
  // Keys the source does not name: allowed by the target only if it takes any key, or the source takes none.
  if (s.additionalProperties !== false && t.additionalProperties !== undefined && t.additionalProperties !== true) {
    if (t.additionalProperties === false || typeof s.additionalProperties !== 'object') return false;
    return fits(
      { schema: s.additionalProperties as JsonSchema, root: source.root },
      { schema: t.additionalProperties as JsonSchema, root: target.root },
      depth + 1,
    );
  }
  return true;
}

/** Whether `value` is valid under `schema` (the keywords of this module; any other keyword: false). */
export function valueFits(value: unknown, of: Rooted, depth = 0): boolean {
  if (depth > 64) return false;
  const rootedSchema = resolve(of);
  const schema = rootedSchema.schema;
  if (!constrains(schema)) return true;
  if (unknownKeywords(schema)) return false;
  const options = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(options)) return options.some((option) => valueFits(value, { schema: option, root: rootedSchema.root }, depth + 1));
  if ('const' in schema) return sameJson(value, schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.some((e) => sameJson(value, e));
  const types = typesOf(schema);
  const type = jsonType(value);
  if (types.length > 0 && !types.includes(type) && !(type === 'integer' && types.includes('number'))) return false;
  if (typeof value === 'string') {
    // Both ways of counting (zod's UTF-16 units, JSON Schema's code points) must pass.
    if (!atLeast([...value].length, schema.minLength) || !atMost(value.length, schema.maxLength)) return false;
    if (typeof schema.pattern === 'string') {
      try {
        return new RegExp(schema.pattern, 'u').test(value);
      } catch {
        return false;
      }
    }
    return true;
  }
  if (typeof value === 'number') {
    return (
      atLeast(value, schema.minimum) &&
      atMost(value, schema.maximum) &&
      (typeof schema.exclusiveMinimum !== 'number' || value > schema.exclusiveMinimum) &&
      (typeof schema.exclusiveMaximum !== 'number' || value < schema.exclusiveMaximum)
    );
  }
  if (Array.isArray(value)) {
    if (!atLeast(value.length, schema.minItems) || !atMost(value.length, schema.maxItems)) return false;
    const items = itemsOf(rootedSchema);
    return !items || value.every((item) => valueFits(item, items, depth + 1));
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of Array.isArray(schema.required) ? (schema.required as string[]) : []) if (!(key in record)) return false;
    for (const [key, item] of Object.entries(record)) {
      const extra = schema.additionalProperties;
      const against = properties[key] ?? (typeof extra === 'object' && extra !== null ? (extra as JsonSchema) : extra === false ? undefined : {});
      if (!against || !valueFits(item, { schema: against, root: rootedSchema.root }, depth + 1)) return false;
    }
  }
  return true;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
