import { describe, expect, it } from 'vitest';
import { BudgetGate } from '../src/agent/budget-gate.js';
import { Tally } from '../src/budget/tally.js';
import { AbortError, abortError, BudgetExceededError } from '../src/errors.js';

const usage = { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1 };
/** Lets waiting admissions run as far as they can. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Starts an admission and records whether it got in, or its error. */
function admission(gate: BudgetGate) {
  const state: { admitted: boolean; error?: unknown } = { admitted: false };
  const done = gate.admit().then(
    () => {
      state.admitted = true;
    },
    (error: unknown) => {
      state.error = error;
    },
  );
  return { state, done };
}

describe('BudgetGate over a Tally', () => {
  it('admits by the exact mean in pico-dollars, and refuses once the tally reaches the budget', async () => {
    const tally = new Tally();
    const gate = new BudgetGate(0.6, tally, new AbortController().signal);
    await gate.admit(); // a: the probe, alone
    const b = admission(gate);
    await settle();
    expect(b.state.admitted).toBe(false); // no charge known yet
    tally.add({ usage, costUsd: 0.1 });
    gate.release(true); // a
    await b.done;
    expect(b.state.admitted).toBe(true);
    tally.add({ usage, costUsd: 0.2 });
    gate.release(true); // b: spent 0.1 + 0.2, exactly 0.3; the mean is 0.15
    await gate.admit(); // c, alone
    // 0.3 + 1 x 0.15 + 0.15 is exactly 0.6; as floats, 0.30000000000000004 + 2 x 0.15000000000000002 is over.
    const d = admission(gate);
    await settle();
    expect(d.state.admitted).toBe(true);
    const e = admission(gate);
    await settle();
    expect(e.state.admitted).toBe(false); // 0.3 + 2 x 0.15 + 0.15 > 0.6
    gate.release(false); // d ended without a charge: room again, the mean unchanged
    await e.done;
    expect(e.state.admitted).toBe(true);
    const f = admission(gate);
    await settle();
    expect(f.state.admitted).toBe(false);
    tally.add({ usage, costUsd: 0.3 });
    gate.release(true); // c: the spend is now 0.6
    await f.done;
    expect(f.state.error).toBeInstanceOf(BudgetExceededError);
    expect((f.state.error as BudgetExceededError).spentUsd).toBe(0.6);
    expect(gate.projection.remainingUsd()).toBe(0);
  });

  it('says what is left of the budget exactly', () => {
    const tally = new Tally();
    const gate = new BudgetGate(0.3, tally, new AbortController().signal);
    tally.add({ usage, costUsd: 0.1 });
    expect(gate.projection.remainingUsd()).toBe(0.2);
  });

  it('refuses the first call under a budget of 0', async () => {
    const gate = new BudgetGate(0, new Tally(), new AbortController().signal);
    await expect(gate.admit()).rejects.toSatisfy(BudgetExceededError.isInstance);
  });
});

describe('BudgetGate: cancellation', () => {
  it("wakes every waiting call with the signal's reason", async () => {
    const controller = new AbortController();
    const gate = new BudgetGate(1, new Tally(), controller.signal);
    await gate.admit();
    const waiting = [admission(gate), admission(gate)];
    await settle();
    const reason = new Error('stop');
    controller.abort(reason);
    await Promise.all(waiting.map((w) => w.done));
    // Each wakes with an AbortError that carries the caller's reason.
    for (const w of waiting) {
      expect(w.state.error).toSatisfy(AbortError.isInstance);
      expect((w.state.error as AbortError).cause).toBe(reason);
      expect((w.state.error as AbortError).message).toBe('The operation was aborted (stop).');
    }
  });

  it('turns a reason that is not an error into an AbortError', () => {
    const controller = new AbortController();
    controller.abort('user left');
    const error = abortError(controller.signal, { what: 'operation' });
    expect(error).toSatisfy(AbortError.isInstance);
    expect(error.cause).toBe('user left');
  });
});
