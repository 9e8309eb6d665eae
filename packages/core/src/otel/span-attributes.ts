import type { Attributes } from '@opentelemetry/api';
import type { Usage } from '../providers/types.js';
import type { SpanKind } from '../telemetry/telemetry.js';
import { GEN_AI, HTTP_STATUS, inputMessages, SHOAL } from './semconv.js';

/** shoal's span attributes whose value goes over as it is, under its OpenTelemetry name. */
const SCALARS: Readonly<Record<string, string>> = {
  costUsd: SHOAL.costUsd,
  budgetUsd: SHOAL.budgetUsd,
  attempts: SHOAL.attempts,
  attempt: SHOAL.attempt,
  jobId: SHOAL.jobId,
  jobIds: SHOAL.jobIds,
  callId: SHOAL.callId,
  priority: SHOAL.priority,
  queuedMs: SHOAL.queueWaitMs,
  cached: SHOAL.cached,
  requests: SHOAL.requests,
  polls: SHOAL.polls,
  poll: SHOAL.poll,
  httpStatus: HTTP_STATUS,
  agentCalls: SHOAL.agentCalls,
  modelCalls: SHOAL.modelCalls,
  policy: SHOAL.stepPolicy,
  items: SHOAL.stepItems,
  fanOut: SHOAL.stepFanOut,
  steps: SHOAL.planSteps,
};

/**
 * shoal's span attributes as OpenTelemetry attributes, by an allowlist: what is not named
 * here (`error`, `provider`, `model`, `issues`, and the content: a run's `task`, an agent call's
 * `input`) is not exported, so nothing new on shoal's spans can leak by default. `error`,
 * `provider` and `model` are written by the span mapping itself; the content only with `content`.
 */
export function toOtelAttributes(kind: SpanKind, from: Readonly<Record<string, unknown>>, content: boolean): Attributes {
  const to: Attributes = {};
  for (const key in from) {
    const value = from[key];
    const name = SCALARS[key];
    if (name !== undefined) {
      if (isAttributeValue(value)) to[name] = value;
    } else if (key === 'usage') {
      writeUsage(to, value as Usage | undefined);
    } else if (key === 'stage') {
      // A flow step's position, or how an agent call's answer was read.
      if (kind === 'step' && typeof value === 'number') to[SHOAL.stepStage] = value;
      else if (typeof value === 'string') to[SHOAL.parseStage] = value;
    } else if (key === 'agent' && kind === 'step' && typeof value === 'string') {
      to[SHOAL.stepAgent] = value;
    } else if (content && (key === 'input' || key === 'task') && value !== undefined) {
      to[GEN_AI.inputMessages] = inputMessages(value);
    }
  }
  return to;
}

export function writeUsage(to: Attributes, usage: Usage | undefined): void {
  if (typeof usage !== 'object' || usage === null) return;
  to[GEN_AI.inputTokens] = usage.inputTokens;
  to[GEN_AI.outputTokens] = usage.outputTokens;
  to[GEN_AI.cacheReadInputTokens] = usage.cachedInputTokens;
}

function isAttributeValue(value: unknown): value is string | number | boolean | string[] {
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean') return true;
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
