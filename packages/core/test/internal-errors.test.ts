import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { createCoordinator } from '../src/coordinator/coordinator.js';
import { InternalError, StepFailedError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import type { ModelProvider } from '../src/providers/types.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';

// An unexpected throw (a bug, not a failure the server reported) is INTERNAL, fault `shoal`,
// everywhere; and since it may come after a create was sent, nothing asks again on its account.

/** A provider with a bug: it throws a TypeError on every call, counting them. */
function buggyProvider(): ModelProvider & { calls: number } {
  const provider = {
    specificationVersion: 'shoal.provider.v1' as const,
    name: 'buggy',
    model: 'buggy-1',
    calls: 0,
    async doComplete(): Promise<never> {
      provider.calls++;
      throw new TypeError('cannot read properties of undefined');
    },
  };
  return provider;
}

const label = defineAgent({
  name: 'label',
  description: 'Labels a text.',
  input: z.object({ text: z.string() }),
  output: z.object({ label: z.string() }),
  instructions: 'LABEL the text.',
});

describe('unexpected throws are INTERNAL and are not asked again', () => {
  it('from a provider: the call fails with INTERNAL (fault shoal), naming the provider, with the throw as its cause', async () => {
    const provider = buggyProvider();
    const executor = createExecutor({ provider });
    const error = await executor.complete({ prompt: 'x' }).catch((e: unknown) => e);
    expect(error).toSatisfy(InternalError.isInstance);
    expect(error).toMatchObject({ code: 'INTERNAL', fault: 'shoal', retryable: false });
    expect((error as Error).message).toMatch(/^The provider threw an unexpected error: cannot read properties/);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    expect(provider.calls).toBe(1);
    await executor.close();
  });

  it('in a packed runMany: the items fail with INTERNAL and are not asked again one by one', async () => {
    const provider = buggyProvider();
    const executor = createExecutor({ provider });
    const result = await label.runMany([{ text: 'a' }, { text: 'b' }], { executor, pack: 2 });
    expect(result.items.map((item) => (item.ok ? 'ok' : item.error.code))).toEqual(['INTERNAL', 'INTERNAL']);
    expect(provider.calls).toBe(1);
    await executor.close();
  });

  it("from an agent's own code: run() rejects with INTERNAL naming the agent, and a coordinator step is not retried", async () => {
    let prompts = 0;
    const broken = defineAgent({
      name: 'broken',
      description: 'Has a bug in its prompt.',
      input: z.object({ text: z.string() }),
      output: z.object({ label: z.string() }),
      instructions: 'BROKEN.',
      prompt: () => {
        prompts++;
        throw new TypeError('prompt bug');
      },
    });
    const executor = createExecutor({ provider: scriptedProvider([{ reply: '{"label":"x"}' }]) });
    const alone = await broken.run({ text: 'a' }, { executor }).catch((e: unknown) => e);
    expect(alone).toMatchObject({ code: 'INTERNAL', fault: 'shoal' });
    expect((alone as Error).message).toMatch(/^Agent `broken` threw an unexpected error: prompt bug/i);
    const coordinator = createCoordinator({ executor, agents: [broken] });
    const failed = await coordinator
      .execute({ steps: [{ id: 'only', agent: 'broken', input: { text: 'a' }, onError: 'retry' }], output: 'only' })
      .catch((e: unknown) => e);
    expect(failed).toSatisfy(StepFailedError.isInstance);
    expect(failed).toMatchObject({ fault: 'shoal', cause: { code: 'INTERNAL' } });
    expect(prompts).toBe(2); // once alone, once in the run: the step was not retried
    await executor.close();
  });
});
