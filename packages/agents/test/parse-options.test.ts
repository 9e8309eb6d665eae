import { ShoalConfigError } from '@shoal/core';
import { optionError } from '@shoal/core/internal';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classify } from '../src/index.js';
import { parseOptions } from '../src/util/parse-options.js';

const schema = z.strictObject({
  topK: z.number().int().min(1).optional(),
  temperature: z.number().min(0).lt(2).optional(),
  weight: z.number().positive().optional(),
  mode: z.enum(['fast', 'careful']).optional(),
  query: z.string().min(1).optional(),
});

function messageOf(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    expect(ShoalConfigError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a ShoalConfigError');
}

describe('parseOptions words option errors as core does', () => {
  it('returns the parsed options when they fit', () => {
    expect(parseOptions('f()', schema, { topK: 3, mode: 'fast' })).toEqual({ topK: 3, mode: 'fast' });
  });

  it("says which option, what it takes and what it got, in core's own words", () => {
    const message = messageOf(() => parseOptions('f()', schema, { topK: 0 }));
    expect(message).toBe('Expected `topK` to be an integer from 1 and up, got `0` (number).');
    expect(message).toBe(optionError('topK', 'an integer from 1 and up', 0).message);
    expect(messageOf(() => parseOptions('f()', schema, { temperature: 2 }))).toBe(
      'Expected `temperature` to be a number at least 0 and below 2, got `2` (number).',
    );
    expect(messageOf(() => parseOptions('f()', schema, { weight: 0 }))).toBe('Expected `weight` to be a number above 0, got `0` (number).');
    expect(messageOf(() => parseOptions('f()', schema, { query: '' }))).toBe('Expected `query` to be a non-empty string, got `""` (string).');
  });

  it('asks "did you mean" for a misspelt value and a misspelt option', () => {
    expect(messageOf(() => parseOptions('f()', schema, { mode: 'carefull' }))).toBe(
      'Expected `mode` to be "fast" or "careful", got `"carefull"` (string). Did you mean "careful"?',
    );
    expect(messageOf(() => parseOptions('f()', schema, { topk: 2 }))).toMatch(
      /^Unknown option `topk` in f\(\)\. Did you mean `topK`\? Known options: `topK`, /,
    );
  });

  it('cuts a long string it shows (an option may hold a whole document)', () => {
    const message = messageOf(() => parseOptions('f()', schema, { topK: 'x'.repeat(5000) }));
    expect(message).toBe(`Expected \`topK\` to be an integer from 1 and up, got \`"${'x'.repeat(37)}..."\` (string).`);
  });
});

describe('classify() checks its descriptions against its labels', () => {
  const executor = { complete: () => Promise.reject(new Error('no call expected')) } as never;

  it('asks "did you mean" for a description of a misspelt label', async () => {
    await expect(classify({ labels: z.enum(['billing', 'bug']), items: ['x'], executor, descriptions: { biling: 'money' } as never })).rejects.toThrow(
      'classify(): `descriptions` names "biling", which is not a label. Did you mean "billing"? Labels: "billing" or "bug".',
    );
  });
});
