import { describe, expect, it } from 'vitest';
import { meanPico, SpendProjection } from '../src/budget/spend-projection.js';
import { BudgetExceededError } from '../src/errors.js';
import { parseUsdToPico } from '../src/util/money.js';

const pico = (usd: string) => parseUsdToPico(usd)!;
const idle = { calls: 0, estimatePico: 0n };

/** A projection over a spend the test sets by hand, in pico-dollars. */
function projection(limitUsd: number) {
  const state = { spentPico: 0n };
  return { state, budget: new SpendProjection(limitUsd, () => state.spentPico) };
}

describe('SpendProjection: when a call may start', () => {
  it('lets the first call run alone, whatever its estimate, and nothing beside it until a charge is known', () => {
    const { budget } = projection(1);
    expect(budget.fits(pico('5'), idle)).toBe(true); // more than the limit, but nothing runs
    expect(budget.fits(0n, { calls: 1, estimatePico: 0n })).toBe(false); // slow start: no charge known yet
    expect(budget.known).toBe(false);
    expect(budget.observe(pico('0.1'))).toBe(true); // the first charge
    expect(budget.observe(pico('0.05'))).toBe(false);
    expect(budget.known).toBe(true);
    expect(budget.largestPico).toBe(pico('0.1'));
    expect(budget.fits(pico('0.1'), { calls: 1, estimatePico: pico('0.1') })).toBe(true);
  });

  it('ends the slow start on a charge of 0 too', () => {
    const { budget } = projection(1);
    budget.observe(0n);
    expect(budget.fits(pico('0.5'), { calls: 3, estimatePico: pico('0.5') })).toBe(true);
  });

  it('admits a call while spent + in flight + its estimate <= limit, exactly to the pico-dollar', () => {
    const { state, budget } = projection(0.3);
    budget.observe(pico('0.1'));
    state.spentPico = pico('0.1');
    // 0.1 + 0 + 0.2 is exactly 0.3 here; as floats it is 0.30000000000000004 and would not fit.
    expect(0.1 + 0.2 <= 0.3).toBe(false);
    expect(budget.fits(pico('0.2'), { calls: 1, estimatePico: 0n })).toBe(true);
    expect(budget.fits(pico('0.2') + 1n, { calls: 1, estimatePico: 0n })).toBe(false);
    expect(budget.fits(pico('0.1'), { calls: 1, estimatePico: pico('0.1') })).toBe(true);
    expect(budget.fits(pico('0.1'), { calls: 1, estimatePico: pico('0.1') + 1n })).toBe(false);
  });

  it('refuses every call but a lone one once the spend passes the limit', () => {
    const { state, budget } = projection(0.3);
    budget.observe(pico('0.4'));
    state.spentPico = pico('0.4');
    expect(budget.fits(0n, { calls: 1, estimatePico: 0n })).toBe(false);
    expect(budget.fits(0n, idle)).toBe(true); // the owner checks `exhausted` first: see below
  });
});

describe('SpendProjection: a spent limit', () => {
  it('is exhausted once the spend reaches the limit, not before', () => {
    const { state, budget } = projection(0.3);
    state.spentPico = pico('0.1') + pico('0.2') - 1n;
    expect(budget.exhausted).toBe(false);
    state.spentPico = pico('0.1') + pico('0.2'); // exactly 0.3
    expect(budget.exhausted).toBe(true);
  });

  it('says what was spent in its error, at the float edge', () => {
    const { state, budget } = projection(0.3);
    state.spentPico = pico('0.000097') * 2n;
    const error = budget.error();
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error.budgetUsd).toBe(0.3);
    expect(error.spentUsd).toBe(0.000194); // 0.000097 + 0.000097 as floats is not 0.000194
  });

  it('is exhausted at once with a limit of 0, with the error that says so', () => {
    const { budget } = projection(0);
    expect(budget.exhausted).toBe(true);
    expect(budget.error().message).toMatch(/budget of \$0 allows no spending/);
  });

  it('takes a limit too large for an amount as none', () => {
    const { state, budget } = projection(1e300);
    state.spentPico = pico('1e20');
    budget.observe(1n);
    expect(budget.exhausted).toBe(false);
    expect(budget.fits(pico('1e20'), { calls: 10, estimatePico: pico('1e21') })).toBe(true);
  });
});

describe('SpendProjection: what is left', () => {
  it('is the exact difference, where float subtraction is not', () => {
    const { state, budget } = projection(0.3);
    state.spentPico = pico('0.1');
    expect(0.3 - 0.1).toBe(0.19999999999999998);
    expect(budget.remainingUsd()).toBe(0.2);
  });

  it('is 0 once the limit is reached or passed', () => {
    const { state, budget } = projection(0.3);
    state.spentPico = pico('0.3');
    expect(budget.remainingUsd()).toBe(0);
    state.spentPico = pico('0.5');
    expect(budget.remainingUsd()).toBe(0);
  });
});

describe('meanPico', () => {
  it('rounds up, so an estimate errs on the side of the limit', () => {
    expect(meanPico(10n, 3)).toBe(4n);
    expect(meanPico(9n, 3)).toBe(3n);
    expect(meanPico(0n, 2)).toBe(0n);
  });

  it('is undefined before the first charge', () => {
    expect(meanPico(10n, 0)).toBeUndefined();
  });
});
