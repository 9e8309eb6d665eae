/**
 * Every error shoal throws is a `ShoalError` with a stable `code`. Callers branch on
 * `code` (or on the subclass through `isInstance`, which works across two copies of
 * this package in one app) and never on message text.
 */

export type ShoalErrorCode =
  | 'CONFIG_INVALID'
  | 'AUTH_FAILED'
  | 'RATE_LIMITED'
  | 'SERVER_ERROR'
  | 'NETWORK_ERROR'
  | 'CREATE_AMBIGUOUS'
  | 'API_ERROR'
  | 'PROTOCOL_ERROR'
  | 'JOB_FAILED'
  | 'JOB_NOT_FOUND'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'BUDGET_EXCEEDED'
  | 'RETRIES_EXHAUSTED'
  | 'EXECUTOR_CLOSED'
  | 'STORE_FAILED'
  | 'AGENT_INPUT_INVALID'
  | 'STRUCTURED_OUTPUT_INVALID'
  | 'PLAN_INVALID'
  | 'STEP_FAILED';

const MARKER = Symbol.for('shoal.error');

export interface ShoalErrorOptions {
  readonly cause?: unknown;
  /** HTTP status of the answer that caused it, if any. */
  readonly status?: number;
  /** The server's job id, when one was known. */
  readonly jobId?: string;
  /** The executor's call id. */
  readonly callId?: string;
  /** 1-based attempt number at which this happened. */
  readonly attempt?: number;
}

export class ShoalError extends Error {
  readonly code: ShoalErrorCode;
  /** True when running the same call again is safe and may succeed. */
  readonly retryable: boolean;
  readonly status: number | undefined;
  jobId: string | undefined;
  callId: string | undefined;
  attempt: number | undefined;
  declare readonly [MARKER]: true;

  constructor(code: ShoalErrorCode, message: string, retryable: boolean, options: ShoalErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
    this.status = options.status;
    this.jobId = options.jobId;
    this.callId = options.callId;
    this.attempt = options.attempt;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for any shoal error, from any copy of `@shoal/core`. */
  static isInstance(value: unknown): value is ShoalError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      status: this.status,
      jobId: this.jobId,
      callId: this.callId,
      attempt: this.attempt,
    };
  }
}

/** Codes of errors that prove the server made no job (as far as the protocol notes tell), when they name no job. */
const NO_JOB_MADE = new Set<string>(['RATE_LIMITED', 'SERVER_ERROR', 'NETWORK_ERROR', 'AUTH_FAILED', 'API_ERROR', 'CONFIG_INVALID', 'STORE_FAILED', 'BUDGET_EXCEEDED']);

/** Whether `error` proves that no job was made for the request that failed with it (a refused or unsent create). */
export function provesNoJob(error: ShoalError): boolean {
  return error.jobId === undefined && NO_JOB_MADE.has(error.code);
}

/** Builds `isInstance` for a subclass: a shoal error with the subclass's code. */
function codeGuard<T extends ShoalError>(code: ShoalErrorCode) {
  return (value: unknown): value is T => ShoalError.isInstance(value) && value.code === code;
}

/** A wrong option or missing setting, thrown at construction before any request. Your fault, not the server's. */
export class ShoalConfigError extends ShoalError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, false);
  }
  static override isInstance = codeGuard<ShoalConfigError>('CONFIG_INVALID');
}

/** 401 or 403: the key is missing, wrong or not allowed. Never retried. */
export class AuthError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions) {
    super('AUTH_FAILED', message, false, options);
  }
  static override isInstance = codeGuard<AuthError>('AUTH_FAILED');
}

/** 429. `retryAfterMs` is the server's Retry-After, when it sent one. */
export class RateLimitError extends ShoalError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined, options: ShoalErrorOptions) {
    super('RATE_LIMITED', message, true, options);
    this.retryAfterMs = retryAfterMs;
  }
  static override isInstance = codeGuard<RateLimitError>('RATE_LIMITED');
}

/** 5xx: transient on the server's side. Carries the (redacted, truncated) body. */
export class ServerError extends ShoalError {
  readonly body: string;
  constructor(message: string, body: string, options: ShoalErrorOptions) {
    super('SERVER_ERROR', message, true, options);
    this.body = body;
  }
  static override isInstance = codeGuard<ServerError>('SERVER_ERROR');
}

/** The connection failed in a way that proves the request was not processed (safe to retry). */
export class NetworkError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions) {
    super('NETWORK_ERROR', message, true, options);
  }
  static override isInstance = codeGuard<NetworkError>('NETWORK_ERROR');
}

/**
 * A create was sent but its answer was lost (reset, timeout): the server may or may not
 * have made (and charged for) a job. Not retried by default, so that no job is paid twice;
 * set `retry.ambiguousCreates: true` on the executor to retry anyway.
 */
