import { codeGuard, ShoalError, type ShoalErrorOptions } from './shoal-error.js';

/** The ways a call ends without a usable answer on the caller's or shoal's side: options, deadlines, signals, budget, lifecycle, bugs. */

/** A wrong option or missing setting, thrown at construction before any request. Fault: `caller`. */
export class ShoalConfigError extends ShoalError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, false);
  }
  static override isInstance = codeGuard<ShoalConfigError>('CONFIG_INVALID');
}

/** A call's `timeoutMs` passed. The message says where it was (queued or running) and the queue state. Fault: `caller`. */
export class TimeoutError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions = {}) {
    super('TIMEOUT', message, false, options);
  }
  static override isInstance = codeGuard<TimeoutError>('TIMEOUT');
}

/**
 * The caller's AbortSignal fired. Whether work already sent stops depends on the provider:
 * a chat completion's request is cancelled; a ShortAPI job keeps running (there is no
 * cancel endpoint). The message says which. Fault: `caller`.
 */
export class AbortError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions = {}) {
    super('ABORTED', message, false, options);
  }
  static override isInstance = codeGuard<AbortError>('ABORTED');
}

/** The executor's budget is spent: no new call is dispatched. Calls already in flight finished. A budget of 0 refuses every call. Fault: `caller`. */
export class BudgetExceededError extends ShoalError {
  /** The executor's budget, in USD. */
  readonly budgetUsd: number;
  /** What the executor had spent when it refused, in USD. */
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

/** Every allowed attempt failed. `errors` holds each attempt's error, in order. Fault: the last error's. */
export class RetriesExhaustedError extends ShoalError {
  /** Each attempt's error, in order. */
  readonly errors: readonly ShoalError[];
  constructor(errors: readonly ShoalError[], options: ShoalErrorOptions = {}) {
    const last = errors[errors.length - 1];
    super('RETRIES_EXHAUSTED', `Gave up after ${errors.length} attempts; last error: ${last ? `${last.code}: ${last.message}` : 'none'}`, false, {
      ...options,
      cause: last,
      ...(last ? { fault: last.fault } : {}),
    });
    this.errors = errors;
  }
  static override isInstance = codeGuard<RetriesExhaustedError>('RETRIES_EXHAUSTED');
}

/** `complete()` after `close()`. Fault: `caller`. */
export class ExecutorClosedError extends ShoalError {
  constructor(message = 'The executor is closed: create a new one to send more calls.') {
    super('EXECUTOR_CLOSED', message, false);
  }
  static override isInstance = codeGuard<ExecutorClosedError>('EXECUTOR_CLOSED');
}

/** The durable store (cache and journal) failed to record what it must before a create is sent. Nothing was sent. Fault: `caller` (your store). */
export class StoreError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions = {}) {
    super('STORE_FAILED', message, false, options);
  }
  static override isInstance = codeGuard<StoreError>('STORE_FAILED');
}

/**
 * Something threw what no part of shoal expected (not a `ShoalError`): a bug in shoal, or in
 * a provider or plugin running inside it. `cause` is what was thrown. Never retried (it would
 * most likely throw again), and never taken for the server's answer. Fault: `shoal`.
 */
export class InternalError extends ShoalError {
  constructor(message: string, options: ShoalErrorOptions = {}) {
    super('INTERNAL', message, false, options);
  }
  static override isInstance = codeGuard<InternalError>('INTERNAL');
}
