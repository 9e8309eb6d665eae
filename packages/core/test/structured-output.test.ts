import { describe, expect, it } from 'vitest';
import { StructuredOutput } from '../src/structured/structured-output.js';
import { CORPUS, Invoice } from './fixtures/malformed-answers.js';

describe('structured output: the malformed-answer corpus', () => {
  const output = new StructuredOutput(Invoice);

  it('has at least 40 realistic answers across the kinds small models produce', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    const kinds = new Set(CORPUS.map((c) => c.kind));
    for (const kind of ['fenced', 'prose-wrapped', 'trailing commas', 'single quotes', 'truncated', 'numbers as strings', 'enum casing', 'extra keys', 'wrong nesting']) {
      expect(kinds).toContain(kind);
    }
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s', (_name, entry) => {
    const answer = output.parse(entry.text);
    if (entry.expect === 'reask') {
      expect(answer.ok).toBe(false);
      if (!answer.ok) expect(answer.issues.length).toBeGreaterThan(0);
    } else {
      expect(answer).toMatchObject({ ok: true, stage: entry.expect });
      if (answer.ok) expect(Invoice.parse(answer.value)).toEqual(answer.value);
    }
  });
});
