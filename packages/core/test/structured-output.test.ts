import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coerceToSchema } from '../src/structured/coerce.js';
import { findJson, findJsonCandidates } from '../src/structured/extract-json.js';
import { StructuredOutput } from '../src/structured/structured-output.js';
import { CORPUS, Invoice } from './fixtures/malformed-answers.js';

describe('structured output: the malformed-answer corpus', () => {
  const output = new StructuredOutput(Invoice);

  it('has at least 40 realistic answers across the kinds small models produce', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    const kinds = new Set(CORPUS.map((c) => c.kind));
    for (const kind of [
      'fenced',
      'prose-wrapped',
      'trailing commas',
      'single quotes',
      'truncated',
      'numbers as strings',
      'enum casing',
      'extra keys',
      'wrong nesting',
    ]) {
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

describe('structured output: a "__proto__" key never sets a prototype', () => {
  const Label = z.object({ label: z.string() });
  const output = new StructuredOutput(Label);
  const Nested = new StructuredOutput(z.object({ label: z.string(), items: z.array(z.object({ name: z.string() })) }));

  it.each([
    ['as is', '{"__proto__":{"label":"x"}}'],
    ['in prose', 'Here: {"__proto__":{"label":"x"}} done'],
    ['in a fence', '```json\n{"__proto__":{"label":"x"}}\n```'],
    ['repaired', "{'__proto__': {'label': 'x'}}"],
    ['spelled with \\u escapes', '{"\\u005f_proto__":{"label":"x"}}'],
    ['in a one-element array', '[{"__proto__":{"label":"x"}}]'],
    ['inside a JSON string', JSON.stringify('{"__proto__":{"label":"x"}}')],
    ['beside another key', '{"__proto__":{"label":"x"},"note":"hi"}'],
  ])('%s: the answer fails validation instead of passing as {label:"x"}', (_name, text) => {
    const answer = output.parse(text);
    expect(answer.ok).toBe(false);
    expect(Object.prototype).not.toHaveProperty('label');
  });

  it('nested: an item made of "__proto__" does not pass as the item', () => {
    expect(Nested.parse('{"label":"x","items":[{"__proto__":{"name":"n"}}]}').ok).toBe(false);
    expect(Nested.parse('{"label":"x","items":[{"name":"n"}]}')).toMatchObject({ ok: true, stage: 'parsed' });
  });

  it('values found for the packed path hold no "__proto__" key, at any depth, and keep their prototypes', () => {
    const found = findJson('{"1":{"__proto__":{"label":"x"},"label":"y"},"__proto__":{"2":{"label":"z"}},"3":[{"__proto__":{}}]}');
    expect(found.ok).toBe(true);
    const value = (found.ok ? found.value : {}) as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.entries(value).map(([id]) => id)).toEqual(['1', '3']);
    expect(Object.getPrototypeOf(value['1'])).toBe(Object.prototype);
    expect(Object.hasOwn(value['1']!, '__proto__')).toBe(false);
    expect(value['1']).toEqual({ label: 'y' });
    expect(Object.hasOwn((value['3'] as unknown as object[])[0]!, '__proto__')).toBe(false);
    for (const candidate of findJsonCandidates('Answer: {"a":{"__proto__":{"label":"x"}}}')) {
      if (candidate.ok) expect(JSON.stringify(candidate.value)).not.toContain('__proto__');
    }
  });

  it('coerceToSchema drops a "__proto__" key it is given (JSON.parse makes it an own property)', () => {
    const given = JSON.parse('{"__proto__":{"label":"x"},"Label":"y"}') as object;
    expect(Object.hasOwn(given, '__proto__')).toBe(true);
    const coerced = coerceToSchema(given, output.jsonSchema) as Record<string, unknown>;
    expect(Object.getPrototypeOf(coerced)).toBe(Object.prototype);
    expect(coerced).toEqual({ label: 'y' });
    expect(Object.hasOwn(coerced, '__proto__')).toBe(false);
    // Alone, it is not unwrapped as "wrong nesting" either.
    expect(coerceToSchema(JSON.parse('{"__proto__":{"label":"x"}}'), output.jsonSchema)).toEqual({});
    // And a key named like an Object.prototype member finds no schema there.
    expect(coerceToSchema({ label: 'x', constructor: 'y' }, output.jsonSchema)).toEqual({ label: 'x', constructor: 'y' });
  });
});
