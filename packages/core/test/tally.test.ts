import { describe, expect, it } from 'vitest';
import { Tally } from '../src/budget/tally.js';

const usage = { inputTokens: 10, cachedInputTokens: 2, outputTokens: 3 };

describe('Tally: booking in pico-dollars', () => {
  it('books calls, tokens and an integer cost', () => {
    const tally = new Tally();
    tally.book(usage, 7n);
    tally.book(usage, 5n, 2);
    expect(tally.calls).toBe(3);
    expect(tally.costPico).toBe(12n);
    expect(tally.usage()).toEqual({ inputTokens: 20, cachedInputTokens: 4, outputTokens: 6 });
  });

  it('books money alone (no usage, no call), as a charge known at a job create is', () => {
    const tally = new Tally();
    tally.book(undefined, 1_000_000n, 0);
    expect(tally.calls).toBe(0);
    expect(tally.usage()).toEqual({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
    expect(tally.costUsd).toBe(0.000001);
  });
});

describe('Tally: public results at the float edge', () => {
  it('sums float costs exactly: 0.1 + 0.2 is 0.3', () => {
    const tally = new Tally();
    tally.add({ usage, costUsd: 0.1 });
    tally.add({ usage, costUsd: 0.2 });
    expect(0.1 + 0.2).toBe(0.30000000000000004);
    expect(tally.costPico).toBe(300_000_000_000n);
    expect(tally.costUsd).toBe(0.3);
  });

  it('counts a result as its `calls`, else its `attempts`, else one call', () => {
    const tally = new Tally();
    tally.add({ usage, costUsd: 0, calls: 3, attempts: 9 });
    tally.add({ usage, costUsd: 0, attempts: 2 });
    tally.add({ usage, costUsd: 0 });
    expect(tally.calls).toBe(6);
  });

  it('adds nothing for a cost that is not an amount, but still counts the call', () => {
    const tally = new Tally();
    tally.add({ usage, costUsd: Number.NaN });
    tally.add({ usage, costUsd: -1 });
    expect(tally.costPico).toBe(0n);
    expect(tally.calls).toBe(2);
  });
});
