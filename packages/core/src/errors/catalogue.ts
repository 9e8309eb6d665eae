/**
 * Every error code, with whose fault it is and what to do about it: the one place these are
 * written. `ShoalError` takes its `fault` from here, and the README's errors table is
 * generated from it (`pnpm docs:errors`; a test fails when the README is out of date).
 */

/**
 * Whose fault an error is, so that a caller can decide without reading codes one by one:
 *
 * - `caller`: your code or configuration (a wrong option, a bad input, your deadline,
 *   signal or budget). Fix the call; sending it again as it is fails again.
 * - `model`: the model's behaviour (an answer that does not fit, a plan that is not valid).
 * - `service`: the model service (a refusal, a 5xx, a failed job, an answer off the protocol).
 * - `network`: the connection between you and the service.
 * - `shoal`: a bug in shoal, or in a provider or plugin running inside it (`INTERNAL`).
 */
export type Fault = 'caller' | 'model' | 'service' | 'network' | 'shoal';

/** Every code a `ShoalError` carries; each has its row in the errors table, and each error class one code. */
export type ShoalErrorCode =
  | 'CONFIG_INVALID'
  | 'AUTH_FAILED'
  | 'RATE_LIMITED'
  | 'SERVER_ERROR'
  | 'NETWORK_ERROR'
  | 'CREATE_AMBIGUOUS'
  | 'API_ERROR'
  | 'PROTOCOL_ERROR'
  | 'JOB_FAILED'
  | 'JOB_NOT_FOUND'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'BUDGET_EXCEEDED'
  | 'RETRIES_EXHAUSTED'
  | 'EXECUTOR_CLOSED'
  | 'STORE_FAILED'
  | 'AGENT_INPUT_INVALID'
  | 'STRUCTURED_OUTPUT_INVALID'
  | 'PLAN_INVALID'
  | 'STEP_FAILED'
  | 'INTERNAL';

export interface ErrorEntry {
  /** The class thrown with this code. */
  readonly className: string;
  /** The fault of every error with this code, or the default of a class that works it out (see `faultNote`). */
  readonly fault: Fault;
  /** Said instead of `fault` in the table when the class works the fault out from what it carries. */
  readonly faultNote?: string;
  /** Whether, and how, the executor retries it: the table's "retried" column. */
  readonly retried: string;
  /** What happened and what to do: the table's last column (Markdown). */
  readonly action: string;
}

