import { jsonrepair } from 'jsonrepair';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { z } from 'zod';
import { createReadBudget, findJson, findJsonCandidates, MAX_REPAIR_CHARS } from '../src/structured/extract-json.js';
import { StructuredOutput } from '../src/structured/structured-output.js';

// The real jsonrepair, watched: these tests assert when it is (not) called, never how long anything takes.
vi.mock('jsonrepair', async (importOriginal) => {
  const actual = await importOriginal<typeof import('jsonrepair')>();
  return { ...actual, jsonrepair: vi.fn(actual.jsonrepair) };
});
const repair = vi.mocked(jsonrepair);

const Label = z.object({ label: z.string(), items: z.array(z.object({ id: z.number(), name: z.string() })).optional() });
const output = new StructuredOutput(Label);

/** `head`, then `unit` repeated, then `tail`, to about `n` characters. */
const fill = (head: string, unit: string, tail: string, n: number) => head + unit.repeat(Math.ceil((n - head.length - tail.length) / unit.length)) + tail;
/** Valid JSON of about `n` characters that fits `Label`. */
const items = (n: number) => fill('{"label":"x","items":[', '{"id":1,"name":"abcdef"},', '{"id":2,"name":"g"}]}', n);

function issue(answer: ReturnType<typeof output.parse>): string {
  expect(answer.ok).toBe(false);
  return answer.ok ? '' : answer.issues.map((i) => `${i.code}: ${i.message}`).join('; ');
}

// In braces: a function returned from beforeEach is run as its cleanup, and mockClear returns the mock.
beforeEach(() => {
  repair.mockClear();
});

describe('JSON repair is bounded', () => {
  // Each took seconds to minutes in jsonrepair 3.15.0 at this size (superlinear), blocking the process.
  const pathological: [string, string][] = [
    ["quotes in a string {'a': 'x'x'x", fill("{'a': 'x", "'x", '', 200_000)],
    ['objects never closed [{{{{', fill('[', '{', '', 200_000)],
    ['missing commas [{}{}{}', fill('[', '{}', '', 200_000)],
    ['an unclosed fence', fill('Here:\n```json\n{"a":"', 'x\'y"z ', '', 200_000)],
  ];

  it.each(pathological)('a 200 KB answer shaped %s is refused as too large to repair, and jsonrepair is not called', (_name, text) => {
    expect(issue(output.parse(text))).toMatch(
      /^invalid_json: the answer is not valid JSON and is too large to repair \(\d+ characters; repair is tried up to 8192\)/,
    );
    expect(repair).not.toHaveBeenCalled();
  });

  it('a small broken answer is still repaired: one jsonrepair call, on the text from the first bracket to the end', () => {
    expect(output.parse("Sure: {'label': 'x',}")).toEqual({ ok: true, value: { label: 'x' }, stage: 'repaired' });
    expect(repair).toHaveBeenCalledTimes(1);
    expect(repair).toHaveBeenCalledWith("{'label': 'x',}");
  });

  it('a fenced broken answer is repaired from the fenced body only, in one call', () => {
    expect(output.parse("Here you go:\n```json\n{'label': 'x'}\n```\nSee {notes} and [1].")).toMatchObject({
      ok: true,
      value: { label: 'x' },
      stage: 'repaired',
    });
    expect(repair).toHaveBeenCalledTimes(1);
    expect(repair).toHaveBeenCalledWith("{'label': 'x'}");
  });

  it('an answer that cannot be repaired costs one jsonrepair call, not one per candidate', () => {
    expect(issue(output.parse('```\n{:}\n```\nand also {:} here'))).toMatch(/^invalid_json: no JSON object or array could be found or repaired/);
    expect(repair).toHaveBeenCalledTimes(1);
  });

  it(`repairs up to ${MAX_REPAIR_CHARS} characters and refuses one more`, () => {
    // A truncated answer: the last string never ends.
    const truncated = (n: number) => fill('{"label":"', 'a', '', n);
    expect(truncated(MAX_REPAIR_CHARS)).toHaveLength(MAX_REPAIR_CHARS);
    expect(output.parse(truncated(MAX_REPAIR_CHARS))).toMatchObject({ ok: true, stage: 'repaired' });
    expect(issue(output.parse(truncated(MAX_REPAIR_CHARS + 1)))).toMatch(/too large to repair \(8193 characters/);
    expect(repair).toHaveBeenCalledTimes(1);
  });

  it('a large valid answer still parses without repair: 1 MB as is, in prose, in a fence', () => {
    const json = items(1 << 20);
    const parsed = output.parse(json);
    expect(parsed).toMatchObject({ ok: true, stage: 'parsed' });
    if (parsed.ok) expect(parsed.value.items!.length).toBeGreaterThan(40_000);
    expect(output.parse(`Here it is: ${json} Hope that helps.`)).toMatchObject({ ok: true, stage: 'extracted' });
    expect(output.parse(`\`\`\`json\n${json}\n\`\`\``)).toMatchObject({ ok: true, stage: 'extracted' });
    expect(repair).not.toHaveBeenCalled();
  });

  it('once the time budget is spent, no repair starts, and the reason says so', () => {
    let now = 0;
    const budget = createReadBudget({ now: () => now, budgetMs: 50 });
    expect(budget.expired()).toBe(false); // the first check starts the clock
    now = 51; // as if the steps since had taken 51 ms
    expect(findJson("{'label': 'x'}", budget)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^the answer is not valid JSON and took too long to read \(over 50 ms\)/),
    });
    expect(repair).not.toHaveBeenCalled();
    // With time left, the same answer is repaired.
    expect(findJson("{'label': 'x'}", createReadBudget({ now: () => 0 }))).toEqual({ ok: true, value: { label: 'x' }, how: 'repaired' });
  });
});

