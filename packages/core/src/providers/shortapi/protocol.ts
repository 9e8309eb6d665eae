import { z } from 'zod';
import type { Issue } from '../../errors.js';
import { zodIssues } from '../../structured/structured-output.js';
import { isPlainObject } from '../../util/options.js';
import type { Usage } from '../types.js';

/**
 * Everything shoal assumes about ShortAPI's job protocol, in one module. The vendor's
 * page documents only part of it (see docs/protocol.md for the full list); each
 * assumption below is named A1..A10 so that when the real behaviour is known, only this
 * file changes.
 */

export const DEFAULT_BASE_URL = 'https://api.shortapi.ai';
export const DEFAULT_MODEL = 'openai/gpt-5.4-nano';
export const CREATE_PATH = '/api/v1/job/create';
export const queryPath = (jobId: string): string => `/api/v1/job/query?id=${encodeURIComponent(jobId)}`;

/** A3: only 2 is documented; the rest is assumed. Negative = failed; anything else = pending. */
const JOB_STATUS = { queued: 0, running: 1, succeeded: 2, failed: 3 } as const;

/** A8 (ours): every create carries the executor's call id, so a server (and our emulator) can spot a repeated create. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

const apiCode = z.union([z.number(), z.string()]);

/** A4: the envelope. Only `code: 0` is documented; any other code is an API error with `msg` or `message`. */
const envelopeSchema = z.looseObject({
  code: apiCode,
  msg: z.string().optional(),
  message: z.string().optional(),
  data: z.unknown().optional(),
});

/** A1: the job id is at `data.job_id` (the vendor's own samples read it from the wrong place). */
const createDataSchema = z.looseObject({
  job_id: z.union([z.string().min(1), z.number()]),
  amount: z.union([z.string(), z.number()]).optional(),
});

const queryDataSchema = z.looseObject({
  status: z.number(),
  job_id: z.union([z.string(), z.number()]).optional(),
  result: z.unknown().optional(),
  error: z.unknown().optional(),
  msg: z.string().optional(),
  message: z.string().optional(),
  usage: z.unknown().optional(),
  amount: z.union([z.string(), z.number()]).optional(),
  model: z.string().optional(),
});

/** A5a: usage, named like the Responses API or like chat completions. */
const usageSchema = z.looseObject({
  input_tokens: z.number().int().nonnegative().optional(),
  output_tokens: z.number().int().nonnegative().optional(),
  prompt_tokens: z.number().int().nonnegative().optional(),
  completion_tokens: z.number().int().nonnegative().optional(),
  cached_tokens: z.number().int().nonnegative().optional(),
  input_tokens_details: z.looseObject({ cached_tokens: z.number().int().nonnegative().optional() }).optional(),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().int().nonnegative().optional() }).optional(),
});

/** The schemas the hand checks agree with (a test holds them to the same verdicts). */
export const protocolSchemas = { envelope: envelopeSchema, createData: createDataSchema, queryData: queryDataSchema, usage: usageSchema };

/** A payload that does not fit; the provider turns it into a ProtocolError carrying the redacted body. */
export class PayloadMismatch extends Error {
  constructor(
    message: string,
    readonly issues: readonly Issue[],
    /** False when asking again cannot help (a well-formed answer of an unknown shape). */
    readonly transient = true,
  ) {
    super(message);
  }
}

/** The issues of a schema checked against the envelope's `data`, with paths from the answer's root. */
function inData(error: z.ZodError): Issue[] {
  return zodIssues(error).map((issue) => ({ ...issue, path: ['data', ...issue.path] }));
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new PayloadMismatch('the answer is not JSON', [{ code: 'invalid_json', path: [], message: (error as Error).message }]);
  }
}

export type Envelope = { readonly ok: true; readonly data: unknown } | { readonly ok: false; readonly code: number | string; readonly message: string };

export function parseEnvelope(payload: unknown): Envelope {
  const parsed = readAs(envelopeSchema, payload, isPlainEnvelope);
  if (!parsed.success) throw new PayloadMismatch('the answer has no `code` envelope', zodIssues(parsed.error));
  const envelope = parsed.data;
  const { code, msg, message, data } = envelope;
  if (code === 0 || code === '0') return { ok: true, data };
  return { ok: false, code, message: msg ?? message ?? '(no message)' };
}

