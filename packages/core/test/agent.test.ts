import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BudgetGate } from '../src/agent/budget-gate.js';
import { defineAgent } from '../src/agent/define-agent.js';
import { AgentInputError, BudgetExceededError, ShoalConfigError, StructuredOutputError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';
import { testAgent } from '../src/testing/test-agent.js';

const sentiment = defineAgent({
  name: 'sentiment',
  description: 'Rates the sentiment of a short text.',
  input: z.object({ text: z.string().min(1) }),
  output: z.object({ label: z.enum(['positive', 'neutral', 'negative']), score: z.number().min(-1).max(1) }),
  instructions: 'Rate the sentiment of the text.',
  examples: [{ input: { text: 'I love it' }, output: { label: 'positive', score: 0.9 } }],
});

describe('defineAgent: run', () => {
  it('a StructuredOutputError carries what its own attempts spent (paid, though unusable)', async () => {
    const provider = scriptedProvider([{ reply: 'no json here' }]);
    const executor = createExecutor({ provider });
    const error = (await sentiment.run({ text: 'Meh.' }, { executor }).catch((e: unknown) => e)) as StructuredOutputError;
    expect(StructuredOutputError.isInstance(error)).toBe(true);
    expect(error.attempts).toBe(2);
    expect(error.usage.inputTokens).toBeGreaterThan(0);
    expect(error.costUsd).toBeCloseTo(executor.metrics().costUsd, 12);
    await executor.close();
  });

  it('returns the typed output, usage, cost and job ids', async () => {
    const { result, prompts } = await testAgent(sentiment, { input: { text: 'Meh.' }, replies: '{"label":"neutral","score":0}' });
    expect(result.output).toEqual({ label: 'neutral', score: 0 });
    expect(result).toMatchObject({ attempts: 1, stage: 'parsed', jobIds: ['scripted_1'] });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(prompts).toHaveLength(1);
  });

  it('refuses invalid input with the zod issues before any request', async () => {
    const provider = scriptedProvider([{ reply: '{}' }]);
    const executor = createExecutor({ provider });
    const error = await sentiment.run({ text: '' }, { executor }).catch((e: unknown) => e);
    expect(AgentInputError.isInstance(error)).toBe(true);
    expect((error as AgentInputError).issues[0]).toMatchObject({ path: ['text'], code: 'too_small' });
    expect((error as Error).message).toMatch(/nothing was sent/);
    expect(provider.calls).toHaveLength(0);
    expect(executor.metrics().costUsd).toBe(0);
    await executor.close();
  });

  it('lays the prompt out for the prefix cache: the stable part first, byte for byte, the input last', async () => {
    const a = sentiment.promptFor({ text: 'first input' });
    const b = sentiment.promptFor({ text: 'a different, longer second input' });
    expect(a.startsWith(sentiment.prefix)).toBe(true);
    expect(b.startsWith(sentiment.prefix)).toBe(true);
    expect(sentiment.prefix).not.toContain('first input');
    expect(a).toMatchInlineSnapshot(`
      "Rate the sentiment of the text.

      Answer with one JSON value that matches this JSON Schema. Reply with the JSON only, no prose.

      \`\`\`json
      {"type":"object","properties":{"label":{"type":"string","enum":["positive","neutral","negative"]},"score":{"type":"number","minimum":-1,"maximum":1}},"required":["label","score"],"additionalProperties":false}
      \`\`\`

      # Examples

      Example 1 input:
      \`\`\`json
      {"text":"I love it"}
      \`\`\`
      Example 1 output:
      \`\`\`json
      {"label":"positive","score":0.9}
      \`\`\`

      # Input

      \`\`\`json
      {"text":"first input"}
      \`\`\`"
    `);
  });

  it('re-asks with the issues stated, keeping the prefix, and succeeds', async () => {
    const { result, prompts } = await testAgent(sentiment, {
      input: { text: 'Great!' },
      replies: ['I think it is positive.', '{"label":"positive","score":0.8}'],
    });
    expect(result).toMatchObject({ output: { label: 'positive', score: 0.8 }, attempts: 2, stage: 'reasked' });
    expect(prompts[1]!.startsWith(prompts[0]!)).toBe(true);
    expect(prompts[1]).toContain('I think it is positive.');
    expect(prompts[1]).toMatch(/It does not match the schema: .*no JSON object or array/);
  });

  it('gives up after maxAttempts with StructuredOutputError carrying the raw text and issues', async () => {
    const error = (await testAgent(sentiment, { input: { text: 'x' }, replies: '{"label":"great","score":5}' }).catch(
      (e: unknown) => e,
    )) as StructuredOutputError;
    expect(StructuredOutputError.isInstance(error)).toBe(true);
    expect(error.text).toBe('{"label":"great","score":5}');
    expect(error.attempts).toBe(2);
    expect(error.issues.map((i) => i.path.join('.'))).toEqual(['label', 'score']);
  });

  it('spends nothing with a run budget of 0, and stops re-asking when the budget is spent', async () => {
    const provider = scriptedProvider([{ reply: { text: 'not json', usage: { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 0 } } }]);
    const executor = createExecutor({ provider, cache: false });
    await expect(sentiment.run({ text: 'x' }, { executor, budgetUsd: 0 })).rejects.toSatisfy(BudgetExceededError.isInstance);
    expect(provider.calls).toHaveLength(0);
    // One call costs $0.20: past a $0.10 budget, so no re-ask.
    await expect(sentiment.run({ text: 'x' }, { executor, budgetUsd: 0.1 })).rejects.toSatisfy(BudgetExceededError.isInstance);
    expect(provider.calls).toHaveLength(1);
    await executor.close();
  });

  it('tags its calls with its name in the cost ledger', async () => {
    const provider = scriptedProvider([{ reply: '{"label":"neutral","score":0}' }]);
    const executor = createExecutor({ provider });
    await sentiment.run({ text: 'a' }, { executor, tags: ['run-7'] });
    expect(Object.keys(executor.metrics().byTag).sort()).toEqual(['run-7', 'sentiment']);
    await executor.close();
  });
});

describe('defineAgent: definition errors', () => {
  const base = { description: 'd', input: z.object({ a: z.string() }), output: z.object({ b: z.string() }), instructions: 'i' };
  it.each(['Bad Name', '1st', 'a--b', '', 'UPPER'])('rejects the name %j', (name) => {
    expect(() => defineAgent({ ...base, name })).toThrow(ShoalConfigError);
  });
  it('rejects an example that does not fit the schemas, and unknown options', () => {
    expect(() => defineAgent({ ...base, name: 'x', examples: [{ input: { a: 'ok' }, output: { b: 1 as unknown as string } }] })).toThrow(
      /example 1's output does not match/,
    );
    expect(() => defineAgent({ ...base, name: 'x', instruction: 'typo' } as never)).toThrow(/Unknown option `instruction`/);
  });
  it.each([
    [z.object({ due: z.date() }), /z\.date\(\) at `due`, which JSON cannot carry.*Use z\.iso\.datetime\(\)/],
    [z.object({ ids: z.array(z.bigint()) }), /z\.bigint\(\) at `ids\[\]`.*Use z\.coerce\.bigint\(\)/],
    [z.object({ counts: z.map(z.string(), z.number()) }), /z\.map\(\) at `counts`.*Use z\.record/],
    [z.object({ tags: z.set(z.string()) }), /z\.set\(\) at `tags`.*Use z\.array/],
  ])('refuses an output schema JSON cannot carry, before any call: %#', (output, message) => {
    expect(() => defineAgent({ ...base, name: 'x', output })).toThrow(ShoalConfigError);
    expect(() => defineAgent({ ...base, name: 'x', output })).toThrow(message);
    expect(() => defineAgent({ ...base, name: 'x', output })).toThrow(/^defineAgent\(\{ name: 'x' \}\): the output schema has/);
  });
  it('accepts what reads a JSON string: z.coerce.date(), z.iso.datetime(), and a date only in the input', () => {
    expect(() => defineAgent({ ...base, name: 'x', output: z.object({ at: z.coerce.date(), iso: z.iso.datetime() }) })).not.toThrow();
    expect(() => defineAgent({ ...base, name: 'x', input: z.object({ since: z.date() }) })).not.toThrow();
  });
});

describe('runMany', () => {
  const classify = defineAgent({
    name: 'classify',
    description: 'Labels a ticket.',
    input: z.object({ ticket: z.string() }),
    output: z.object({ label: z.enum(['bug', 'billing', 'other']) }),
    instructions: 'Label the ticket.',
  });
  const labelFor = (ticket: string) => (ticket.includes('crash') ? 'bug' : ticket.includes('charge') ? 'billing' : 'other');

  it('runs one call per input through the executor by default, per-item errors for invalid inputs', async () => {
    const provider = scriptedProvider((request) => `{"label":"${labelFor(request.prompt.slice(request.prompt.lastIndexOf('# Input')))}"}`);
    const executor = createExecutor({ provider });
    const result = await classify.runMany([{ ticket: 'app crash' }, { ticket: 'double charge' }, { nope: 1 } as never], { executor });
    expect(result.items[0]).toMatchObject({ ok: true, output: { label: 'bug' } });
    expect(result.items[1]).toMatchObject({ ok: true, output: { label: 'billing' } });
    expect(result.items[2]!.ok).toBe(false);
    expect(result.calls).toBe(2);
    await executor.close();
  });

  it('packs K inputs per call and maps answers back by id, never by position; missing or invalid items are retried alone', async () => {
    const tickets = Array.from({ length: 10 }, (_, i) => ({ ticket: i % 3 === 0 ? `crash ${i}` : i % 3 === 1 ? `charge ${i}` : `hello ${i}` }));
    const provider = scriptedProvider((request) => {
      const fence = request.prompt.slice(request.prompt.lastIndexOf('```json\n') + 8, request.prompt.lastIndexOf('\n```'));
      const inputs = JSON.parse(fence) as Record<string, { ticket: string }>;
      if (typeof inputs.ticket === 'string') return `{"label":"${labelFor(inputs.ticket as unknown as string)}"}`; // a single retry
      const ids = Object.keys(inputs).reverse(); // answer in a different order
      ids.shift(); // leave one out
      const answer: Record<string, unknown> = {};
      ids.forEach((id, i) => (answer[id] = i === 0 ? { label: 'BUG??' } : { label: labelFor(inputs[id]!.ticket) })); // the first one invalid
      answer['99'] = { label: 'bug' }; // an invented id
      return JSON.stringify(answer);
    });
    const executor = createExecutor({ provider });
    const result = await classify.runMany(tickets, { executor, pack: 5 });
    expect(result.items.map((item) => (item.ok ? item.output.label : 'error'))).toEqual(tickets.map((t) => labelFor(t.ticket)));
    expect(result.packedCalls).toBe(2);
    expect(result.calls).toBe(2 + 4); // per pack: one missing, one invalid, retried alone
    expect(result.items.filter((item) => item.ok && item.stage === 'packed')).toHaveLength(6);
    await executor.close();
  });
});

describe('BudgetGate', () => {
  it('lets the first call run alone, then admits while spend plus the mean cost of calls in flight fits; throws once spent or aborted', async () => {
    let spent = 0;
    const controller = new AbortController();
    const gate = new BudgetGate(1, () => spent, controller.signal);
    await gate.admit(); // the probe
    let second = false;
    const waiting = gate.admit().then(() => (second = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBe(false); // no cost known yet: waits for the probe
    spent = 0.3;
    gate.release(true);
    await waiting; // 0.3 + 1 x 0.3 fits
    await gate.admit(); // 0.3 + 2 x 0.3 fits
    let fourth = false;
    const blocked = gate.admit().then(
      () => (fourth = true),
      (e: unknown) => e,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(fourth).toBe(false); // 0.3 + 3 x 0.3 > 1
    controller.abort(new Error('stop'));
    expect(await blocked).toMatchObject({ code: 'ABORTED', message: 'The operation was aborted (stop).' });
    spent = 1;
    await expect(new BudgetGate(1, () => spent, new AbortController().signal).admit()).rejects.toBeInstanceOf(BudgetExceededError);
  });
});
