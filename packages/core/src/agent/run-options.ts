import { ShoalConfigError } from '../errors.js';
import { type Check, checkOptions, isPlainObject, option } from '../util/options.js';
import type { AgentRunOptions, RunManyOptions } from './types.js';

const RUN_OPTIONS = {
  executor: option.any(),
  priority: option.number(),
  signal: option.signal(),
  budgetUsd: option.number({ min: 0 }),
  tags: option.stringArray(),
  timeoutMs: option.number({ min: 1, allowInfinity: true, note: 'Infinity for none' }),
  spanId: option.string(),
  cache: option.oneOf([true, false, 'refresh'] as const),
} satisfies Record<keyof AgentRunOptions, Check>;
const RUN_MANY_OPTIONS = { ...RUN_OPTIONS, pack: option.number({ min: 1, integer: true }), onProgress: option.function() } satisfies Record<
  keyof RunManyOptions,
  Check
>;

/** Checks run() or runMany() options (unknown keys, types, ranges) before anything is sent. */
export function checkRunOptions(agentName: string, options: AgentRunOptions | undefined, method: 'run' | 'runMany' = 'runMany'): void {
  const needsExecutor = () => new ShoalConfigError(`${agentName}.${method}() needs { executor }: create one with createExecutor({ provider }) and pass it.`);
  if (!isPlainObject(options)) throw needsExecutor();
  checkOptions(`${agentName}.${method}()`, options, method === 'run' ? RUN_OPTIONS : RUN_MANY_OPTIONS);
  if (typeof options.executor?.complete !== 'function') throw needsExecutor();
}
