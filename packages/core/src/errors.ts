/**
 * Every error shoal throws, from one place: the base class and its codes and faults
 * (`errors/shoal-error.ts`, `errors/catalogue.ts`), one issue shape (`errors/issues.ts`), the
 * classes by where they happen (`errors/transport.ts`, `errors/call.ts`, `errors/agent.ts`),
 * and the two ways to make one from something else (`errors/abort.ts`, `errors/to-shoal-error.ts`).
 */

export { type AbortWording, abortError } from './errors/abort.js';
export { AgentInputError, PlanError, StepFailedError, StructuredOutputError } from './errors/agent.js';
export {
  AbortError,
  BudgetExceededError,
  ExecutorClosedError,
  InternalError,
  RetriesExhaustedError,
  ShoalConfigError,
  StoreError,
  TimeoutError,
} from './errors/call.js';
export { ERROR_CATALOGUE, type ErrorEntry, type Fault, type ShoalErrorCode } from './errors/catalogue.js';
export { formatIssues, type Issue, type PlanIssue, type ValidationIssue } from './errors/issues.js';
export { provesNoJob, ShoalError, type ShoalErrorOptions } from './errors/shoal-error.js';
export { toShoalError } from './errors/to-shoal-error.js';
export {
  AmbiguousCreateError,
  ApiError,
  AuthError,
  JobFailedError,
  JobNotFoundError,
  NetworkError,
  ProtocolError,
  RateLimitError,
  ServerError,
} from './errors/transport.js';
