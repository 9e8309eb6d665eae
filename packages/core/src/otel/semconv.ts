import type { Attributes } from '@opentelemetry/api';
import type { ModelProvider } from '../providers/types.js';

/**
 * The names shoal writes into OpenTelemetry: the GenAI semantic conventions (development
 * status; read at v1.41: gen-ai-spans, gen-ai-agent-spans, gen-ai-metrics), the stable
 * `error.type` and `http.response.status_code`, and shoal's own under `shoal.`. One file, so
 * that a rename in the conventions is one edit here.
 */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  agentName: 'gen_ai.agent.name',
  workflowName: 'gen_ai.workflow.name',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  /** Included in `input_tokens`, as shoal's `cachedInputTokens` is. */
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  tokenType: 'gen_ai.token.type',
  /** Opt-in content (`recordContent`), as a JSON string of the spec's message shape. */
  inputMessages: 'gen_ai.input.messages',
} as const;

export const ERROR_TYPE = 'error.type';
export const HTTP_STATUS = 'http.response.status_code';
/** The spec's fallback when an error has no code of its own. */
export const OTHER_ERROR = '_OTHER';

export const SHOAL = {
  runId: 'shoal.run_id',
  stepId: 'shoal.step_id',
  callId: 'shoal.call_id',
  jobId: 'shoal.job_id',
  jobIds: 'shoal.job_ids',
  /** The attempt of the call that created this job (1 = its first create). */
  attempt: 'shoal.attempt',
  /** Attempts the call made in all, each retry included. */
  attempts: 'shoal.attempts',
  priority: 'shoal.priority',
  queueWaitMs: 'shoal.queue_wait_ms',
  costUsd: 'shoal.cost_usd',
  budgetUsd: 'shoal.budget_usd',
  cached: 'shoal.cached',
  deduplicated: 'shoal.deduplicated',
  resumed: 'shoal.resumed',
  requests: 'shoal.requests',
  polls: 'shoal.polls',
  poll: 'shoal.poll',
  tags: 'shoal.tags',
  agentCalls: 'shoal.agent_calls',
  modelCalls: 'shoal.model_calls',
  parseStage: 'shoal.parse_stage',
  planSteps: 'shoal.plan.steps',
  stepAgent: 'shoal.step.agent',
  stepPolicy: 'shoal.step.policy',
  stepItems: 'shoal.step.items',
  stepFanOut: 'shoal.step.fan_out',
  stepStage: 'shoal.step.stage',
  /** A step that failed under the `skip` policy: its error's type, though the run went on (so no ERROR status). */
  stepSkipped: 'shoal.step.skipped_error',
} as const;

export const OPERATION = {
  workflow: 'invoke_workflow',
  agent: 'invoke_agent',
  plan: 'plan',
} as const;

/** The GenAI spec's bucket advice for `gen_ai.client.token.usage` ({token}). */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** The GenAI spec's bucket advice for `gen_ai.client.operation.duration` (s). */
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/** What every span and data point of one provider's model calls carries. */
export interface ModelFacts {
  /** `chat` or `text_completion`: see `operationOf`. */
  readonly operation: string;
  readonly provider: string;
  readonly model: string;
}

/**
 * The operation is named by what goes on the wire: the OpenAI-compatible provider sends a
 * chat completion (one user message), the spec's `chat`; ShortAPI's create, and shoal's own
 * request, is one prompt string with no roles, the spec's `text_completion`.
 */
function operationOf(providerName: string): string {
  return providerName === 'openai-compatible' ? 'chat' : 'text_completion';
}

/** The spec's well-known value where one applies: an OpenAI-compatible server speaks the `openai` flavour, whoever hosts it. */
function providerNameOf(providerName: string): string {
  return providerName === 'openai-compatible' ? 'openai' : providerName;
}

export function modelFacts(provider: Pick<ModelProvider, 'name' | 'model'>): ModelFacts {
  return { operation: operationOf(provider.name), provider: providerNameOf(provider.name), model: provider.model };
}

export function modelAttributes(facts: ModelFacts): Attributes {
  return { [GEN_AI.operation]: facts.operation, [GEN_AI.provider]: facts.provider, [GEN_AI.requestModel]: facts.model };
}

/** A model span's name, per the spec: `{gen_ai.operation.name} {gen_ai.request.model}`. */
export function modelSpanName(facts: ModelFacts): string {
  return `${facts.operation} ${facts.model}`;
}

/**
 * The error code in a span's `error` attribute, which shoal writes as `CODE: message` for its
 * own errors (`describeError`); anything else is the spec's `_OTHER`.
 */
export function errorTypeOf(described: unknown): string {
  const code = typeof described === 'string' ? /^([A-Z][A-Z0-9_]*): /.exec(described)?.[1] : undefined;
  return code ?? OTHER_ERROR;
}

/** The opt-in input content as the spec's input messages: one user message whose text is the input (JSON unless a string). */
export function inputMessages(input: unknown): string {
  const content = typeof input === 'string' ? input : JSON.stringify(input);
  return JSON.stringify([{ role: 'user', parts: [{ type: 'text', content }] }]);
}

/** A clock on the same base as shoal's spans (`Span.startedAt`): epoch milliseconds, with sub-millisecond precision. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
