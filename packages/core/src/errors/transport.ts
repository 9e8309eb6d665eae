import type { Issue } from './issues.js';
import { codeGuard, ShoalError, type ShoalErrorOptions } from './shoal-error.js';

/** The ways a request to the model service fails: the key, load, the server, the network, the protocol, the job. */

/** 401 or 403: the key is missing, wrong or not allowed. Never retried. Fault: `caller`. */
export class AuthError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions) {
    super('AUTH_FAILED', message, false, options);
  }
  static override isInstance = codeGuard<AuthError>('AUTH_FAILED');
}

/** 429. `retryAfterMs` is the server's Retry-After, when it sent one. Fault: `service`. */
export class RateLimitError extends ShoalError {
  /** The server's Retry-After in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined, options: ShoalErrorOptions) {
    super('RATE_LIMITED', message, true, options);
    this.retryAfterMs = retryAfterMs;
  }
  static override isInstance = codeGuard<RateLimitError>('RATE_LIMITED');
}

/** 5xx: transient on the server's side. Carries the (redacted, truncated) body. Fault: `service`. */
export class ServerError extends ShoalError {
  /** The answer's body, with secrets redacted and truncated. */
  readonly body: string;
  constructor(message: string, body: string, options: ShoalErrorOptions) {
    super('SERVER_ERROR', message, true, options);
    this.body = body;
  }
  static override isInstance = codeGuard<ServerError>('SERVER_ERROR');
}

/** The connection failed in a way that proves the request was not processed (safe to retry). Fault: `network`. */
export class NetworkError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions) {
    super('NETWORK_ERROR', message, true, options);
  }
  static override isInstance = codeGuard<NetworkError>('NETWORK_ERROR');
}

/**
 * A create was sent but its answer was lost (reset, timeout): the server may or may not
 * have made (and charged for) a job. Not retried by default, so that no job is paid twice;
 * set `retry.ambiguousCreates: true` on the executor to retry anyway. Fault: `network`.
 */
export class AmbiguousCreateError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions) {
    super('CREATE_AMBIGUOUS', message, false, options);
  }
  static override isInstance = codeGuard<AmbiguousCreateError>('CREATE_AMBIGUOUS');
}

/** The server answered with a non-zero `code` or a 4xx other than 401/403/429. Not retried. Fault: `service`. */
export class ApiError extends ShoalError {
  /** The `code` the server answered with, when its body had one. */
  readonly apiCode: number | string | undefined;
  /** The answer's body, with secrets redacted and truncated. */
  readonly body: string;
  constructor(message: string, apiCode: number | string | undefined, body: string, options: ShoalErrorOptions) {
    super('API_ERROR', message, false, options);
    this.apiCode = apiCode;
    this.body = body;
  }
  static override isInstance = codeGuard<ApiError>('API_ERROR');
}

/**
 * A payload that does not fit the protocol. `body` is the raw answer with secrets redacted;
 * `issues` say where it missed (a path into the answer, as zod reports it). Fault: `service`.
 */
export class ProtocolError extends ShoalError {
  /** The raw answer, with secrets redacted and truncated. */
  readonly body: string;
  /** Where the answer missed the protocol: paths into the answer, as zod reports them. */
  readonly issues: readonly Issue[];
  constructor(message: string, body: string, issues: readonly Issue[], retryable: boolean, options: ShoalErrorOptions) {
    super('PROTOCOL_ERROR', message, retryable, options);
    this.body = body;
    this.issues = issues;
  }
  static override isInstance = codeGuard<ProtocolError>('PROTOCOL_ERROR');
}

/** The job ran and failed on the server (status 3 or negative). A new job may succeed. Fault: `service`. */
export class JobFailedError extends ShoalError {
  /** The server's message about the failure, when it gave one. */
  readonly serverMessage: string | undefined;
  /** The job's status on the server (3, or a negative one). */
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
 * Fault: `service`.
 */
export class JobNotFoundError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions) {
    super('JOB_NOT_FOUND', message, false, options);
  }
  static override isInstance = codeGuard<JobNotFoundError>('JOB_NOT_FOUND');
}
