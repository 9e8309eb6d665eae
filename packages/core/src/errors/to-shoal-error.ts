import { InternalError } from './call.js';
import { ShoalError } from './shoal-error.js';

/**
 * `error` as a shoal error: itself when it is one (from any copy of the package), else an
 * `InternalError` (`INTERNAL`, fault `shoal`) with it as the cause. An unexpected throw is a
 * bug in the code that threw it, never the server's answer, so it is not retried.
 *
 * `source` names who threw, for the message: "the provider", "agent `triage`".
 */
export function toShoalError(error: unknown, source = 'shoal'): ShoalError {
  if (ShoalError.isInstance(error)) return error;
  const what = error instanceof Error ? error.message : String(error);
  return new InternalError(`${source.charAt(0).toUpperCase()}${source.slice(1)} threw an unexpected error: ${what}`, { cause: error });
}
