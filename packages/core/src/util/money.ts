/**
 * Money is kept as integer pico-dollars (1e-12 USD) in bigints, so that summing many
 * small decimal `amount` strings never drifts the way a float sum does.
 */
export const PICO_PER_USD = 1_000_000_000_000n;
const DECIMAL = /^\s*(\d+)(?:\.(\d+))?\s*$/;

/** Parses a decimal string of US dollars ("0.02", "0.000123456789012345"); undefined if it is not one. Rounds half up past 12 decimals. */
export function parseUsdToPico(amount: string): bigint | undefined {
  const match = DECIMAL.exec(amount);
  if (!match) return undefined;
  const whole = BigInt(match[1]!);
  const fraction = match[2] ?? '';
  let pico = BigInt((fraction.slice(0, 12) || '0').padEnd(12, '0'));
  if (fraction.length > 12 && fraction.charCodeAt(12) >= 53 /* '5' */) pico += 1n;
  return whole * PICO_PER_USD + pico;
}

/** The nearest double to an exact pico amount (through its decimal string, so 1.36 stays 1.36). */
export function picoToUsd(pico: bigint): number {
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
