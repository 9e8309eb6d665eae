import { AbortError, defineAgent, ExecutorClosedError, ShoalConfigError, type ShoalError } from '@shoal/core';
import { refuseUnpricedBudget, toShoalError } from '@shoal/core/internal';
import { z } from 'zod';
import { AgentCache, keyOf } from '../util/agent-cache.js';
import { CallScope } from '../util/call-scope.js';
import { type AgentCallOptions, agentRunOptions, callOptionsShape, parseOptions, type Spending, textsSchema, withIds } from '../util/options.js';
import { type Chunk, chunkText } from './chunk.js';
import { type Evidence, locate, normalize, valueAppearsIn } from './evidence.js';

export type { Evidence } from './evidence.js';

/** A document to extract from, with an id of your own. */
export interface ExtractDocument {
  /** Your id for it, echoed in its result. */
  readonly id: string;
  /** The document's text. */
  readonly text: string;
}

/** A field's value with the places in the document that state it. */
export interface ExtractedValue<V> {
  /** The value. */
  readonly value: V;
  /** At least one; sorted by position. */
  readonly evidence: readonly Evidence[];
}

/** A single-valued field: the chosen value, and the other values some chunk gave (with their evidence). */
export interface ExtractedScalar<V> extends ExtractedValue<V> {
  /** The other values chunks gave, with their evidence. */
  readonly alternatives: readonly ExtractedValue<V>[];
}

type Element<T> = NonNullable<T> extends readonly (infer E)[] ? E : never;
/** An array, not a tuple (a tuple field is one value, like any other non-array field). */
type IsList<T> = NonNullable<T> extends readonly unknown[] ? (number extends NonNullable<T>['length'] ? true : false) : false;
/** Per field of the schema: array fields get every verified element, other fields the chosen value. */
export type ExtractedFields<T> = {
  readonly [K in keyof T]?: IsList<T[K]> extends true ? readonly ExtractedValue<Element<T[K]>>[] : ExtractedScalar<NonNullable<T[K]>>;
};

/** A value whose quote is not in the document (or that came without one): never counted as found. */
export interface UnverifiedValue {
  /** The field the value was given for. */
  readonly field: string;
  /** The value the model gave. */
  readonly value: unknown;
  /** What the model gave as its quote. */
  readonly quote: string;
  /** The chunk whose answer gave it. */
  readonly chunk: number;
  /**
   * `quote-not-in-document`: the quote is nowhere in the source; `value-not-in-quote`: the
   * quote is there but does not contain the (string or number) value; `no-quote`; or
   * `invalid-value`: the value does not fit the field's schema.
   */
  readonly reason: 'quote-not-in-document' | 'value-not-in-quote' | 'no-quote' | 'invalid-value';
}

/** One document's extraction: the fields found with their evidence, and what could not be verified. */
export interface DocumentExtraction<T> {
  /** The document's id. */
  readonly id: string;
  /** Each field found, with its evidence (and alternatives, for a single field). */
  readonly fields: ExtractedFields<T>;
  /** The values alone: the chosen value of each single field, every element of each array field. */
  readonly data: Partial<T>;
  /** `data` passes the schema: every required field was found with evidence. */
  readonly complete: boolean;
  /** Fields whose verified values do not satisfy the schema (not found, or too few for an array's minimum). */
  readonly missing: readonly string[];
  /** Flagged values (kept apart, or only counted with `unverified: 'drop'`). */
  readonly unverified: readonly UnverifiedValue[];
  /** Values without evidence that were dropped (with `unverified: 'drop'`; 0 otherwise). */
  readonly droppedUnverified: number;
  /** The chunks the document was cut into. */
  readonly chunks: readonly Pick<Chunk, 'index' | 'start' | 'end' | 'tokens'>[];
  /** Chunks whose call failed: the document's result is partial, and says so. */
  readonly failedChunks: readonly {
    /** The chunk's index. */
    readonly chunk: number;
    /** Why its call failed. */
    readonly error: ShoalError;
  }[];
}

