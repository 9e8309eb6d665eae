import { z } from 'zod';
import type { ValidationIssue } from '../errors.js';
import { ShoalConfigError } from '../errors.js';
import { coerce } from './coerce.js';
import { createReadBudget, findJsonCandidates, parseJson } from './extract-json.js';

/** How an answer was read: straight JSON, found in prose or a fence, repaired, or coerced to the schema. */
export type ParseStage = 'parsed' | 'extracted' | 'repaired' | 'coerced';

/** A model answer read against a schema: its value, or where it missed. */
export type ParsedAnswer<T> =
  | {
      /** The answer fits. */
      readonly ok: true;
      /** The parsed value. */
      readonly value: T;
      /** How it was read. */
      readonly stage: ParseStage;
    }
  | {
      /** The answer does not fit. */
      readonly ok: false;
      /** Where it missed (`invalid_json` when no JSON was found). */
      readonly issues: readonly ValidationIssue[];
    };

/**
 * A zod output schema, ready for model answers: its JSON Schema (made once, by zod v4's
 * own z.toJSONSchema, so the prompt prefix is byte-for-byte stable) and a parser that
 * finds, repairs, coerces and validates.
 */
export class StructuredOutput<T> {
  /** The zod schema. */
  readonly schema: z.ZodType<T>;
  /** Its JSON Schema (zod v4's own `z.toJSONSchema`). */
  readonly jsonSchema: Record<string, unknown>;
  /** The JSON Schema as it goes into prompts (compact, stable key order). */
  readonly jsonSchemaText: string;

  constructor(schema: z.ZodType<T>) {
    this.schema = schema;
    this.jsonSchema = toJsonSchema(schema, 'output', refuseNonJson);
    // Compact: every call pays for these tokens (at the cached rate when the provider's prefix cache hits).
    this.jsonSchemaText = JSON.stringify(this.jsonSchema);
  }

  /** Reads a model answer: finds the JSON in it (in prose or a fence too), repairs it, coerces it to the schema, and validates it. */
  parse(text: string): ParsedAnswer<T> {
    // One time budget for finding and validating: parsing is synchronous, and the process waits meanwhile.
    const budget = createReadBudget();
    const candidates = findJsonCandidates(text, budget);
    const first = candidates[0]!;
    if (!first.ok) return { ok: false, issues: [{ path: [], message: first.reason, code: 'invalid_json' }] };
    let firstFailure: ParsedAnswer<T> | undefined;
    for (const candidate of candidates) {
      if (!candidate.ok) continue;
      if (firstFailure && budget.expired()) break; // the best candidate is always validated; the rest only while time is left
      const answer = this.validate(candidate.value, candidate.how);
      if (answer.ok) return answer;
      firstFailure ??= answer;
    }
    return firstFailure!;
  }

  /** Validates a value already parsed from JSON (e.g. one item of a packed answer). */
  validate(value: unknown, how: 'parsed' | 'extracted' | 'repaired' = 'parsed'): ParsedAnswer<T> {
    const first = this.schema.safeParse(value);
    if (first.success) return { ok: true, value: first.data, stage: how };
    let candidate = value;
    // JSON sent as a JSON string ("{\"a\":1}"): decode once.
    if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
      const decoded = parseJson(value);
      if (decoded.ok) candidate = decoded.value;
    }
    const coerced = coerce(candidate, this.jsonSchema);
    // Nothing to repair: a second validation would fail the same way, at the same cost (zod's failing path is slow on large answers).
    if (!coerced.changed && candidate === value) return { ok: false, issues: zodIssues(first.error) };
    const second = this.schema.safeParse(coerced.value);
    if (second.success) return { ok: true, value: second.data, stage: how === 'parsed' || how === 'extracted' ? 'coerced' : how };
    return { ok: false, issues: zodIssues(second.error) };
  }
}

export function zodIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: issue.message, code: issue.code }));
}

/**
 * zod v4's own JSON Schema of a schema. The "output" view (for what a model must answer):
 * objects say `additionalProperties: false` (what strict structured output needs) and
 * fields with defaults are required. The "input" view (for what a caller or planner may
 * pass): fields with defaults are optional. Unrepresentable parts (transforms) become `{}`.
 */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output', visit?: JsonSchemaVisitor): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io, ...(visit ? { override: visit } : {}) }) as Record<string, unknown>;
  delete json.$schema; // noise in a prompt
  return json;
}

type JsonSchemaVisitor = (context: { readonly zodSchema: unknown; readonly path: readonly (string | number)[] }) => void;

/** What to write instead of a type JSON cannot carry. */
const INSTEAD: Readonly<Record<string, string>> = {
  date: 'z.iso.datetime() (an ISO string) or z.coerce.date()',
  bigint: 'z.coerce.bigint() or z.int()',
  map: 'z.record(key, value)',
  set: 'z.array(item)',
  function: 'nothing: a model cannot answer a function',
  symbol: 'nothing: a model cannot answer a symbol',
  promise: 'the value itself',
  nan: 'z.number() or z.null()',
};

/**
 * A model answers JSON: an output schema with a type JSON cannot carry (a Date, a bigint, a
 * Map...) would fail validation on every answer, after paying for it and for a re-ask. So it
 * is refused when the schema is read, with where the type is and what to write instead.
 * `z.coerce.date()` and `z.coerce.bigint()` read a JSON string and pass.
 */
const refuseNonJson: JsonSchemaVisitor = ({ zodSchema, path }) => {
  const def = (zodSchema as { _zod?: { def?: { type?: string; coerce?: boolean } } })._zod?.def;
  const type = def?.type;
  if (type === undefined || !(type in INSTEAD) || def?.coerce) return;
  throw new ShoalConfigError(
    `the output schema has z.${type}() at ${describePath(path)}, which JSON cannot carry: a model answers JSON, so every answer would fail after being paid for. Use ${INSTEAD[type]} there.`,
  );
};

/** A JSON Schema path (`properties.a.items`) as a reader names the field (`a[]`). */
function describePath(path: readonly (string | number)[]): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    if (step === 'properties' && i + 1 < path.length) out += `${out ? '.' : ''}${String(path[++i])}`;
    else if (step === 'items' || step === 'prefixItems') out += '[]';
    else if (step === 'additionalProperties') out += '{}';
  }
  return out === '' ? 'the top' : `\`${out}\``;
}
