// The public API of @shoal/core. Everything exported is listed here by name; a test pins this list.
export { createExecutor } from './executor/executor.js';
export type { CallOptions, CompletionResult, Executor, ExecutorMetrics, ExecutorOptions, ShutdownOptions, ShutdownReport } from './executor/executor.js';
export { handleShutdown } from './executor/shutdown.js';
export type { HandleShutdownOptions } from './executor/shutdown.js';
export type { DurableStore, JobJournal, JournalEntry } from './executor/journal.js';
export type * from './executor/events.js';
export { MemoryCacheStore } from './executor/cache.js';
export type { CacheStore, CachedCompletion } from './executor/cache.js';
export { GPT_5_4_NANO_PRICING } from './executor/ledger.js';
export type { CostSource, Pricing, TotalsSnapshot } from './executor/ledger.js';
export type { RateLimitOptions } from './executor/rate-limiter.js';
export { decideRetry, DEFAULT_RETRY } from './executor/retry-policy.js';
export type { RetryContext, RetryDecision, RetryOptions } from './executor/retry-policy.js';
export { shortApi, ShortApiProvider } from './providers/shortapi/shortapi.js';
export type { ShortApiCallbackOptions, ShortApiOptions } from './providers/shortapi/shortapi.js';
export type { PollScheduleOptions } from './providers/shortapi/poll-schedule.js';
export type { CompletionRequest, ModelProvider, ProviderCallContext, ProviderResult, Usage } from './providers/types.js';
export {
  AbortError,
  AmbiguousCreateError,
  ApiError,
  AuthError,
  BudgetExceededError,
  ExecutorClosedError,
  JobFailedError,
  JobNotFoundError,
  NetworkError,
  ProtocolError,
  RateLimitError,
  RetriesExhaustedError,
  ServerError,
  ShoalConfigError,
  ShoalError,
  TimeoutError,
  AgentInputError,
  StructuredOutputError,
  PlanError,
  StepFailedError,
  StoreError,
} from './errors.js';
export type { PlanIssue, ShoalErrorCode, ValidationIssue } from './errors.js';
export { countTokens } from './tokens.js';
export { picoToUsd, usdToPico } from './util/money.js';
export { Tally } from './budget/tally.js';
export type { SpentResult } from './budget/tally.js';
export { rejectUnknownKeys } from './util/options.js';
export { defineAgent, AGENT_NAME } from './agent/define-agent.js';
export { BudgetGate, abortReason } from './agent/budget-gate.js';
export type {
  Agent,
  AgentConfig,
  AgentExample,
  AgentMetadata,
  AgentRunOptions,
  AgentRunResult,
  InferAgentInput,
  InferAgentOutput,
  RunManyItem,
  RunManyOptions,
  RunManyResult,
} from './agent/define-agent.js';
export { StructuredOutput } from './structured/structured-output.js';
export type { ParseStage, ParsedAnswer } from './structured/structured-output.js';
export { definePlugin, createRegistry } from './plugins/plugin.js';
export type { CatalogueEntry, Plugin, PluginConfig, PluginContext, Registry } from './plugins/plugin.js';
export { openAICompatible, OpenAICompatibleProvider, isStrictCompatible } from './providers/openai-compatible.js';
export type { OpenAICompatibleOptions } from './providers/openai-compatible.js';
export { createCoordinator } from './coordinator/coordinator.js';
export { plannerAgent } from './coordinator/planner.js';
export type { Coordinator, CoordinatorOptions, Flow, RunOptions, RunResult } from './coordinator/types.js';
export { validatePlan, planSchema } from './coordinator/plan.js';
export type { Plan, PlanStep, ValidatedPlan } from './coordinator/plan.js';
export { parseReference } from './coordinator/plan-paths.js';
export type { Reference } from './coordinator/plan-paths.js';
export { Trace } from './telemetry/trace.js';
export type { Span, SpanKind, SpanListenerErrorEvent, SpanStatus, Telemetry, TraceEvents } from './telemetry/telemetry.js';
