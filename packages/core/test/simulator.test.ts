import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { findSchema, simulate } from '../src/testing/simulator.js';

const Ticket = z.object({
  category: z.enum(['billing', 'bug', 'account']),
  urgent: z.boolean(),
  summary: z.string().min(3).max(60),
  score: z.number().min(0).max(1),
  count: z.int().min(1).max(5),
  tags: z.array(z.string()).min(1).max(3),
  contact: z.object({ email: z.email(), name: z.string().optional() }),
  note: z.string().nullable(),
});

function promptFor(schema: z.ZodType, input: string) {
  return `Answer with JSON that fits this schema.\n\n\`\`\`json\n${JSON.stringify(z.toJSONSchema(schema), null, 2)}\n\`\`\`\n\nInput:\n${input}`;
}

describe('offline simulator', () => {
  it('answers with a value that fits the JSON Schema in the prompt', () => {
    for (const input of ['I was charged twice for March', 'The app crashes on upload', 'Locked out after a reset', '']) {
      const text = simulate(promptFor(Ticket, input));
      expect(Ticket.safeParse(JSON.parse(text)).success).toBe(true);
    }
  });

  it('is deterministic and derives its values from the input text', () => {
    const prompt = promptFor(z.object({ words: z.string() }), 'alpha beta gamma delta');
    expect(simulate(prompt)).toBe(simulate(prompt));
    const { words } = JSON.parse(simulate(prompt)) as { words: string };
    expect(words.split(' ').every((w) => ['alpha', 'beta', 'gamma', 'delta', 'Input'].includes(w))).toBe(true);
  });

  it('handles recursive schemas through $ref', () => {
    type Node = { name: string; children: Node[] };
    const NodeSchema: z.ZodType<Node> = z.lazy(() => z.object({ name: z.string(), children: z.array(NodeSchema).max(2) }));
    const text = simulate(promptFor(NodeSchema, 'tree of things'));
    expect(NodeSchema.safeParse(JSON.parse(text)).success).toBe(true);
  });

  it('labels plain-text answers as simulated when there is no schema', () => {
    expect(findSchema('no schema here')).toBeUndefined();
    expect(simulate('Say hello to the team')).toMatch(/^\[simulated, not a model\] /);
  });
});

describe('simulator: evidence pairs', () => {
  it('answers {value, quote} with a quote copied verbatim from the input and a value taken from it', () => {
    const schema = z.toJSONSchema(
      z.object({ name: z.object({ value: z.string(), quote: z.string() }), total: z.object({ value: z.number(), quote: z.string() }) }),
    );
    const input = 'Billing contact:  Ada Lovelace\nTotal due: 1,234.50 EUR\n';
    for (let i = 0; i < 20; i++) {
      const prompt = `Extract.\n\n\`\`\`json\n${JSON.stringify(schema)}\n\`\`\`\n\n# Input\n\ncase ${i}\n${input}`;
      const answer = JSON.parse(simulate(prompt)) as { name: { value: string; quote: string }; total: { value: number; quote: string } };
      expect(prompt).toContain(answer.name.quote);
      expect(answer.name.quote).toContain(answer.name.value);
      expect(typeof answer.total.value).toBe('number');
    }
  });
});
