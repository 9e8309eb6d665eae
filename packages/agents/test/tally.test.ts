import { describe, expect, it } from 'vitest';
import { Tally } from '../src/util/options.js';

const usage = { inputTokens: 10, cachedInputTokens: 2, outputTokens: 3 };

describe('Tally', () => {
  it('sums costs exactly (in pico-dollars), where a float sum drifts', () => {
    const tally = new Tally();
    tally.add({ usage, costUsd: 0.000097 });
    tally.add({ usage, costUsd: 0.000097 });
    expect(tally.costUsd).toBe(0.000194);

    const drifting = new Tally();
    drifting.add({ usage, costUsd: 0.000005 });
    drifting.add({ usage, costUsd: 0.000189 });
    expect(0.000005 + 0.000189).toBe(0.00019400000000000003); // what `+=` on floats gives
    expect(drifting.costUsd).toBe(0.000194);
  });

  it('stays exact over many small costs, as the ledger does', () => {
    const tally = new Tally();
    for (let i = 0; i < 10_000; i++) tally.add({ usage, costUsd: 0.0000001 });
    expect(tally.costUsd).toBe(0.001);
    expect(tally.calls).toBe(10_000);
  });

  it('counts calls, attempts and tokens as before', () => {
    const tally = new Tally();
    expect(tally.costUsd).toBe(0);
    tally.add({ usage, costUsd: 0.5, attempts: 2 });
    tally.add({ usage, costUsd: 0.25, calls: 3 });
    tally.add({ usage, costUsd: 0 });
    expect(tally.calls).toBe(6);
    expect(tally.costUsd).toBe(0.75);
    expect(tally.usage()).toEqual({ inputTokens: 30, cachedInputTokens: 6, outputTokens: 9 });
  });
});
