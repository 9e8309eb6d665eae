import { ShoalConfigError } from '../errors.js';
import { describeValue } from './describe.js';
import { withoutSecrets } from './redact.js';

/** Throws on option keys the function does not know (a typo would otherwise be ignored silently). */
export function rejectUnknownKeys(where: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const close = known.filter((k) => k.toLowerCase() === key.toLowerCase() || k.startsWith(key.slice(0, 4)));
      throw new ShoalConfigError(
        `Unknown option \`${key}\` in ${where}.${close.length ? ` Did you mean \`${close[0]}\`?` : ''} Known options: ${known.map((k) => `\`${k}\``).join(', ')}.`,
      );
    }
  }
}

/** "Expected `concurrency` to be a number from 1 and up, got `0` (number)". */
export function expectNumber(
  name: string,
  value: unknown,
  { min = -Infinity, max = Infinity, integer = false, allowInfinity = false }: { min?: number; max?: number; integer?: boolean; allowInfinity?: boolean } = {},
): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    value >= min &&
    value <= max &&
    (allowInfinity || Number.isFinite(value)) &&
    (!integer || !Number.isFinite(value) || Number.isInteger(value));
  if (!ok) {
    const range = max === Infinity ? `from ${min} and up` : `from ${min} to ${max}`;
    throw new ShoalConfigError(`Expected \`${name}\` to be ${integer ? 'an integer' : 'a number'} ${range}, got ${describeValue(value)}.`);
  }
  return value;
}

/** `secrets` are kept out of the message (a key pasted into the URL by mistake). */
export function expectHttpUrl(name: string, value: unknown, secrets: readonly (string | undefined)[] = []): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ShoalConfigError(`Expected \`${name}\` to be an http(s) URL such as "https://api.shortapi.ai", got ${withoutSecrets(describeValue(value), secrets)}.`);
  }
  return value as string;
}
