import { describe, expect, it } from 'vitest';
import { completionSchema, isPlainCompletion } from '../src/providers/chat-answer.js';

const good = {
  id: 'c1',
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: '{"a":1}' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3 },
};

/** Every way of breaking one part of a good answer: a wrong type at each level, missing parts, extra ones. */
const variants: unknown[] = [
  good,
  { choices: [{ message: {} }] },
  { choices: [{ message: { content: null, refusal: 'no' } }] },
  { choices: [{ message: { content: 'x' } }, { message: { content: 'y' } }], extra: true },
  null,
  [],
  'text',
  {},
  { choices: [] },
  { choices: {} },
  { choices: [null] },
  { choices: [[]] },
  { choices: [{}] },
  { choices: [{ message: [] }] },
  { choices: [{ message: null }] },
  { choices: [{ message: 'x' }] },
  { choices: [{ message: { content: 1 } }] },
  { choices: [{ message: { content: {} } }] },
  { choices: [{ message: { refusal: 2 } }] },
  { choices: [{ message: { content: 'x' }, finish_reason: 3 }] },
  { choices: [{ message: { content: 'x' }, finish_reason: null }] },
  { choices: [{ message: { content: 'x' } }, { message: 5 }] },
  { ...good, model: 7 },
  { ...good, model: null },
  { ...good, id: 8 },
  { ...good, usage: 'whatever' },
];

describe("reading a chat completion's answer by hand (the hot path) agrees with its schema", () => {
  it.each(variants.map((v) => [JSON.stringify(v), v]))('%s', (_label, payload) => {
    expect(isPlainCompletion(payload)).toBe(completionSchema.safeParse(payload).success);
  });
});
