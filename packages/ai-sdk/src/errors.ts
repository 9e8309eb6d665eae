import {
  APICallError,
  EmptyResponseBodyError,
  InvalidArgumentError,
  InvalidPromptError,
  InvalidResponseDataError,
  JSONParseError,
  LoadAPIKeyError,
  LoadSettingError,
  NoContentGeneratedError,
  NoSuchModelError,
  TypeValidationError,
  UnsupportedFunctionalityError,
} from '@ai-sdk/provider';
import { ApiError, AuthError, InternalError, ProtocolError, ServerError, ShoalConfigError, ShoalError } from '@shoal/core';
import { failureError, HttpFailure, type RequestContext, rawForError, throwForStatus } from '@shoal/core/internal';

/**
 * What an AI SDK model throws, as shoal's typed errors: an `APICallError` by its status
 * through core's one HTTP mapping (`throwForStatus`, `failureError`), the SDK's other errors
 * by what they mean, anything else as an `InternalError`. No message quotes the SDK's URL,
 * request body or headers, and every text quoted (a server's error body) has the model's
 * secrets taken out; no SDK error is kept as a `cause`, since it carries all of those.
 */

/** Who the errors of one provider's calls come from, for their messages. */
export interface ErrorSource {
  /** `AI SDK provider "openai.chat"`. */
  readonly service: string;
  /** `request for "gpt-4o-mini"`. */
  readonly where: string;
  /** The secrets to take out of any quoted text: read when an error is made, not before. */
  readonly secrets: () => readonly string[];
  /** The error of the call's own abort (the executor's reason: a timeout, a shutdown). */
  readonly abortError: () => ShoalError;
}

/** Errors that show that nothing reached the server: safe to send again. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ConnectionRefused',
  'FailedToOpenSocket',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const KEY_HINT = 'check the API key given to the AI SDK provider (its `apiKey` option or its environment variable)';

export function toShoalError(error: unknown, source: ErrorSource, signal: AbortSignal): ShoalError {
  if (signal.aborted) return source.abortError();
  if (ShoalError.isInstance(error)) return error;
  const secrets = source.secrets();
  const quote = (text: unknown, max = 300) => rawForError(typeof text === 'string' ? text : String(text), secrets, max);
  const { service } = source;
  if (APICallError.isInstance(error)) return fromApiCallError(error, source, secrets);
  if (isAbortLike(error)) {
    // Not our signal: the model's own timeout, or a signal of its own. The request was sent; its answer is lost.
    return failureError(
      new HttpFailure('answer-lost', quote(`${error.name}: ${error.message}`), undefined),
      requestContext(source, secrets, undefined),
    ) as ShoalError;
  }
  if (LoadAPIKeyError.isInstance(error)) return new AuthError(`${service} has no API key, so nothing was sent: ${quote(error.message)}`, {});
  if (
    UnsupportedFunctionalityError.isInstance(error) ||
    InvalidPromptError.isInstance(error) ||
    InvalidArgumentError.isInstance(error) ||
    NoSuchModelError.isInstance(error) ||
    LoadSettingError.isInstance(error)
  ) {
    return new ShoalConfigError(
      `${service} cannot take this call (${error.name}): ${quote(error.message)}. Check the model and the settings given to aiSdk() or in the agent's \`params\`.`,
    );
  }
  if (
    TypeValidationError.isInstance(error) ||
    JSONParseError.isInstance(error) ||
    InvalidResponseDataError.isInstance(error) ||
    EmptyResponseBodyError.isInstance(error) ||
    NoContentGeneratedError.isInstance(error)
  ) {
    const why = `${error.name}: ${quote(error.message)}`;
    return new ProtocolError(
      `The answer of ${service} does not fit (${why})`,
      quote(answerOf(error), 4096),
      [{ code: 'invalid_answer', path: [], message: why }],
      false,
      {},
    );
  }
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new InternalError(`${service} threw an unexpected error: ${quote(what)}`);
}

/** Whether an error of the SDK says the model will not take the JSON schema as a response format. */
export function refusesSchema(error: unknown): boolean {
  if (UnsupportedFunctionalityError.isInstance(error)) return /response.?format|json|schema|structured/i.test(`${error.functionality} ${error.message}`);
  if (!APICallError.isInstance(error) || (error.statusCode !== 400 && error.statusCode !== 422)) return false;
  return /response_format|response.?format|json_schema|schema|strict|structured/i.test(`${error.message}\n${error.responseBody ?? ''}`);
}

