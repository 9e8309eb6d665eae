import { AbortError } from './call.js';
import { ShoalError } from './shoal-error.js';

/** How to word an aborted signal's error. */
export interface AbortWording {
  /**
   * What was stopped: "The call was aborted", "The run was aborted".
   * @default 'call'
   */
  readonly what?: string;
  /**
   * The provider whose work the abort cut off, when there is one: its `cancelsWork` says
   * whether the work stops (a chat completion's request is cancelled) or goes on (a ShortAPI
   * job already created keeps running, and is paid). Without it the message says neither.
   */
  readonly provider?: { readonly name: string; readonly cancelsWork?: boolean };
}

/**
 * The error an aborted signal stands for: its reason when that is a shoal error (a timeout,
 * a shutdown, the budget, a sibling's failure), else an `AbortError` that says what was
 * stopped and what became of the work already sent, with the reason as its `cause`.
 */
export function abortError(signal: AbortSignal, wording: AbortWording = {}): ShoalError {
  const reason: unknown = signal.reason;
  if (ShoalError.isInstance(reason)) return reason;
  // The platform's own reason (a DOMException named AbortError) says nothing the message does not.
  const why = reason instanceof Error && reason.name !== 'AbortError' ? ` (${reason.message})` : '';
  return new AbortError(`The ${wording.what ?? 'call'} was aborted${why}.${afterAbort(wording.provider)}`, { cause: reason });
}

function afterAbort(provider: AbortWording['provider']): string {
  if (provider?.cancelsWork === true) return ` The \`${provider.name}\` provider cancelled its request, so the work stopped there.`;
  if (provider?.cancelsWork === false)
    return ` A job already created keeps running on the server (and is paid): the \`${provider.name}\` provider cannot cancel a job.`;
  return '';
}
