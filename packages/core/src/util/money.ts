/**
 * Money is kept as integer pico-dollars (1e-12 USD) in bigints, so that summing many
 * small decimal `amount` strings never drifts the way a float sum does.
 */
const PICO_PER_USD = 1_000_000_000_000n;
/** Digits, an optional fraction, an optional exponent: what JSON and `Number.prototype.toString()` write ("5e-7", "1.25E-5", "1e+21"). */
const AMOUNT = /^\s*(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?\s*$/;
/** More pico digits than this (amounts of $1e28 and up) is not a bill; the limit also keeps a huge exponent from building a huge string. */
const MAX_PICO_DIGITS = 40;

/**
 * Parses a non-negative amount of US dollars written as a decimal ("0.02",
 * "0.000123456789012345") or with an exponent ("5e-7", "1.25E-5", "1e+2", "2.5e3");
 * undefined for anything else (negative, NaN, Infinity, empty, junk). Exact: the decimal
 * point is moved in the digit string, no float is involved. Rounds half up past 12 decimals.
 */
export function parseUsdToPico(amount: string): bigint | undefined {
  const match = AMOUNT.exec(amount);
  if (!match) return undefined;
  const digits = match[1]! + (match[2] ?? '');
  // Where the decimal point falls in `digits` once the amount is in pico-dollars (1e12 to the dollar).
  // Number() of a long exponent is ±Infinity, which the checks below turn into "too large" or 0.
  const point = match[1]!.length + Number(match[3] ?? '0') + 12;
  const significant = digits.search(/[1-9]/);
  if (significant < 0) return 0n;
  if (point - significant > MAX_PICO_DIGITS) return undefined;
  if (point < 0) return 0n; // below a tenth of a pico-dollar: rounds to 0
  // From the first significant digit (at most MAX_PICO_DIGITS of them, however many zeros lead), zero-padded past the end.
  const whole = point > significant ? digits.slice(significant, point).padEnd(point - significant, '0') : '0';
  const roundUp = point < digits.length && digits.charCodeAt(point) >= 53; /* '5' */
  return BigInt(whole) + (roundUp ? 1n : 0n);
}

/**
 * A float amount of US dollars (a `costUsd`) in integer pico-dollars, for sums that must
 * not drift. Reads the shortest decimal that prints the number (its `toString()`, so
 * 0.000097 is "0.000097" and 0.0000005 is "5e-7") and rounds it half up to whole
 * pico-dollars; a float product is used only where it provably gives the same answer (the
 * fast path below). For a number made by `picoToUsd`, it gives back the same pico amount
 * for every amount below $4,096 (doubles there are spaced less than half a pico-dollar
 * apart); above that, it may be one pico-dollar off. Undefined for what is not
 * an amount (negative, NaN, infinite), as `parseUsdToPico` is for strings.
 */
export function usdToPico(usd: number): bigint | undefined {
  if (!Number.isFinite(usd) || usd < 0) return undefined;
  // The fast path (every call books a cost): below $1,000 doubles are spaced far less than a pico-dollar apart, so a
  // whole number of pico-dollars that gives back exactly this double is the one its shortest decimal names.
  if (usd < 1000) {
    const pico = Math.round(usd * 1e12);
    if (pico / 1e12 === usd) return BigInt(pico);
  }
  return parseUsdToPico(String(usd));
}

/** Pico amounts up to here are exact as doubles. */
const EXACT_PICO = BigInt(Number.MAX_SAFE_INTEGER);

/** The nearest double to an exact pico amount (so 1.36 stays 1.36). */
export function picoToUsd(pico: bigint): number {
  // Both numbers exact, and a division is rounded once, to the nearest double: the same double as the decimal's.
  if (pico <= EXACT_PICO && pico >= -EXACT_PICO) return Number(pico) / 1e12;
  return Number(picoToDecimalString(pico));
}

/** Exact decimal string of a pico amount, without trailing zeros. */
export function picoToDecimalString(pico: bigint): string {
  const sign = pico < 0n ? '-' : '';
  const abs = pico < 0n ? -pico : pico;
  const whole = abs / PICO_PER_USD;
  const rest = (abs % PICO_PER_USD).toString().padStart(12, '0').replace(/0+$/, '');
  return rest ? `${sign}${whole}.${rest}` : `${sign}${whole}`;
}

/** Per-token price in pico-dollars from a price per million tokens in USD. */
export function perMillionToPicoPerToken(usdPerMillion: number): bigint {
  // usd/1e6 per token = usd * 1e6 pico per token.
  return BigInt(Math.round(usdPerMillion * 1_000_000));
}
