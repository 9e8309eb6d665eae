/** What `shoal` exits with, so a script can tell the endings apart. */
export const EXIT = {
  /** Every item done. */
  ok: 0,
  /** The run ended, but some items failed (bad input lines included): see their output lines. */
  partial: 1,
  /** Bad arguments or configuration: nothing was run. */
  usage: 2,
  /** The budget (--budget) was spent: the items after it were not started. */
  budget: 3,
  /** shoal itself failed (a bug, or something it did not foresee): the message says what. */
  internal: 70,
  /** Interrupted (Ctrl-C, SIGTERM): run the same command again with the same --store to finish. */
  interrupted: 130,
} as const;
