import { BudgetExceededError, ShoalError, type ShoalErrorCode } from '@shoal/core';

/** A shoal error as it crosses from a worker to a producer: every field a caller branches on, `errors` included. */
interface WireError {
  readonly code: ShoalErrorCode;
  readonly message: string;
  readonly fault: ShoalError['fault'];
  readonly retryable: boolean;
  readonly status?: number;
  readonly jobId?: string;
  readonly attempt?: number;
  readonly retryAfterMs?: number;
  readonly errors?: readonly WireError[];
  /** A BudgetExceededError's figures. */
  readonly budget?: { readonly budgetUsd: number; readonly spentUsd: number };
}

const MARK = 'shoal-error:';

/** The message a worker fails its BullMQ job with: the error as JSON, behind a mark. */
export function encodeError(error: unknown): string {
  return MARK + JSON.stringify(toWire(error));
}

function toWire(error: unknown): WireError {
  if (!ShoalError.isInstance(error)) {
    return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error), fault: 'shoal', retryable: false };
  }
  const extra = error as ShoalError & { retryAfterMs?: number; errors?: readonly unknown[] };
  return {
    code: error.code,
    message: error.message,
    fault: error.fault,
    retryable: error.retryable,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.jobId === undefined ? {} : { jobId: error.jobId }),
    ...(error.attempt === undefined ? {} : { attempt: error.attempt }),
    ...(typeof extra.retryAfterMs === 'number' ? { retryAfterMs: extra.retryAfterMs } : {}),
    ...(Array.isArray(extra.errors) ? { errors: extra.errors.map(toWire) } : {}),
    ...(BudgetExceededError.isInstance(error) ? { budget: { budgetUsd: error.budgetUsd, spentUsd: error.spentUsd } } : {}),
  };
}

/**
 * The error a producer's caller gets: the worker's, with its code (so every class's
 * `isInstance` answers as it did on the worker), fault, retryability and what it carried;
 * anything else from the queue is INTERNAL.
 */
export function decodeError(error: unknown): ShoalError {
  if (ShoalError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith(MARK)) {
    try {
      return fromWire(JSON.parse(message.slice(MARK.length)) as WireError);
    } catch {
      // fall through: not ours after all
    }
  }
  return new ShoalError('INTERNAL', `The queue failed the call: ${message}`, false, { cause: error });
}

function fromWire(wire: WireError): ShoalError {
  // JSON has no Infinity: a budget without a limit comes back as null.
  if (wire.budget) return new BudgetExceededError(wire.budget.budgetUsd ?? Number.POSITIVE_INFINITY, wire.budget.spentUsd);
  const error = new ShoalError(wire.code, wire.message, wire.retryable, {
    fault: wire.fault,
    ...(wire.status === undefined ? {} : { status: wire.status }),
    ...(wire.jobId === undefined ? {} : { jobId: wire.jobId }),
    ...(wire.attempt === undefined ? {} : { attempt: wire.attempt }),
  });
  const fields = error as ShoalError & { retryAfterMs?: number; errors?: ShoalError[] };
  if (wire.retryAfterMs !== undefined) fields.retryAfterMs = wire.retryAfterMs;
  if (wire.errors) fields.errors = wire.errors.map(fromWire);
  return error;
}