export interface ExtractOptions<S extends z.ZodObject> extends AgentCallOptions {
  /** The fields to extract; `.describe()` on a field tells the model what it is. */
  readonly schema: S;
  /** Plain texts (ids "0", "1", ...) or `{ id, text }`; up to a few MB each. */
  readonly documents: readonly (string | ExtractDocument)[];
  /** Extra guidance for the model, e.g. "Amounts are in EUR". */
  readonly instructions?: string;
  /** Most tokens per chunk. @default 2000 */
  readonly chunkTokens?: number;
  /** Tokens each chunk repeats from the one before. @default 200 */
  readonly overlapTokens?: number;
  /** A value without evidence in the document: `flag` keeps it in `unverified`, `drop` only counts it. @default 'flag' */
  readonly unverified?: 'flag' | 'drop';
  /**
   * A string or number value counts as found only if it appears in its own quote (after
   * white space and case are normalized; numbers in their written forms, e.g. "1,234.50").
   * Turn off for fields the model is asked to reformat (dates, normalized names).
   * @default true
   */
  readonly requireValueInQuote?: boolean;
  /** Agent name (cost-ledger tag). @default 'shoal.extract' */
  readonly name?: string;
  /** Called as each chunk's call settles, with the chunks done, the chunks in all, and the cost so far. */
  readonly onProgress?: (progress: {
    /** Chunks settled (answered or failed). */
    readonly chunksDone: number;
    /** Chunks in all, over every document. */
    readonly chunks: number;
    /** What the extraction has spent so far, in USD. */
    readonly costUsd: number;
  }) => void;
}

export interface ExtractResult<T> extends Spending {
  /** One per document, in input order. */
  readonly documents: readonly DocumentExtraction<T>[];
}

const optionsSchema = z.strictObject({
  schema: z.custom<z.ZodObject>((v) => v instanceof z.ZodObject, 'Expected `schema` to be a zod object schema (z.object({...})) of the fields to extract'),
  documents: textsSchema,
  ...callOptionsShape,
  instructions: z.string().optional(),
  chunkTokens: z.int().min(100).max(100_000).default(2000),
  overlapTokens: z.int().min(0).default(200),
  unverified: z.enum(['flag', 'drop']).default('flag'),
  requireValueInQuote: z.boolean().default(true),
  name: z.string().optional(),
  onProgress: z.custom<(p: unknown) => void>((v) => typeof v === 'function').optional(),
});

interface FieldPlan {
  readonly name: string;
  readonly array: boolean;
  /** The schema of one value (the element, for arrays). */
  readonly value: z.ZodType;
  readonly required: boolean;
}

/** Looks through optional/nullable/default wrappers. */
function unwrap(schema: z.ZodType): { inner: z.ZodType; optional: boolean } {
  let inner = schema;
  let optional = false;
  for (;;) {
    const def = (inner as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch'].includes(def.type) && def.innerType) {
      if (def.type !== 'readonly') optional = true;
      inner = def.innerType;
      continue;
    }
    return { inner, optional };
  }
}

function planFields(schema: z.ZodObject): FieldPlan[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const { inner, optional } = unwrap(field);
    const def = (inner as unknown as { _zod: { def: { type: string; element?: z.ZodType } } })._zod.def;
    const array = def.type === 'array' && def.element !== undefined;
    const value = array ? def.element! : inner;
    const described = field.description ?? inner.description;
    return { name, array, value: described && !value.description ? value.describe(described) : value, required: !optional };
  });
}

/**
 * A value schema that shows the model the field's JSON Schema but accepts anything, so that
 * one bad value is flagged on its own (`invalid-value`) instead of failing the whole chunk's
 * answer. (A field whose schema needs $defs keeps its own schema.)
 */
function lenient(value: z.ZodType): z.ZodType {
  let shown: Record<string, unknown>;
  try {
    shown = z.toJSONSchema(value) as Record<string, unknown>;
  } catch {
    return value;
  }
  if ('$defs' in shown || JSON.stringify(shown).includes('"$ref"')) return value;
  delete shown.$schema;
  return z.unknown().meta(shown);
}

/** The answer asked of the model for one chunk: every field with a verbatim quote, null / [] when the chunk does not state it. */
function chunkAnswerSchema(fields: readonly FieldPlan[]) {
  const quoted = (value: z.ZodType) =>
    z.object({ value: lenient(value), quote: z.string().describe('The exact words of the text that state the value, copied character for character.') });
  return z.object(Object.fromEntries(fields.map((f) => [f.name, f.array ? z.array(quoted(f.value)) : quoted(f.value).nullable()])));
}

const INSTRUCTIONS = [
  'You extract fields from a part of a document. The JSON Schema below lists the fields.',
  'For every value, give `quote`: the words of the text that state it, copied exactly, character for character (no paraphrase, no "...", at most one or two lines).',
  'Use null for a single field, or [] for a list, when this part of the text does not state it. Never guess and never use outside knowledge.',
].join(' ');