export class AmbiguousCreateError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions) {
    super('CREATE_AMBIGUOUS', message, false, options);
  }
  static override isInstance = codeGuard<AmbiguousCreateError>('CREATE_AMBIGUOUS');
}

/** The server answered with a non-zero `code` or a 4xx other than 401/403/429. Not retried. */
export class ApiError extends ShoalError {
  readonly apiCode: number | string | undefined;
  readonly body: string;
  constructor(message: string, apiCode: number | string | undefined, body: string, options: ShoalErrorOptions) {
    super('API_ERROR', message, false, options);
    this.apiCode = apiCode;
    this.body = body;
  }
  static override isInstance = codeGuard<ApiError>('API_ERROR');
}

/** A payload that does not fit the protocol. `body` is the raw answer with secrets redacted. */
export class ProtocolError extends ShoalError {
  readonly body: string;
  readonly issues: readonly string[];
  constructor(message: string, body: string, issues: readonly string[], retryable: boolean, options: ShoalErrorOptions) {
    super('PROTOCOL_ERROR', message, retryable, options);
    this.body = body;
    this.issues = issues;
  }
  static override isInstance = codeGuard<ProtocolError>('PROTOCOL_ERROR');
}

/** The job ran and failed on the server (status 3 or negative). A new job may succeed. */
export class JobFailedError extends ShoalError {
  readonly serverMessage: string | undefined;
  readonly jobStatus: number;
  constructor(message: string, jobStatus: number, serverMessage: string | undefined, options: ShoalErrorOptions) {
    super('JOB_FAILED', message, true, options);
    this.jobStatus = jobStatus;
    this.serverMessage = serverMessage;
  }
  static override isInstance = codeGuard<JobFailedError>('JOB_FAILED');
}

/**
 * The server does not know a job shoal waits for (A10: HTTP 404 or code 404 on its query).
 * Mostly met when re-attaching to a job an earlier run created: it may have expired, or the
 * store was written against another server. Not retried: a new job would be paid again.
 */
export class JobNotFoundError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions) {
    super('JOB_NOT_FOUND', message, false, options);
  }
  static override isInstance = codeGuard<JobNotFoundError>('JOB_NOT_FOUND');
}

/** A call's `timeoutMs` passed. The message says where it was (queued or running) and the queue state. */
export class TimeoutError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions = {}) {
    super('TIMEOUT', message, false, options);
  }
  static override isInstance = codeGuard<TimeoutError>('TIMEOUT');
}

/** The caller's AbortSignal fired. A job already created keeps running on the server (there is no cancel endpoint). */
export class AbortError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions = {}) {
    super('ABORTED', message, false, options);
  }
  static override isInstance = codeGuard<AbortError>('ABORTED');
}

/** The executor's budget is spent: no new call is dispatched. Calls already in flight finished. A budget of 0 refuses every call. */
export class BudgetExceededError extends ShoalError {
  readonly budgetUsd: number;
  readonly spentUsd: number;
  constructor(budgetUsd: number, spentUsd: number, options: ShoalErrorOptions = {}) {
    super(
      'BUDGET_EXCEEDED',
      budgetUsd === 0
        ? 'A budget of $0 allows no spending, so no call was made. Set `budgetUsd` above 0, or leave it out for no limit.'
        : `Budget of $${budgetUsd} is spent ($${spentUsd.toFixed(6)} so far): no new calls are made. Raise \`budgetUsd\` to allow more.`,
      false,
      options,
    );
    this.budgetUsd = budgetUsd;
    this.spentUsd = spentUsd;
  }
  static override isInstance = codeGuard<BudgetExceededError>('BUDGET_EXCEEDED');
}

/** Every allowed attempt failed. `errors` holds each attempt's error, in order. */
export class RetriesExhaustedError extends ShoalError {
  readonly errors: readonly ShoalError[];
  constructor(errors: readonly ShoalError[], options: ShoalErrorOptions = {}) {
    const last = errors[errors.length - 1];
    super(
      'RETRIES_EXHAUSTED',
      `Gave up after ${errors.length} attempts; last error: ${last ? `${last.code}: ${last.message}` : 'none'}`,
      false,
      { ...options, cause: last },
    );
    this.errors = errors;
  }
  static override isInstance = codeGuard<RetriesExhaustedError>('RETRIES_EXHAUSTED');
}

/** `complete()` after `close()`. */
export class ExecutorClosedError extends ShoalError {
  constructor(message = 'The executor is closed: create a new one to send more calls.') {
    super('EXECUTOR_CLOSED', message, false);
  }
  static override isInstance = codeGuard<ExecutorClosedError>('EXECUTOR_CLOSED');
}

