import { provesNoJob, type RetriesExhaustedError, ShoalError } from '../errors.js';

/**
 * When a failed model call may be made again without paying twice: only when the error
 * proves the call left no job that could still answer (and be, or have been, paid for).
 * One rule for the packed calls of `runMany` and the step retries of the coordinator.
 */

/** Budget spent, cancelled, or the executor closed: nothing more is to be asked, alone or again. */
export function endsTheWork(error: unknown): boolean {
  return ShoalError.isInstance(error) && (error.code === 'BUDGET_EXCEEDED' || error.code === 'ABORTED' || error.code === 'EXECUTOR_CLOSED');
}

/**
 * Whether the items of a packed call that failed with `error` may be asked again one by
 * one: the packed call made no job (refused, not sent), or its jobs failed. Not after a lost
 * create answer, a timeout, or an answer of an unknown shape: those may hide a job, paid for.
 */
export function askAgainAlone(error: ShoalError): boolean {
  if (endsTheWork(error)) return false;
  if (error.code === 'JOB_FAILED') return true;
  if (error.code === 'RETRIES_EXHAUSTED') return (error as RetriesExhaustedError).errors.every(askAgainAlone);
  return provesNoJob(error);
}

/**
 * Whether a coordinator step may run its agent again after `error`: when no job was left
 * (see `askAgainAlone`), after a timeout (the executor keeps the job it left, if any, and
 * the same request re-attaches to it by id; a create whose answer was lost then is reported
 * as such, not sent again), and after an unreadable answer (asked again with the cache
 * bypassed). Never after budget, cancellation or a closed executor.
 */
export function mayRetryStep(error: unknown): boolean {
  // A bare throw is a bug in code, not a passing failure: running it again repeats it (and what it sent).
  if (!ShoalError.isInstance(error)) return false;
  if (endsTheWork(error)) return false;
  return error.code === 'TIMEOUT' || error.code === 'STRUCTURED_OUTPUT_INVALID' || askAgainAlone(error);
}