/** In the order the README lists them: configuration, transport, the call, then agents and runs. */
export const ERROR_CATALOGUE: { readonly [C in ShoalErrorCode]: ErrorEntry } = {
  CONFIG_INVALID: {
    className: 'ShoalConfigError',
    fault: 'caller',
    retried: 'no',
    action: 'a wrong option or missing setting, thrown at construction before any request: fix the option the message names',
  },
  AUTH_FAILED: { className: 'AuthError', fault: 'caller', retried: 'no', action: 'the key was refused (401/403): check it (it is never logged)' },
  RATE_LIMITED: {
    className: 'RateLimitError',
    fault: 'service',
    retried: "yes, after Retry-After (a poll: until the job's deadline)",
    action: 'load (429); `retryAfterMs`: lower `concurrency` or set `rateLimit` if it persists',
  },
  SERVER_ERROR: {
    className: 'ServerError',
    fault: 'service',
    retried: 'yes, backoff',
    action: 'the server failed (5xx); `body` redacted: wait, or ask its operator',
  },
  NETWORK_ERROR: {
    className: 'NetworkError',
    fault: 'network',
    retried: 'yes, backoff',
    action: 'the connection failed and the request provably was not processed: check the network',
  },
  CREATE_AMBIGUOUS: {
    className: 'AmbiguousCreateError',
    fault: 'network',
    retried: 'only with `retry.ambiguousCreates`',
    action: 'a create was sent but its answer lost: a job may exist (and be paid); set `retry.ambiguousCreates` to retry anyway',
  },
  API_ERROR: {
    className: 'ApiError',
    fault: 'service',
    retried: 'no',
    action: 'the service refused the request (a non-zero `code` or another 4xx); `apiCode`, `body` say why (a model name, the account)',
  },
  PROTOCOL_ERROR: {
    className: 'ProtocolError',
    fault: 'service',
    retried: 'polls yes (up to `maxAttempts` in a row), creates no',
    action: 'an answer that does not fit the protocol; `body` (redacted), `issues`: report it with the body',
  },
  JOB_FAILED: {
    className: 'JobFailedError',
    fault: 'service',
    retried: 'yes, as a new job',
    action: 'the job failed on the model backend (status 3); `serverMessage`',
  },
  JOB_NOT_FOUND: {
    className: 'JobNotFoundError',
    fault: 'service',
    retried: 'no',
    action:
      "the server does not know a job id re-attached to (HTTP 404, code 404 or 1004: expired, or another server's store); its journal entry loses the id, so the next run re-creates it (counted)",
  },
  TIMEOUT: {
    className: 'TimeoutError',
    fault: 'caller',
    retried: 'no',
    action:
      'your `timeoutMs` passed; the message gives the queue state, and `jobId` when a job was left running (asked again, the call re-attaches to it): raise the deadline or send less at once',
  },
  ABORTED: {
    className: 'AbortError',
    fault: 'caller',
    retried: 'no',
    action: 'your signal fired; the message says whether the provider cancelled the work (OpenAI-compatible) or a job already created keeps running (ShortAPI)',
  },
  BUDGET_EXCEEDED: {
    className: 'BudgetExceededError',
    fault: 'caller',
    retried: 'no',
    action: 'the budget is spent; `budgetUsd`, `spentUsd`: raise `budgetUsd` to allow more',
  },
  RETRIES_EXHAUSTED: {
    className: 'RetriesExhaustedError',
    fault: 'service',
    faultNote: "its last error's",
    retried: 'no',
    action: 'every allowed attempt failed; `errors` holds each, the last is its `cause`',
  },
  EXECUTOR_CLOSED: {
    className: 'ExecutorClosedError',
    fault: 'caller',
    retried: 'no',
    action: '`complete()` after `close()`, or a shutdown (queued calls: nothing sent): create a new executor',
  },
  STORE_FAILED: {
    className: 'StoreError',
    fault: 'caller',
    retried: 'no',
    action: "your store could not record a create's intent (disk, permissions): nothing was sent",
  },
  AGENT_INPUT_INVALID: { className: 'AgentInputError', fault: 'caller', retried: 'no', action: "the input misses the agent's schema; `issues`; nothing spent" },
  STRUCTURED_OUTPUT_INVALID: {
    className: 'StructuredOutputError',
    fault: 'model',
    retried: 'no (already re-asked)',
    action: "the model's answer did not fit, after the re-ask; `text`, `issues`, `attempts`, and what those calls spent (`usage`, `costUsd`)",
  },
  PLAN_INVALID: {
    className: 'PlanError',
    fault: 'model',
    faultNote: "`model` (the planner's plan), `caller` (a plan you gave)",
    retried: 'no',
    action: "no valid plan in the planner's attempts, or a plan you gave is not valid; `issues`, `plan`; no step ran",
  },
  STEP_FAILED: {
    className: 'StepFailedError',
    fault: 'model',
    faultNote: "its step error's (`model` for a final output that does not fit)",
    retried: 'no',
    action: 'a step failed under the `fail` policy; `step`, `outputs` so far, `spentUsd`, `cause`',
  },
  INTERNAL: {
    className: 'InternalError',
    fault: 'shoal',
    retried: 'no',
    action: 'an unexpected throw (a bug in shoal, a provider or a plugin), wrapped; `cause` is what was thrown: please report it',
  },
};

/** The fault of a code, before a class that works it out from what it carries says otherwise. */
export function faultOf(code: ShoalErrorCode): Fault {
  return ERROR_CATALOGUE[code].fault;
}
