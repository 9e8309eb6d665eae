import type { z } from 'zod';
import type { Agent, AgentRunResult } from '../agent/types.js';
import { createExecutor } from '../executor/executor.js';
import { type ScriptedReply, scriptedProvider } from './scripted-provider.js';

/**
 * For plugin authors: runs an agent once against scripted answers, in memory, and returns
 * the result with every prompt the agent sent. Replies are used in turn (the last one
 * repeats), so `['not json', '{"label":"bug"}']` tests the re-ask path.
 */
export async function testAgent<I extends z.ZodType, O extends z.ZodType>(
  agent: Agent<I, O>,
  options: { readonly input: z.input<I>; readonly replies: ScriptedReply | readonly ScriptedReply[]; readonly budgetUsd?: number },
): Promise<{
  /** The agent's result. */
  readonly result: AgentRunResult<z.output<O>>;
  /** Every prompt the agent sent, in order. */
  readonly prompts: readonly string[];
}> {
  const provider = scriptedProvider([{ reply: options.replies as ScriptedReply }]);
  const executor = createExecutor({ provider, cache: false, retry: { baseDelayMs: 0 } });
  try {
    const result = await agent.run(options.input, { executor, ...(options.budgetUsd !== undefined ? { budgetUsd: options.budgetUsd } : {}) });
    return { result, prompts: provider.calls.map((c) => c.prompt) };
  } finally {
    await executor.close();
  }
}
