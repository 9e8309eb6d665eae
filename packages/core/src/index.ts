/**
 * The public API of `@shoal/core`: one shared executor for many small structured model calls (priority queue,
 * limits, retries, dedup, cache, cost ledger), agents, the coordinator, providers, telemetry, and shoal's errors.
 *
 * @module @shoal/core
 */
// Everything exported is listed here by name; a test pins this list.
// Helpers only shoal's sibling packages use live in `@shoal/core/internal` (not covered by semver, not in the API site).

export { defineAgent } from './agent/define-agent.js';
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
  RunManyProgress,
  RunManyResult,
} from './agent/types.js';
export { createCoordinator } from './coordinator/coordinator.js';
export type { Plan, PlanStep, ValidatedPlan } from './coordinator/plan.js';
export type { Reference } from './coordinator/plan-paths.js';
export { plannerAgent } from './coordinator/planner.js';
export type { Coordinator, CoordinatorOptions, Flow, RunOptions, RunResult } from './coordinator/types.js';
export type { PlanIssue } from './errors/issues.js';
export type { Fault, Issue, ShoalErrorCode, ValidationIssue } from './errors.js';
export {
  AbortError,
  AgentInputError,
  AmbiguousCreateError,
  ApiError,
  AuthError,
  BudgetExceededError,
  ExecutorClosedError,
  InternalError,
  JobFailedError,
  JobNotFoundError,
  NetworkError,
  PlanError,
  ProtocolError,
  RateLimitError,
  RetriesExhaustedError,
  ServerError,
  ShoalConfigError,
  ShoalError,
  StepFailedError,
  StoreError,
  StructuredOutputError,
  TimeoutError,
} from './errors.js';
export type { CachedCompletion, CacheStore } from './executor/cache.js';
export type * from './executor/events.js';
export type { CallOptions, CompletionResult, Executor, ExecutorMetrics, ExecutorOptions, ShutdownOptions, ShutdownReport } from './executor/executor.js';
export { createExecutor } from './executor/executor.js';
export type { DurableStore, JobJournal, JournalEntry } from './executor/journal.js';
export type { CostSource, TotalsSnapshot } from './executor/ledger.js';
export type { Limiter } from './executor/limiter.js';
// The executor's seams and its clock: what another queue, limiter or clock implements.
export type { CallQueue, CallQueueFactory, QueueEntry } from './executor/queue.js';
export type { RateLimitOptions } from './executor/rate-limiter.js';
export type { RetryOptions } from './executor/retry-policy.js';
export type { HandleShutdownOptions } from './executor/shutdown.js';
export { handleShutdown } from './executor/shutdown.js';
export type { CatalogueEntry, Plugin, PluginConfig, PluginContext, Registry } from './plugins/plugin.js';
export { createRegistry, definePlugin } from './plugins/plugin.js';
export type { OpenAICompatibleOptions } from './providers/openai-compatible.js';
export { OpenAICompatibleProvider, openAICompatible } from './providers/openai-compatible.js';
export { knownPrices, type ModelPrices, type Pricing } from './providers/prices.js';
export type { PollScheduleOptions } from './providers/shortapi/poll-schedule.js';
export type { ShortApiCallbackOptions, ShortApiOptions } from './providers/shortapi/shortapi.js';
export { ShortApiProvider, shortApi } from './providers/shortapi/shortapi.js';
export type { CompletionRequest, ModelProvider, ProviderCallContext, ProviderResult, Usage } from './providers/types.js';
export type * from './record/format.js';
export type { RecordRunOptions, RunRecorder } from './record/record-run.js';
export { recordRun } from './record/record-run.js';
export type { SummaryOptions } from './record/summary.js';
export { formatSummary } from './record/summary.js';
export type { ParsedAnswer, ParseStage } from './structured/structured-output.js';
export { StructuredOutput } from './structured/structured-output.js';
export type { Span, SpanKind, SpanListenerErrorEvent, SpanStatus, Telemetry, TraceEvents } from './telemetry/telemetry.js';
export { Trace } from './telemetry/trace.js';
export type { TokenizerKind } from './tokens.js';
export type { Clock, ClockTimer } from './util/clock.js';
