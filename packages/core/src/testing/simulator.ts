import { resolveLocalRef } from '../util/json-schema.js';
import { hashString, seededRandom } from '../util/random.js';
import { plannerRequest, simulatedPlan } from './simulated-planner.js';

/**
 * The offline simulator behind the emulator and the demo. It is not a model: it finds the
 * JSON Schema that shoal put in the prompt and answers with a value that fits it, derived
 * deterministically from the input text (the same prompt always gets the same answer).
 * Without a schema it answers a short plain text marked as simulated. Shoal's planner gets a
 * plan built from the catalogue in its prompt (`simulated-planner.ts`), so a coordinator runs
 * offline too.
 */

/** The model name the simulator's answers carry. */
export const SIMULATOR_MODEL = 'shoal-emulator/simulator';

type Schema = Record<string, unknown>;

const FENCE = /```(?:json|json-schema)?\s*\n([\s\S]*?)\n```/g;

/** The first fenced JSON block that looks like a JSON Schema, and the text after it (the variable input). */
export function findSchema(prompt: string):
  | {
      /** The JSON Schema found. */
      schema: Schema;
      /** The prompt's text after it. */
      input: string;
    }
  | undefined {
  for (const match of prompt.matchAll(FENCE)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(match[1]!);
    } catch {
      continue;
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const s = parsed as Schema;
      if ('$schema' in s || 'properties' in s || ('type' in s && typeof s.type === 'string')) {
        return { schema: s, input: prompt.slice(match.index! + match[0].length) };
      }
    }
  }
  return undefined;
}

/** A value fitting `schema`, derived from `input` (for servers that receive the schema separately, as response_format). */
export function simulateWithSchema(schema: Record<string, unknown>, input: string): string {
  return planAnswer(schema, input) ?? JSON.stringify(new ValueGenerator(schema, input).value(schema, 0));
}

/** The plan for shoal's planner, when this is its prompt: its schema is the plan's and its input a task with a catalogue. */
function planAnswer(schema: Schema, input: string): string | undefined {
  const request = plannerRequest(schema, input);
  if (!request) return undefined;
  return JSON.stringify(simulatedPlan(request, (field, root) => new ValueGenerator(root, request.task).value(field, 0)));
}

/**
 * The simulator's answer to a prompt: a JSON value that fits the schema in the prompt, derived from the text after it
 * (the same prompt always gets the same answer); without a schema, a short text marked `[simulated, not a model]`.
 */
export function simulate(prompt: string): string {
  const found = findSchema(prompt);
  if (!found) {
    // No schema: say plainly what was asked, so nobody mistakes this for a model's answer.
    const paragraphs = prompt
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter(Boolean);
    const input = (paragraphs[paragraphs.length - 1] ?? '').replace(/\s+/g, ' ');
    const excerpt = input.length > 60 ? `${input.slice(0, 57)}...` : input;
    return `[simulated, not a model] ${wordsOf(prompt).length} words received; last part: "${excerpt}"`;
  }
  const plan = planAnswer(found.schema, found.input);
  if (plan) return plan;
  const input = found.input.trim() || prompt;
  const generator = new ValueGenerator(found.schema, input);
  return JSON.stringify(generator.value(found.schema, 0));
}

/**
 * The ids of a packed input (shoal's convention): the keys of the last fenced JSON object,
 * or the "id" fields of a JSON array of items.
 */
