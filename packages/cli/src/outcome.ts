import { ShoalError } from '@shoal/core';

/** What one input item came to: one line of the output file. */
export type ItemOutcome =
  | { readonly ok: true; readonly output: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string; readonly line?: number } };

/** An error as an output line carries it: shoal's code and message (never a stack). */
export function failed(error: unknown, line?: number): ItemOutcome {
  const code = ShoalError.isInstance(error) ? error.code : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, error: line === undefined ? { code, message } : { code, message, line } };
}

/** The code of an input line that could not be read or does not fit the agent's input: it costs nothing. */
export const BAD_INPUT = 'BAD_INPUT';

/** A line's outcome when it is bad input: `reason` says why, with the line number. */
export function badInput(reason: string, line: number): ItemOutcome {
  return { ok: false, error: { code: BAD_INPUT, message: reason, line } };
}
/** The run stopped (Ctrl-C, SIGTERM) before this item was done: a rerun with the same `--store` does it. */
export const INTERRUPTED = 'INTERRUPTED';
