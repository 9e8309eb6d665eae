import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { rig } from './helpers.js';

/** Money as the server sends it, and as shoal adds it up: exact, whatever the form. */
describe('amounts', () => {
  it('reads an amount sent as a JSON number in exponent form (5e-7) exactly', async () => {
    // Billed: 1 input token at $0.20 per million and nothing else, $0.0000002, which JSON.stringify writes as 2e-7.
    // No usage reported, so an amount misread would fall back to tokens counted here (about 7 times as much).
    const { executor, emulator } = await rig({
      amountAs: 'number',
      reportUsage: false,
      rules: [{ match: 'tiny', reply: { text: 'ok', usage: { inputTokens: 1, outputTokens: 0 } } }],
    });
    const result = await executor.complete({ prompt: 'tiny' });
    expect(emulator.jobs[0]!.amountUsd).toBe('0.0000002');
    expect(result.costUsd).toBe(2e-7);
    expect(executor.metrics().costUsd).toBe(2e-7);
  });

  it("sums an agent run's costs in integer pico-dollars: $0.00008 and $0.0000812 cost $0.0001612, not 0.00016120000000000002", async () => {
    const agent = defineAgent({
      name: 'costly',
      description: 'Answers with a word.',
      input: z.object({ q: z.string() }),
      output: z.object({ word: z.string() }),
      instructions: 'ANSWER with one word.',
    });
    let asked = 0;
    // 400 then 406 input tokens at $0.20 per million: $0.00008, then $0.0000812. The first answer is unreadable, so the agent asks twice.
    const { executor } = await rig({
      rules: [
        {
          match: 'ANSWER with one word',
          reply: () =>
            ++asked === 1
              ? { text: 'no json', usage: { inputTokens: 400, outputTokens: 0 } }
              : { text: '{"word":"yes"}', usage: { inputTokens: 406, outputTokens: 0 } },
        },
      ],
    });
    const result = await agent.run({ q: 'why' }, { executor });
    expect(result.attempts).toBe(2);
    expect(0.00008 + 0.0000812).not.toBe(0.0001612); // the float sum this replaces
    expect(result.costUsd).toBe(0.0001612);
  });
});
