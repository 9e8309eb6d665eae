import { type Fault, faultOf, type ShoalErrorCode } from './catalogue.js';

const MARKER = Symbol.for('shoal.error');

/** What a `ShoalError` may carry besides its code and message. */
export interface ShoalErrorOptions {
  /** What caused it (the standard `Error.cause`). */
  readonly cause?: unknown;
  /** HTTP status of the answer that caused it, if any. */
  readonly status?: number;
  /** The server's job id, when one was known. */
  readonly jobId?: string;
  /** The executor's call id. */
  readonly callId?: string;
  /** 1-based attempt number at which this happened. */
  readonly attempt?: number;
  /** Whose fault it is, for the classes that work it out; otherwise the code's (see the errors table). */
  readonly fault?: Fault;
}

/**
 * Every error shoal throws is a `ShoalError` with a stable `code` and a `fault` (whose fault
 * it is). Callers branch on `code` or `fault` (or on the subclass through `isInstance`, which
 * works across two copies of this package in one app) and never on message text.
 */
export class ShoalError extends Error {
  /** The stable code of what went wrong (see the errors table): branch on it, never on the message. */
  readonly code: ShoalErrorCode;
  /** Whose fault it is: fixed by the code, except where the class says how it works it out. */
  readonly fault: Fault;
  /** True when running the same call again is safe and may succeed. */
  readonly retryable: boolean;
  /** HTTP status of the answer that caused it, if any. */
  readonly status: number | undefined;
  /** The server's job id, when one was known. */
  jobId: string | undefined;
  /** The executor's call id, once the error has passed through a call. */
  callId: string | undefined;
  /** 1-based attempt number at which this happened, once the error has passed through a call. */
  attempt: number | undefined;
  /** @internal The brand `isInstance` checks, so that it works across two copies of this package. */
  declare readonly [MARKER]: true;

  constructor(code: ShoalErrorCode, message: string, retryable: boolean, options: ShoalErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.fault = options.fault ?? faultOf(code);
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

  /** The error as a plain object (name, code, fault, message, retryable, status, jobId, callId, attempt), for logs and `JSON.stringify`. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      fault: this.fault,
      message: this.message,
      retryable: this.retryable,
      status: this.status,
      jobId: this.jobId,
      callId: this.callId,
      attempt: this.attempt,
    };
  }
}

/** Builds `isInstance` for a subclass: a shoal error with the subclass's code. */
export function codeGuard<T extends ShoalError>(code: ShoalErrorCode) {
  return (value: unknown): value is T => ShoalError.isInstance(value) && value.code === code;
}

/** Codes of errors that prove the server made no job (as far as the protocol notes tell), when they name no job. */
const NO_JOB_MADE = new Set<string>([
  'RATE_LIMITED',
  'SERVER_ERROR',
  'NETWORK_ERROR',
  'AUTH_FAILED',
  'API_ERROR',
  'CONFIG_INVALID',
  'STORE_FAILED',
  'BUDGET_EXCEEDED',
]);

/** Whether `error` proves that no job was made for the request that failed with it (a refused or unsent create). */
export function provesNoJob(error: ShoalError): boolean {
  return error.jobId === undefined && NO_JOB_MADE.has(error.code);
}