export interface CreateAnswer {
  readonly jobId: string;
  readonly amountUsd: string | undefined;
}

export function parseCreateData(data: unknown): CreateAnswer {
  const parsed = readAs(createDataSchema, data, isPlainCreateData);
  if (!parsed.success) throw new PayloadMismatch('the create answer has no `data.job_id`', inData(parsed.error));
  return { jobId: String(parsed.data.job_id), amountUsd: amountString(parsed.data.amount) };
}

/**
 * `value` as `schema` reads it: checked by hand first (`plain`, which gives the schema's
 * verdict on the usual answers without zod: every create and poll runs these), by the schema
 * only when the hand check refuses, for its issues.
 */
function readAs<S extends z.ZodType>(schema: S, value: unknown, plain: (value: Record<string, unknown>) => boolean): z.ZodSafeParseResult<z.output<S>> {
  return isPlainObject(value) && plain(value) ? { success: true, data: value as z.output<S> } : schema.safeParse(value);
}

function isPlainEnvelope(value: Record<string, unknown>): boolean {
  return isCode(value.code) && isOptionalString(value.msg) && isOptionalString(value.message);
}

function isPlainCreateData(value: Record<string, unknown>): boolean {
  return ((typeof value.job_id === 'string' && value.job_id !== '') || isFiniteNumber(value.job_id)) && isOptionalAmount(value.amount);
}

function isPlainJobData(value: Record<string, unknown>): boolean {
  return (
    isFiniteNumber(value.status) &&
    (value.job_id === undefined || isCode(value.job_id)) &&
    isOptionalString(value.msg) &&
    isOptionalString(value.message) &&
    isOptionalAmount(value.amount) &&
    isOptionalString(value.model)
  );
}

function isPlainUsage(value: Record<string, unknown>): boolean {
  return (
    isOptionalCount(value.input_tokens) &&
    isOptionalCount(value.output_tokens) &&
    isOptionalCount(value.prompt_tokens) &&
    isOptionalCount(value.completion_tokens) &&
    isOptionalCount(value.cached_tokens) &&
    isOptionalDetails(value.input_tokens_details) &&
    isOptionalDetails(value.prompt_tokens_details)
  );
}

/**
 * What the hand checks share with the schemas above (the same verdict, without zod). zod's
 * `number()` refuses the infinities JSON.parse makes of `1e400`, and `int()` anything past
 * 2^53 - 1: so do these.
 */
function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isCode(value: unknown): value is number | string {
  return isFiniteNumber(value) || typeof value === 'string';
}

function isOptionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

function isOptionalAmount(value: unknown): value is string | number | undefined {
  return value === undefined || typeof value === 'string' || isFiniteNumber(value);
}

function isOptionalCount(value: unknown): value is number | undefined {
  return value === undefined || (Number.isSafeInteger(value) && (value as number) >= 0);
}

function isOptionalDetails(value: unknown): value is { cached_tokens?: number } | undefined {
  return value === undefined || (isPlainObject(value) && isOptionalCount(value.cached_tokens));
}

function amountString(amount: string | number | undefined): string | undefined {
  if (amount === undefined) return undefined;
  return typeof amount === 'number' ? amount.toString() : amount;
}

export type JobState =
  | { readonly state: 'pending'; readonly status: number }
  | {
      readonly state: 'succeeded';
      readonly text: string;
      readonly usage: Usage | undefined;
      readonly amountUsd: string | undefined;
      readonly model: string | undefined;
      readonly jobId: string | undefined;
    }
  | { readonly state: 'failed'; readonly status: number; readonly message: string | undefined; readonly jobId: string | undefined };

