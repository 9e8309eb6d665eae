import { describe, expect, it } from 'vitest';
import { parseUsdToPico, picoToDecimalString, picoToUsd, usdToPico } from '../src/util/money.js';
import { seededRandom } from '../src/util/random.js';

describe('money: parseUsdToPico', () => {
  it('reads plain decimals exactly, rounding half up past 12 decimals', () => {
    expect(parseUsdToPico('0.02')).toBe(20_000_000_000n);
    expect(parseUsdToPico('0.000123456789012345')).toBe(123_456_789n);
    expect(parseUsdToPico('0.0000000000015')).toBe(2n);
    expect(parseUsdToPico('0.0000000000014999')).toBe(1n);
    expect(parseUsdToPico(' 7 ')).toBe(7_000_000_000_000n);
    expect(parseUsdToPico('0')).toBe(0n);
  });

  it('reads the exponent forms that Number.prototype.toString() writes, by moving the decimal point', () => {
    // The ShortAPI provider turns a JSON-number amount into a string this way: 0.0000005 → "5e-7".
    expect(String(0.0000005)).toBe('5e-7');
    expect(parseUsdToPico(String(0.0000005))).toBe(500_000n);
    expect(parseUsdToPico('5e-7')).toBe(500_000n);
    expect(parseUsdToPico('1.25E-5')).toBe(12_500_000n);
    expect(parseUsdToPico('1e+2')).toBe(100_000_000_000_000n);
    expect(parseUsdToPico('2.5e3')).toBe(2_500_000_000_000_000n);
    expect(parseUsdToPico('1e21')).toBe(10n ** 33n);
    expect(parseUsdToPico('123.456e-2')).toBe(1_234_560_000_000n);
    expect(parseUsdToPico('0.0012e2')).toBe(120_000_000_000n);
    expect(parseUsdToPico('1e0')).toBe(1_000_000_000_000n);
  });

  it('rounds exponent forms half up past 12 decimals, as it does plain decimals', () => {
    expect(parseUsdToPico('1.5e-12')).toBe(2n);
    expect(parseUsdToPico('1.4999e-12')).toBe(1n);
    expect(parseUsdToPico('5e-13')).toBe(1n); // exactly half a pico-dollar
    expect(parseUsdToPico('4.9e-13')).toBe(0n);
    expect(parseUsdToPico('5e-14')).toBe(0n);
    expect(parseUsdToPico('9.9999999999995e-1')).toBe(1_000_000_000_000n); // the carry reaches the dollars
    expect(parseUsdToPico('1e-99999999999999999999')).toBe(0n);
  });

  it('rejects what is not a non-negative amount: undefined, never a throw', () => {
    for (const junk of [
      '',
      ' ',
      '-1',
      '-5e-7',
      'NaN',
      'Infinity',
      '-Infinity',
      'abc',
      '1e',
      'e5',
      '.5',
      '5.',
      '1.2.3',
      '0x10',
      '1_000',
      '1e5.5',
      '5e-7x',
      '$1',
      '1,5',
      '+1',
    ]) {
      expect(parseUsdToPico(junk), junk).toBeUndefined();
    }
    // An exponent that would need more digits than any bill has is not an amount either (and builds no huge string).
    expect(parseUsdToPico('1e99999999999999999999')).toBeUndefined();
    expect(parseUsdToPico('1e40')).toBeUndefined();
    expect(parseUsdToPico('1'.repeat(100_000))).toBeUndefined();
  });

  it('reads long runs of zeros without building a big number from them', () => {
    expect(parseUsdToPico(`${'0'.repeat(1_000_000)}1.5`)).toBe(1_500_000_000_000n);
    expect(parseUsdToPico(`0.${'0'.repeat(1_000_000)}1`)).toBe(0n);
    expect(parseUsdToPico(`0.000001${'0'.repeat(1_000_000)}`)).toBe(1_000_000n);
    expect(parseUsdToPico(`${'0'.repeat(1_000_000)}1e-6`)).toBe(1_000_000n);
  });
});

describe('money: usdToPico', () => {
  it('turns a float cost into integer pico-dollars exactly, so sums do not drift', () => {
    expect(usdToPico(0.000097)).toBe(97_000_000n);
    expect(usdToPico(0.0000005)).toBe(500_000n); // prints as "5e-7"
    expect(usdToPico(1.36)).toBe(1_360_000_000_000n);
    expect(usdToPico(0)).toBe(0n);
    expect(picoToUsd(usdToPico(0.000097)! + usdToPico(0.000097)!)).toBe(0.000194);
    expect(0.000005 + 0.000189).toBe(0.00019400000000000003); // what a float sum gives instead
    expect(picoToUsd(usdToPico(0.000005)! + usdToPico(0.000189)!)).toBe(0.000194);
  });

  it('gives undefined for what is not an amount: negative, NaN, infinite', () => {
    for (const value of [-0.01, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(usdToPico(value), String(value)).toBeUndefined();
  });

  it('round-trips picoToUsd exactly for random amounts below $4,096', () => {
    const random = seededRandom(20_260_101);
    for (let i = 0; i < 20_000; i++) {
      // Log-uniform over 1 pico-dollar .. $4,096, so small and large amounts are both well covered.
      const pico = BigInt(Math.floor(10 ** (random() * Math.log10(4.096e15))));
      expect(usdToPico(picoToUsd(pico))).toBe(pico);
    }
  });

  it('takes its fast paths only where they agree with the decimal ones (the float edge of every booked call)', () => {
    const random = seededRandom(20_261_205);
    for (let i = 0; i < 20_000; i++) {
      const pico = BigInt(Math.floor(10 ** (random() * Math.log10(4.096e15))));
      expect(picoToUsd(pico)).toBe(Number(picoToDecimalString(pico)));
      // Any float, not only those picoToUsd made: the shortest decimal, rounded half up, as before.
      const usd = random() * 10 ** (random() * 6 - 3);
      expect(usdToPico(usd)).toBe(parseUsdToPico(String(usd)));
    }
    // Past the exact range of doubles, the decimal path.
    expect(picoToUsd(10n ** 30n)).toBe(1e18);
  });
});