describe('the steps before repair are linear', () => {
  let parse: MockInstance<typeof JSON.parse>;
  beforeEach(() => {
    parse = vi.spyOn(JSON, 'parse');
  });
  afterEach(() => parse.mockRestore());
  const parsedChars = () => parse.mock.calls.reduce((n, [text]) => n + String(text).length, 0);

  it.each([
    ['valid JSON in prose', `Here it is: ${items(1 << 20)} Hope that helps.`],
    ['valid JSON in a fence', `\`\`\`json\n${items(1 << 20)}\n\`\`\``],
    ['nested spans in prose', `Result: {"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":${items(1 << 20)}}}}}}}}}}}} end`],
    ['brackets in prose [1] {a}', fill('see ', '[1] {a} ', '', 1 << 20)],
    ['many small objects', fill('Answers: ', '{"label":1,"items":[]} ', '', 1 << 20)],
  ])('%s (1 MB): JSON.parse reads at most 3 times the answer in all', (_name, text) => {
    output.parse(text);
    expect(parsedChars()).toBeLessThanOrEqual(3 * text.length);
    expect(repair).not.toHaveBeenCalled();
  });

  it('a value nested in a span that parsed is still a candidate, taken from the parsed value, not parsed again', () => {
    const text = `Here: {"thoughts":"${'t'.repeat(100_000)}","answer":{"label":"x"}} done`;
    expect(output.parse(text)).toEqual({ ok: true, value: { label: 'x' }, stage: 'extracted' });
    expect(parse.mock.calls.length).toBe(2); // the whole answer (fails at "H"), then the span
  });

  it('at most 10 spans are looked at, however many the answer holds', () => {
    const text = fill('Answers: ', '{"label":1} ', '', 100_000);
    expect(findJsonCandidates(text).length).toBeLessThanOrEqual(11);
    expect(parse.mock.calls.length).toBeLessThanOrEqual(15);
  });

  it('an answer nested deeper than 256 levels is refused with a reason, not a RangeError, and is never parsed', () => {
    for (const text of [
      `x ${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      `${'['.repeat(500_000)}${']'.repeat(500_000)}`,
      `{"label":"x","items":${'['.repeat(300)}${']'.repeat(300)}}`,
    ]) {
      expect(() => output.parse(text)).not.toThrow();
      expect(issue(output.parse(text))).toMatch(/^invalid_json: the answer nests objects and arrays deeper than 256 levels/);
    }
    expect(parse).not.toHaveBeenCalled();
    expect(repair).not.toHaveBeenCalled();
  });

  it('nesting up to 256 levels is read', () => {
    const deep = `{"label":"x","extra":${'['.repeat(254)}${']'.repeat(254)}}`;
    expect(output.parse(deep)).toMatchObject({ ok: true, value: { label: 'x' }, stage: 'parsed' });
  });
});