/** Reads a query answer's `data` (and, A7, a callback's body, which we assume has the same shape). */
export function parseJobData(data: unknown): JobState {
  const parsed = readAs(queryDataSchema, data, isPlainJobData);
  if (!parsed.success) throw new PayloadMismatch('the job answer has no numeric `data.status`', inData(parsed.error));
  const job = parsed.data;
  const jobId = job.job_id === undefined ? undefined : String(job.job_id);
  if (job.status === JOB_STATUS.succeeded) {
    const text = extractText(job.result);
    if (text === undefined) {
      throw new PayloadMismatch(
        'the job succeeded but its result holds no text in any known place',
        [
          {
            code: 'no_text',
            path: ['data', 'result'],
            message: 'looked at result (string), result.text, result.output, result.output_text, result.content, result.choices[0].message.content',
          },
        ],
        false,
      );
    }
    const resultUsage = isPlainObject(job.result) ? job.result.usage : undefined;
    return {
      state: 'succeeded',
      text,
      usage: extractUsage(job.usage) ?? extractUsage(resultUsage),
      amountUsd: amountString(job.amount),
      model: job.model ?? (isPlainObject(job.result) && typeof job.result.model === 'string' ? job.result.model : undefined),
      jobId,
    };
  }
  if (job.status === JOB_STATUS.failed || job.status < 0) {
    const error = job.error;
    const message = typeof error === 'string' ? error : isPlainObject(error) && typeof error.message === 'string' ? error.message : (job.msg ?? job.message);
    return { state: 'failed', status: job.status, message, jobId };
  }
  return { state: 'pending', status: job.status };
}

/** A2: a text model's answer is undocumented; accept it from any of these places, in this order. */
export function extractText(result: unknown): string | undefined {
  if (typeof result === 'string') return result;
  if (!isPlainObject(result)) return undefined;
  for (const key of ['text', 'output_text', 'output', 'content'] as const) {
    const value = result[key];
    if (typeof value === 'string') return value;
  }
  // Responses API shape: output: [{ content: [{ type: 'output_text', text }] }]
  if (Array.isArray(result.output)) {
    const parts: string[] = [];
    for (const item of result.output) {
      if (isPlainObject(item) && Array.isArray(item.content)) {
        for (const part of item.content) if (isPlainObject(part) && typeof part.text === 'string') parts.push(part.text);
      }
    }
    if (parts.length > 0) return parts.join('');
  }
  const choices = result.choices;
  if (Array.isArray(choices) && isPlainObject(choices[0]) && isPlainObject(choices[0].message)) {
    const content = choices[0].message.content;
    if (typeof content === 'string') return content;
  }
  return undefined;
}

/** A5a: usage in either naming; undefined when absent or unreadable (the ledger then counts tokens itself). */
export function extractUsage(value: unknown): Usage | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = readAs(usageSchema, value, isPlainUsage);
  if (!parsed.success) return undefined;
  const u = parsed.data;
  const input = u.input_tokens ?? u.prompt_tokens;
  const output = u.output_tokens ?? u.completion_tokens;
  if (input === undefined || output === undefined) return undefined;
  const cached = u.input_tokens_details?.cached_tokens ?? u.prompt_tokens_details?.cached_tokens ?? u.cached_tokens ?? 0;
  return { inputTokens: input, cachedInputTokens: Math.min(cached, input), outputTokens: output };
}

/**
 * A10 (ours): how the server says it does not know a job id. Undocumented. Assumed: HTTP
 * 404; a `code` of 404 or 1004 in the envelope (1004 with "job not found" was seen from an
 * independent emulator of the API); or any other non-zero code whose message says the job
 * is unknown. Met when a call re-attaches by id to a job the server has since forgotten
 * (or never had). Any other final answer to a query is an ApiError naming the job.
 */
const UNKNOWN_JOB_CODES = new Set<number | string>([404, '404', 1004, '1004']);
// "expired" alone is not enough: "key expired" is about the key, not the job.
const UNKNOWN_JOB_WORDS = /\b(not[ _]?found|unknown job|no such job|job (does not|doesn't) exist)\b/i;

export function isUnknownJobAnswer(error: {
  readonly code: string;
  readonly status: number | undefined;
  readonly apiCode?: number | string | undefined;
  readonly message?: string;
}): boolean {
  if (error.code !== 'API_ERROR') return false;
  if (error.status === 404 || (error.apiCode !== undefined && UNKNOWN_JOB_CODES.has(error.apiCode))) return true;
  return error.apiCode !== undefined && UNKNOWN_JOB_WORDS.test(error.message ?? '');
}

/**
 * A9 (ours): Retry-After in seconds or as an HTTP date, per RFC 9110; `retry-after-ms`
 * (an OpenAI convention) is read first when present.
 */
export function parseRetryAfterMs(headers: Readonly<Record<string, string | string[] | undefined>>, now = Date.now()): number | undefined {
  const ms = headers['retry-after-ms'];
  if (typeof ms === 'string' && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers['retry-after'];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
