import { AmbiguousCreateError, ApiError, AuthError, NetworkError, ProtocolError, RateLimitError, ServerError } from '../errors.js';
import type { HttpResponse } from '../http/http-client.js';
import { HttpFailure } from '../http/http-failure.js';
import { rawForError } from '../util/redact.js';
import { parseRetryAfterMs } from './shortapi/protocol.js';

/**
 * How every provider turns HTTP outcomes into shoal errors: one place, so that ShortAPI and
 * chat-completions servers fail the same way. `paid` says whether the request, once it
 * reached the server, may have been charged (a create, a chat completion) or is free to
 * repeat (a poll).
 */
export interface RequestContext {
  /** Who answered, for messages: "ShortAPI", "the OpenAI-compatible server". */
  readonly service: string;
  /** Where the request went (the base URL's origin: no path, no credentials), named when nothing could reach it. */
  readonly origin: string;
  /** What was asked, for messages: "create", "query for job X". */
  readonly where: string;
  readonly paid: boolean;
  readonly jobId?: string;
  /** What to say about the key on a 401/403. */
  readonly keyHint: string;
  /** Secrets to redact from any server text. */
  readonly secrets: readonly (string | undefined)[];
  readonly abortError: () => unknown;
}

/** The error for a request that got no full answer. */
export function failureError(error: unknown, context: RequestContext): unknown {
  if (!(error instanceof HttpFailure)) return error;
  const jobId = context.jobId ? { jobId: context.jobId } : {};
  const what = `${context.service} ${context.where}`;
  if (error.kind === 'aborted') return context.abortError();
  if (error.kind === 'not-sent')
    return new NetworkError(
      `${what} could not be sent to ${context.origin} (${error.message}); nothing reached the server. Check that it is running there and that the base URL is right.`,
      { cause: error, ...jobId },
    );
  // Never retried: the same answer would be as large again (and a create may have made its job).
  if (error.kind === 'too-large')
    return new ProtocolError(`${what}: ${error.message}`, '', [{ code: 'too_large', path: [], message: error.message }], false, jobId);
  if (context.paid) {
    return new AmbiguousCreateError(
      `The ${context.where} was sent but its answer was lost (${error.message}): ${context.service} may have done, and charged for, work shoal cannot see. Not retried, so that nothing is paid twice; set \`retry: { ambiguousCreates: true }\` to retry anyway.`,
      { cause: error },
    );
  }
  return new NetworkError(`${what} failed (${error.message}); it is safe to repeat.`, { cause: error, ...jobId });
}

/** Throws the error for a non-2xx answer; returns nothing for a 2xx. */
export function throwForStatus(response: HttpResponse, context: RequestContext): void {
  const { status, body } = response;
  if (status >= 200 && status < 300) return;
  const options = { status, ...(context.jobId ? { jobId: context.jobId } : {}) };
  const what = `${context.service} ${context.where}`;
  if (status === 401 || status === 403) {
    throw new AuthError(
      `${context.service} refused the key (HTTP ${status}) on ${context.where}: ${context.keyHint} (the key itself is never logged).`,
      options,
    );
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfterMs(response.headers);
    throw new RateLimitError(
      `${context.service} rate limit (HTTP 429) on ${context.where}${retryAfterMs === undefined ? '' : `; Retry-After ${Math.round(retryAfterMs)} ms`}.`,
      retryAfterMs,
      options,
    );
  }
  if (status >= 500)
    throw new ServerError(`${context.service} server error (HTTP ${status}) on ${context.where}.`, rawForError(body, context.secrets, 1024), options);
  throw new ApiError(`${what} answered HTTP ${status}: ${rawForError(body, context.secrets, 300)}`, undefined, rawForError(body, context.secrets), options);
}
