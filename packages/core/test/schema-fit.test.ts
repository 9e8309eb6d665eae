import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fits, rooted, valueFits } from '../src/testing/schema-fit.js';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => rooted(z.toJSONSchema(schema, { io }) as Record<string, unknown>);
const fit = (source: z.ZodType, target: z.ZodType) => fits(json(source), json(target, 'input'));

describe('schema fit (what the simulated planner may wire together)', () => {
  it('accepts what surely fits', () => {
    expect(fit(z.string().min(3), z.string().min(1))).toBe(true);
    expect(fit(z.int().min(0).max(10), z.number().min(0))).toBe(true);
    expect(fit(z.enum(['a', 'b']), z.string().max(1))).toBe(true);
    expect(fit(z.array(z.object({ topic: z.string(), score: z.number().min(0).max(1) })), z.array(z.object({ score: z.number() }).nullable()))).toBe(true);
    expect(fit(z.object({ a: z.string(), b: z.number() }), z.object({ a: z.string() }))).toBe(true);
    expect(fit(z.email(), z.string())).toBe(true);
  });

  it('refuses what might not fit: looser bounds, other types, missing fields, unknown keywords on the target', () => {
    expect(fit(z.string(), z.string().min(1))).toBe(false);
    expect(fit(z.number(), z.int())).toBe(false);
    expect(fit(z.number().max(2), z.number().lt(2))).toBe(false);
    expect(fit(z.number().lt(2), z.number().max(2))).toBe(true);
    expect(fit(z.string(), z.enum(['a']))).toBe(false);
    expect(fit(z.array(z.string()), z.array(z.string()).min(1))).toBe(false);
    expect(fit(z.object({ a: z.string().optional() }), z.object({ a: z.string() }))).toBe(false);
    expect(fit(z.object({ a: z.string(), b: z.number() }), z.strictObject({ a: z.string() }))).toBe(false);
    expect(fit(z.string(), z.email())).toBe(false);
    expect(fit(z.string().nullable(), z.string())).toBe(false);
  });

  it('checks literal values, both ways of counting a string', () => {
    const target = json(z.object({ name: z.string().min(2).max(3), tags: z.array(z.enum(['x', 'y'])).max(2) }), 'input');
    expect(valueFits({ name: 'abc', tags: ['x'] }, target)).toBe(true);
    expect(valueFits({ name: 'abcd', tags: [] }, target)).toBe(false);
    expect(valueFits({ name: 'ab', tags: ['z'] }, target)).toBe(false);
    expect(valueFits({ tags: [] }, target)).toBe(false);
    // One code point, two UTF-16 units: too short for JSON Schema, too long for neither.
    expect(valueFits('😀', json(z.string().min(2), 'input'))).toBe(false);
    expect(valueFits('😀', json(z.string().max(1), 'input'))).toBe(false);
  });
});