const agents = new AgentCache<ReturnType<typeof buildAgent>>();
function buildAgent(schema: z.ZodObject, name: string, instructions: string | undefined) {
  const fields = planFields(schema);
  const agent = defineAgent({
    name,
    description: 'Extracts fields with verbatim evidence quotes from one part of a document.',
    input: z.object({ document: z.string(), part: z.int(), parts: z.int(), text: z.string() }),
    output: chunkAnswerSchema(fields),
    instructions: instructions ? `${INSTRUCTIONS}\n\n${instructions.trim()}` : INSTRUCTIONS,
    // The text goes in raw (not as a JSON string), so that the model's quotes are the document's characters.
    prompt: (input) => `Document ${JSON.stringify(input.document)}, part ${input.part} of ${input.parts}:\n\n<<<\n${input.text}\n>>>`,
    params: { temperature: 0 },
  });
  return { agent, fields };
}
function agentFor(schema: z.ZodObject, name: string, instructions: string | undefined) {
  return agents.get(`${keyOf(schema)}\u0000${name}\u0000${instructions ?? ''}`, () => buildAgent(schema, name, instructions));
}

interface Candidate {
  readonly value: unknown;
  readonly key: string;
  readonly evidence: Evidence;
}

/** Equal values for de-duplication: strings compared without case and extra white space, anything else by its JSON. */
function valueKey(value: unknown): string {
  if (typeof value === 'string') return `s:${normalize(value).text}`;
  return `j:${stableJson(value)}`;
}
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Merges the candidates of one field across chunks. Evidence at the same offsets (chunks
 * overlap) counts once. Equal values (valueKey) become one, with all their evidence.
 * A single field takes the value with the most distinct evidence, ties to the earliest;
 * the others stay as alternatives. An array field keeps every distinct value, in document order.
 */
function mergeField(candidates: readonly Candidate[]): ExtractedValue<unknown>[] {
  const groups = new Map<string, { value: unknown; evidence: Map<string, Evidence> }>();
  for (const candidate of candidates) {
    let group = groups.get(candidate.key);
    if (!group) groups.set(candidate.key, (group = { value: candidate.value, evidence: new Map() }));
    const at = `${candidate.evidence.start}:${candidate.evidence.end}`;
    if (!group.evidence.has(at)) group.evidence.set(at, candidate.evidence);
  }
  return [...groups.values()].map((g) => ({ value: g.value, evidence: [...g.evidence.values()].sort((a, b) => a.start - b.start) }));
}

/**
 * Extracts `schema`'s fields from every document. Long documents are split by tokens with
 * overlap; chunks run in parallel through the executor; every value must come with a quote
 * that is found in the document, or it is flagged (`unverified`) and never reported as found.
 */