function packedIds(input: string): string[] {
  const fences = [...input.matchAll(/```json\s*\n([\s\S]*?)\n```/g)];
  const last = fences[fences.length - 1]?.[1];
  if (last) {
    try {
      const value: unknown = JSON.parse(last);
      if (Array.isArray(value))
        return value.flatMap((v) => (typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string' ? [(v as { id: string }).id] : []));
      if (typeof value === 'object' && value !== null && Object.keys(value).length > 1) return Object.keys(value);
    } catch {
      // not JSON: no ids
    }
  }
  return [];
}

function wordsOf(text: string): string[] {
  // Content words only: not the prompt's own scaffolding (fences, headings, ids).
  const content = text.replace(/```[a-z-]*|^#.*$|"id"\s*:\s*"[^"]*"|"(input|output|items)"\s*:/gm, ' ');
  return content.match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? [];
}

class ValueGenerator {
  readonly #root: Schema;
  readonly #random: () => number;
  readonly #words: string[];
  readonly #numbers: number[];
  /** Ids of a packed input (shoal's convention: a JSON array of {"id", "input"}), answered one item each. */
  readonly #ids: string[];
  /** Lines of the input text as they are (for quotes that must be verbatim). */
  readonly #lines: string[];

  constructor(root: Schema, input: string) {
    this.#ids = packedIds(input);
    this.#lines = input.split('\n').filter((line) => /[\p{L}\p{N}]/u.test(line) && !line.startsWith('```'));
    this.#root = root;
    this.#random = seededRandom(hashString(input));
    const words = wordsOf(input);
    this.#words = words.length > 0 ? words : ['simulated'];
    this.#numbers = (input.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
  }

  /** Follows a local $ref; keywords beside the $ref (a description, bounds) apply on top. */
  #resolve(schema: Schema): Schema {
    const target = resolveLocalRef(schema, this.#root);
    return target === schema ? schema : { ...target, ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref')) };
  }

  value(raw: Schema, depth: number): unknown {
    const schema = this.#resolve(raw);
    if ('const' in schema) return schema.const;
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[Math.floor(this.#random() * schema.enum.length)];
    for (const key of ['anyOf', 'oneOf'] as const) {
      const options = schema[key];
      if (Array.isArray(options) && options.length > 0) {
        const nonNull = options.filter((o) => (o as Schema).type !== 'null') as Schema[];
        const pool = nonNull.length > 0 ? nonNull : (options as Schema[]);
        return this.value(pool[Math.floor(this.#random() * pool.length)]!, depth + 1);
      }
    }
    if (Array.isArray(schema.allOf)) {
      return this.value(Object.assign({}, ...(schema.allOf as Schema[]).map((s) => this.#resolve(s))), depth + 1);
    }
    let type = schema.type;
    if (Array.isArray(type)) type = type.find((t) => t !== 'null') ?? 'null';
    if (type === undefined) type = schema.properties ? 'object' : schema.items ? 'array' : 'string';
    switch (type) {
      case 'object':
        return this.#object(schema, depth);
      case 'array':
        return this.#array(schema, depth);
      case 'integer':
        return Math.round(this.#number(schema, true));
      case 'number':
        return this.#number(schema, false);
      case 'boolean':
        return this.#random() < 0.5;
      case 'null':
        return null;
      default:
        return this.#string(schema);
    }
  }

  #object(schema: Schema, depth: number): Record<string, unknown> {
    const extra = schema.additionalProperties;
    if (!schema.properties && typeof extra === 'object' && extra !== null && this.#ids.length > 0) {
      // A packed answer: one value per input id.
      return Object.fromEntries(this.#ids.map((id) => [id, this.value(extra as Schema, depth + 1)]));
    }
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    if (properties.value && this.#resolve(properties.quote ?? {}).type === 'string' && this.#lines.length > 0) return this.#quoted(properties.value, depth);
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const out: Record<string, unknown> = {};
    for (const [name, sub] of Object.entries(properties)) {
      if (required.has(name) || (depth < 4 && this.#random() < 0.6)) out[name] = this.value(sub, depth + 1);
    }
    return out;
  }

  #array(schema: Schema, depth: number): unknown[] {
    const itemSchema = this.#resolve((schema.items as Schema | undefined) ?? {});
    const idProperty = (itemSchema.properties as Record<string, Schema> | undefined)?.id;
    if (this.#ids.length > 0 && idProperty?.type === 'string') {
      return this.#ids.map((id) => ({ ...(this.value(itemSchema, depth + 1) as Record<string, unknown>), id }));
    }
    // Deep down (recursive schemas) arrays shrink to their minimum, so generation ends.
    const min = typeof schema.minItems === 'number' ? schema.minItems : depth > 3 ? 0 : 1;
    const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 3);
    const count = depth > 3 ? min : min + Math.floor(this.#random() * (max - min + 1));
    const items = (Array.isArray(schema.prefixItems) ? undefined : (schema.items as Schema | undefined)) ?? {};
    return Array.from({ length: count }, () => this.value(items, depth + 1));
  }

  #number(schema: Schema, integer: boolean): number {
    const lo =
      typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + (integer ? 1 : 1e-6) : 0;
    const hi =
      typeof schema.maximum === 'number'
        ? schema.maximum
        : typeof schema.exclusiveMaximum === 'number'
          ? schema.exclusiveMaximum - (integer ? 1 : 1e-6)
          : lo + 100;
    const fromInput = this.#numbers.find((n) => n >= lo && n <= hi);
    if (fromInput !== undefined && this.#random() < 0.5) return fromInput;
    const value = lo + (hi - lo) * this.#random();
    return integer ? Math.min(Math.floor(hi), Math.max(Math.ceil(lo), Math.round(value))) : Math.round(value * 1000) / 1000;
  }

  #string(schema: Schema): string {
    const format = schema.format;
    if (format === 'email') return `${this.#word().toLowerCase()}@example.com`;
    if (format === 'date') return '2026-01-15';
    if (format === 'date-time') return '2026-01-15T10:00:00Z';
    if (format === 'uri' || format === 'url') return `https://example.com/${this.#word().toLowerCase()}`;
    if (format === 'uuid') return '00000000-0000-4000-8000-000000000000';
    const min = typeof schema.minLength === 'number' ? schema.minLength : 1;
    const max = typeof schema.maxLength === 'number' ? schema.maxLength : 120;
    const count = 1 + Math.floor(this.#random() * 6);
    const start = Math.floor(this.#random() * this.#words.length);
    let text = Array.from({ length: count }, (_, i) => this.#words[(start + i) % this.#words.length]).join(' ');
    while (text.length < min) text += ` ${this.#word()}`;
    return text.slice(0, max);
  }

  /**
   * An evidence pair `{ value, quote }` (shoal's extraction convention): the quote is a run
   * of words copied verbatim from one input line, a string value a part of it, a number one
   * written in it if there is one. Whether it means anything is not the simulator's business.
   */
  #quoted(valueSchema: Schema, depth: number): { value: unknown; quote: string } {
    const line = this.#lines[Math.floor(this.#random() * this.#lines.length)]!;
    const words = [...line.matchAll(/\S+/g)];
    const first = Math.floor(this.#random() * words.length);
    const last = Math.min(words.length - 1, first + 1 + Math.floor(this.#random() * 5));
    const quote = line.slice(words[first]!.index!, words[last]!.index! + words[last]![0].length);
    const resolved = this.#resolve(valueSchema);
    const type = Array.isArray(resolved.type) ? resolved.type.find((t) => t !== 'null') : resolved.type;
    if (type === 'string' && resolved.enum === undefined && resolved.format === undefined) {
      const inner = quote.split(/\s+/);
      const at = Math.floor(this.#random() * inner.length);
      return { value: inner.slice(at, at + 1 + Math.floor(this.#random() * 2)).join(' '), quote };
    }
    if (type === 'number' || type === 'integer') {
      const written = quote.match(/\d+(?:\.\d+)?/);
      if (written) return { value: type === 'integer' ? Math.round(Number(written[0])) : Number(written[0]), quote };
    }
    return { value: this.value(valueSchema, depth + 1), quote };
  }

  #word(): string {
    return this.#words[Math.floor(this.#random() * this.#words.length)]!;
  }
}
