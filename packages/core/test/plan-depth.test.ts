import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { collectReferences, validatePlan } from '../src/coordinator/plan.js';
import { PlanError } from '../src/errors.js';

const store = defineAgent({
  name: 'store',
  description: 'Stores a value.',
  input: z.object({ data: z.unknown() }),
  output: z.object({ id: z.string(), items: z.array(z.object({ name: z.string() })) }),
  instructions: 'Store the data.',
});
const each = defineAgent({
  name: 'each',
  description: 'Looks at one item.',
  input: z.object({ data: z.unknown() }),
  output: z.object({ ok: z.boolean() }),
  instructions: 'Look at the item.',
});
const agents = (name: string) => (name === 'store' ? store : name === 'each' ? each : undefined);

/** A literal nested `depth` levels deep, built without recursion: [[[...[1]...]]] or {"a":{"a":...}}. */
function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** validatePlan must answer every plan with a result; a throw (a RangeError from a stack overflow) fails the test here. */
function issuesOf(plan: unknown): string[] {
  let result: ReturnType<typeof validatePlan> | undefined;
  expect(() => {
    result = validatePlan(plan, agents);
  }).not.toThrow();
  expect(result!.ok).toBe(false);
  return result!.ok ? [] : result!.issues.map((i) => i.message);
}

describe('plan validation: nesting is bounded', () => {
  it.each(['array', 'object'] as const)('a literal input nested 20,000 deep (%s) is a plan issue naming the depth, not a RangeError', (kind) => {
    const plan = { steps: [{ id: 'a', agent: 'store', input: { data: nested(20_000, kind) } }], output: 'a' };
    const issues = issuesOf(plan);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/input\.data: the literal nests deeper than 64 levels/);
    expect(issues[0]).toMatch(/flatten it, or pass it as a JSON string/);
    // The coordinator throws these issues as a PlanError; its message names the depth too.
    expect(new PlanError(validatePlanIssues(plan), plan, 0).message).toMatch(/deeper than 64 levels/);
  });

  it('a forEach literal nested 20,000 deep is a plan issue too', () => {
    const plan = { steps: [{ id: 'a', agent: 'each', input: { data: { $item: '' } }, forEach: [nested(20_000, 'array')] }], output: 'a' };
    expect(issuesOf(plan)).toEqual([expect.stringMatching(/^forEach: the literal nests deeper than 64 levels/)]);
  });

  it('a reference with 20,000 path segments is a plan issue naming the length, not a RangeError', () => {
    const ref = `a${'.items'.repeat(20_000)}`;
    const plan = {
      steps: [
        { id: 'a', agent: 'store', input: { data: 1 } },
        { id: 'b', agent: 'store', input: { data: { $ref: ref } } },
        { id: 'c', agent: 'each', input: { data: { $item: 'x'.concat('.y'.repeat(20_000)) } }, forEach: { $ref: ref } },
      ],
      output: 'b',
    };
    const issues = issuesOf(plan);
    expect(issues.filter((m) => /has 20001 segments; a path may have at most 64/.test(m))).toHaveLength(3);
  });

  it('a plan just inside the limits still validates, references found at depth included', () => {
    let data: unknown = { $ref: 'a.id' };
    for (let i = 0; i < 62; i++) data = { a: data };
    const plan = {
      steps: [
        { id: 'a', agent: 'store', input: { data: nested(63, 'object') } },
        { id: 'b', agent: 'store', input: { data } },
      ],
      output: 'b',
    };
    const result = validatePlan(plan, agents);
    expect(result.ok).toBe(true);
    if (result.ok) expect([...result.value.dependencies.get('b')!]).toEqual(['a']);
  });

  it('the limit is 64 levels: 64 pass, 65 are an issue', () => {
    const plan = (depth: number) => ({ steps: [{ id: 'a', agent: 'store', input: { data: nested(depth, 'array') } }], output: 'a' });
    expect(validatePlan(plan(64), agents).ok).toBe(true);
    expect(issuesOf(plan(65))).toEqual([expect.stringMatching(/deeper than 64 levels/)]);
  });

  it('collectReferences stops descending at the limit instead of overflowing the stack', () => {
    const found = collectReferences(nested(20_000, 'object'), { refs: [], items: [] });
    expect(found).toEqual({ refs: [], items: [] });
  });
});

function validatePlanIssues(plan: unknown) {
  const result = validatePlan(plan, agents);
  return result.ok ? [] : result.issues;
}