export async function extract<S extends z.ZodObject>(options: ExtractOptions<S>): Promise<ExtractResult<z.output<S>>> {
  const started = performance.now();
  const parsed = parseOptions('extract()', optionsSchema, options);
  if (parsed.overlapTokens >= parsed.chunkTokens / 2) {
    throw new ShoalConfigError(
      `extract(): \`overlapTokens\` (${parsed.overlapTokens}) must be under half of \`chunkTokens\` (${parsed.chunkTokens}), or chunks would mostly repeat each other.`,
    );
  }
  const { agent, fields } = agentFor(options.schema, parsed.name ?? 'shoal.extract', parsed.instructions);
  const documents = withIds(options.documents);
  const plans = await Promise.all(
    documents.map(async (doc) => ({ doc, chunks: await chunkText(doc.text, { chunkTokens: parsed.chunkTokens, overlapTokens: parsed.overlapTokens }) })),
  );
  const totalChunks = plans.reduce((n, p) => n + p.chunks.length, 0);
  refuseUnpricedBudget(parsed.executor, parsed.budgetUsd, 'extract({ budgetUsd })');
  const scope = new CallScope(parsed.budgetUsd, parsed.signal);
  let chunksDone = 0;

  /** One chunk's answer, checked value by value against the document. */
  const check = (
    doc: { text: string },
    chunk: Chunk,
    answer: Record<string, unknown>,
    candidates: Map<string, Candidate[]>,
    flag: (value: UnverifiedValue) => void,
  ) => {
    for (const field of fields) {
      const raw = answer[field.name];
      const entries = (field.array ? (Array.isArray(raw) ? raw : []) : raw === null || raw === undefined ? [] : [raw]) as { value: unknown; quote: unknown }[];
      for (const entry of entries) {
        if (typeof entry !== 'object' || entry === null || entry.value === null || entry.value === undefined) continue;
        const quote = typeof entry.quote === 'string' ? entry.quote : '';
        const unverified = (reason: UnverifiedValue['reason']) => flag({ field: field.name, value: entry.value, quote, chunk: chunk.index, reason });
        const valid = field.value.safeParse(entry.value);
        if (!valid.success) {
          unverified('invalid-value');
          continue;
        }
        if (quote.trim() === '') {
          unverified('no-quote');
          continue;
        }
        const where = locate(doc.text, quote, chunk.start, chunk.end);
        if (!where.found) {
          unverified('quote-not-in-document');
          continue;
        }
        const text = doc.text.slice(where.start, where.end);
        const valueInQuote = valueAppearsIn(valid.data, text);
        if (parsed.requireValueInQuote && !valueInQuote && (typeof valid.data === 'string' || typeof valid.data === 'number')) {
          unverified('value-not-in-quote');
          continue;
        }
        candidates.get(field.name)!.push({
          value: valid.data,
          key: valueKey(valid.data),
          evidence: { quote: text, start: where.start, end: where.end, chunk: chunk.index, match: where.match, valueInQuote },
        });
      }
    }
  };

  const results = await scope.guard(() =>
    Promise.all(
      plans.map(async ({ doc, chunks }) => {
        const candidates = new Map<string, Candidate[]>(fields.map((f) => [f.name, []]));
        const flagged: UnverifiedValue[] = [];
        const failedChunks: { chunk: number; error: ShoalError }[] = [];
        await Promise.all(
          chunks.map(async (chunk) => {
            try {
              const result = await scope.run(() =>
                agent.run({ document: doc.id, part: chunk.index + 1, parts: chunks.length, text: chunk.text }, agentRunOptions(parsed, 'extract', scope)),
              );
              check(doc, chunk, result.output as Record<string, unknown>, candidates, (value) => flagged.push(value));
            } catch (error) {
              // Cancellation and a closed executor end the extraction; a chunk's own failure (or the budget) is reported with the document.
              if (AbortError.isInstance(error) || ExecutorClosedError.isInstance(error)) throw error;
              failedChunks.push({ chunk: chunk.index, error: toShoalError(error, 'the extraction agent') });
            } finally {
              chunksDone++;
              parsed.onProgress?.({ chunksDone, chunks: totalChunks, costUsd: scope.tally.costUsd });
            }
          }),
        );
        // Chunks finish in any order: sort what they gave by place, so the result does not depend on timing.
        flagged.sort((a, b) => a.chunk - b.chunk || a.field.localeCompare(b.field));
        const unverified = parsed.unverified === 'flag' ? flagged : [];
        const extracted: Record<string, unknown> = {};
        const data: Record<string, unknown> = {};
        for (const field of fields) {
          const merged = mergeField(candidates.get(field.name)!.sort((a, b) => a.evidence.start - b.evidence.start || a.evidence.chunk - b.evidence.chunk));
          if (merged.length === 0) {
            if (field.array) data[field.name] = [];
            continue;
          }
          if (field.array) {
            merged.sort((a, b) => a.evidence[0]!.start - b.evidence[0]!.start);
            extracted[field.name] = merged;
            data[field.name] = merged.map((m) => m.value);
          } else {
            merged.sort((a, b) => b.evidence.length - a.evidence.length || a.evidence[0]!.start - b.evidence[0]!.start);
            const [chosen, ...alternatives] = merged;
            extracted[field.name] = { ...chosen!, alternatives };
            data[field.name] = chosen!.value;
          }
        }
        failedChunks.sort((a, b) => a.chunk - b.chunk);
        const checked = options.schema.safeParse(data);
        const missing = checked.success ? [] : [...new Set(checked.error.issues.map((issue) => String(issue.path[0] ?? '')))].filter(Boolean);
        return {
          id: doc.id,
          fields: extracted as ExtractedFields<z.output<S>>,
          data: data as Partial<z.output<S>>,
          complete: failedChunks.length === 0 && checked.success,
          missing,
          unverified,
          droppedUnverified: parsed.unverified === 'drop' ? flagged.length : 0,
          chunks: chunks.map(({ index, start, end, tokens }) => ({ index, start, end, tokens })),
          failedChunks,
        } satisfies DocumentExtraction<z.output<S>>;
      }),
    ),
  );
  const tally = scope.tally;
  return { documents: results, calls: tally.calls, usage: tally.usage(), costUsd: tally.costUsd, durationMs: performance.now() - started };
}