function fromApiCallError(error: APICallError, source: ErrorSource, secrets: readonly string[]): ShoalError {
  const status = error.statusCode;
  const context = requestContext(source, secrets, error.url);
  if (status === undefined) {
    // No answer: refused before sending, or sent and its answer lost (a paid completion, so not retried by default).
    const code = networkCode(error);
    const cause = error.cause instanceof Error ? error.cause.message : error.message;
    const kind = code !== undefined && NOT_SENT.has(code) ? 'not-sent' : 'answer-lost';
    return failureError(new HttpFailure(kind, rawForError(cause, secrets, 300), code), context) as ShoalError;
  }
  const body = error.responseBody || error.message;
  const what = `${source.service} ${source.where}`;
  if (status !== 401 && status !== 403) {
    // The provider's own word on retrying wins over the status: a 429 for a spent quota is final, a 408 is not.
    if (!error.isRetryable && (status === 429 || status >= 500)) {
      return new ApiError(
        `${what} answered HTTP ${status}, which the provider marks as not retryable: ${rawForError(error.message, secrets, 300)}`,
        undefined,
        rawForError(body, secrets),
        { status },
      );
    }
    if (error.isRetryable && status >= 400 && status < 500 && status !== 429) {
      return new ServerError(
        `${what} answered HTTP ${status}, which the provider marks as retryable: ${rawForError(error.message, secrets, 300)}`,
        rawForError(body, secrets, 1024),
        { status },
      );
    }
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(error.responseHeaders ?? {})) headers[name.toLowerCase()] = value;
  try {
    throwForStatus({ status, headers, body }, context);
  } catch (mapped) {
    return mapped as ShoalError;
  }
  // A 2xx whose answer the SDK could not read.
  const why = rawForError(error.message, secrets, 300);
  return new ProtocolError(
    `The answer of ${what} does not fit: ${why}`,
    rawForError(body, secrets),
    [{ code: 'invalid_answer', path: [], message: why }],
    false,
    {
      status,
    },
  );
}

function requestContext(source: ErrorSource, secrets: readonly string[], url: string | undefined): RequestContext {
  return {
    service: source.service,
    origin: originOf(url),
    where: source.where,
    paid: true,
    keyHint: KEY_HINT,
    secrets,
    abortError: source.abortError,
  };
}

/** Scheme, host and port only: a URL's path, query and credentials are never quoted. */
function originOf(url: string | undefined): string {
  try {
    return url === undefined ? 'its server' : new URL(url).origin;
  } catch {
    return 'its server';
  }
}

/** The first system error code (`ECONNREFUSED`) along the cause chain. */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const { code, errors } = current as { code?: unknown; errors?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (Array.isArray(errors)) {
      const inner = errors.map(networkCode).find((c) => c !== undefined);
      if (inner !== undefined) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isAbortLike(error: unknown): error is Error {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError' || error.name === 'ResponseAborted');
}

/** The answer an error of the SDK's reading carries, as text. */
function answerOf(error: unknown): string {
  const { text, value, data } = error as { text?: unknown; value?: unknown; data?: unknown };
  const raw = text ?? value ?? data;
  if (raw === undefined) return '';
  if (typeof raw === 'string') return raw;
  try {
    return JSON.stringify(raw) ?? '';
  } catch {
    return String(raw);
  }
}