/** The durable store (cache and journal) failed to record what it must before a create is sent. Nothing was sent. */
export class StoreError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions = {}) {
    super('STORE_FAILED', message, false, options);
  }
  static override isInstance = codeGuard<StoreError>('STORE_FAILED');
}

/** One problem found by validation: where (a path into the value) and what. */
export interface ValidationIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly code: string;
}

/** An agent's input did not match its schema. Thrown before any request: nothing was spent. */
export class AgentInputError extends ShoalError {
  readonly agentName: string;
  readonly issues: readonly ValidationIssue[];
  constructor(agentName: string, issues: readonly ValidationIssue[]) {
    super('AGENT_INPUT_INVALID', `Input for agent \`${agentName}\` does not match its schema (nothing was sent): ${formatIssues(issues)}`, false);
    this.agentName = agentName;
    this.issues = issues;
  }
  static override isInstance = codeGuard<AgentInputError>('AGENT_INPUT_INVALID');
}

/** The model's answer did not fit the output schema after every allowed attempt. Model behaviour, not a bug of yours. */
export class StructuredOutputError extends ShoalError {
  readonly agentName: string;
  /** The last raw answer. */
  readonly text: string;
  readonly issues: readonly ValidationIssue[];
  /** Model calls made for this input. */
  readonly attempts: number;
  /** Tokens and USD those calls spent (they were paid for, though their answers were not usable). */
  readonly usage: { readonly inputTokens: number; readonly cachedInputTokens: number; readonly outputTokens: number };
  readonly costUsd: number;
  constructor(
    agentName: string,
    text: string,
    issues: readonly ValidationIssue[],
    attempts: number,
    options: ShoalErrorOptions & { readonly usage?: StructuredOutputError['usage']; readonly costUsd?: number } = {},
  ) {
    super(
      'STRUCTURED_OUTPUT_INVALID',
      `Agent \`${agentName}\`: the model's answer did not fit the output schema after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${formatIssues(issues)}`,
      false,
      options,
    );
    this.agentName = agentName;
    this.text = text;
    this.issues = issues;
    this.attempts = attempts;
    this.usage = options.usage ?? { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };
    this.costUsd = options.costUsd ?? 0;
  }
  static override isInstance = codeGuard<StructuredOutputError>('STRUCTURED_OUTPUT_INVALID');
}

export function formatIssues(issues: readonly ValidationIssue[], max = 5): string {
  const shown = issues.slice(0, max).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return shown.join('; ') + (issues.length > max ? `; and ${issues.length - max} more` : '');
}

/** One problem with a plan: which step, and what. */
export interface PlanIssue {
  readonly step: string | undefined;
  readonly message: string;
}

/** The planner could not produce a valid plan within its attempts, or a plan you gave (attempts 0) is not valid; no step ran. */
export class PlanError extends ShoalError {
  readonly issues: readonly PlanIssue[];
  /** The last plan the planner proposed (as parsed), if any. */
  readonly plan: unknown;
  readonly attempts: number;
  constructor(issues: readonly PlanIssue[], plan: unknown, attempts: number) {
    super(
      'PLAN_INVALID',
      `${attempts === 0 ? 'The plan is not valid' : `No valid plan after ${attempts} attempt${attempts === 1 ? '' : 's'}`}: ${issues
        .slice(0, 5)
        .map((i) => (i.step ? `step \`${i.step}\`: ${i.message}` : i.message))
        .join('; ')}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}`,
      false,
    );
    this.issues = issues;
    this.plan = plan;
    this.attempts = attempts;
  }
  static override isInstance = codeGuard<PlanError>('PLAN_INVALID');
}

/** A step failed under the `fail` policy (or a final output did not fit): the run stopped. `cause` is the step's error. */
export class StepFailedError extends ShoalError {
  readonly step: string;
  /** Outputs of the steps that finished before the failure. */
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly spentUsd: number;
  constructor(step: string, cause: unknown, outputs: Readonly<Record<string, unknown>>, spentUsd: number) {
    super('STEP_FAILED', `Step \`${step}\` failed, so the run stopped: ${cause instanceof Error ? cause.message : String(cause)}`, false, { cause });
    this.step = step;
    this.outputs = outputs;
    this.spentUsd = spentUsd;
  }
  static override isInstance = codeGuard<StepFailedError>('STEP_FAILED');
}

/** A throw that is not a shoal error (a provider bug): wrapped, never retried blindly. */
export function toShoalError(error: unknown): ShoalError {
  if (ShoalError.isInstance(error)) return error;
  return new ShoalError('API_ERROR', `The provider threw an unexpected error: ${error instanceof Error ? error.message : String(error)}`, false, { cause: error });
}
