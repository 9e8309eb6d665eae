import { ShoalConfigError } from '../errors.js';
import { describeValue, listValues } from './describe.js';
import { closestName } from './did-you-mean.js';

/**
 * Option checks in one wording, thrown as `ShoalConfigError` before anything is sent:
 * "Unknown option `priorty` in complete(). Did you mean `priority`? Known options: ..." and
 * "Expected `retry.ambiguousCreates` to be true or false, got `"false"` (string)."
 *
 * A spec maps each option to a check; `checkOptions(where, value, spec)` refuses keys the
 * spec does not have and runs the check of every other key. A key whose value is undefined
 * is taken as absent, known or not: `{ timeoutMs: undefined }` is the same as leaving it out.
 */

/** Throws a `ShoalConfigError` when `value` is not a valid `name`; returns the value otherwise. */
export type Check<T = unknown> = (name: string, value: unknown) => T;
export type OptionSpec = Readonly<Record<string, Check>>;

export { expectHttpUrl } from './base-url.js';

/** "Unknown option `x` in where. Did you mean `y`? Known options: `a`, `b`." */
export function unknownOptionError(where: string, key: string, known: readonly string[], hint = ''): ShoalConfigError {
  const close = closestName(key, known);
  return new ShoalConfigError(
    `Unknown option \`${key}\` in ${where}.${close === undefined ? '' : ` Did you mean \`${close}\`?`} Known options: ${known.map((k) => `\`${k}\``).join(', ')}.${hint ? ` ${hint}` : ''}`,
  );
}

/**
 * Throws a `ShoalConfigError` for the first key of `options` that is not in `known` (a typo
 * would otherwise be ignored silently): "Unknown option `x` in where. Did you mean `y`?
 * Known options: ...". A key whose value is undefined counts as absent. Exported for
 * plugin and agent authors, so that their options read the same.
 */
export function rejectUnknownKeys(where: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key) && (options as Record<string, unknown>)[key] !== undefined) throw unknownOptionError(where, key, known);
  }
}

/** "Expected `name` to be <expected>, got <value>. <hint>" */
export function optionError(name: string, expected: string, value: unknown, hint = ''): ShoalConfigError {
  return new ShoalConfigError(`Expected \`${name}\` to be ${expected}, got ${describeValue(value)}.${hint ? ` ${hint}` : ''}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an options object against its spec. `name` is the option's own name when the
 * object is itself an option (`retry`): the keys inside are then named `retry.maxAttempts`.
 */
export function checkOptions<T extends object = Record<string, unknown>>(where: string, value: unknown, spec: OptionSpec, name?: string): T {
  if (!isPlainObject(value)) {
    if (name !== undefined) throw optionError(name, `an object of options (${listNames(Object.keys(spec))})`, value);
    throw new ShoalConfigError(`${where} takes one options object, got ${describeValue(value)}.`);
  }
  for (const key of Object.keys(value)) {
    const option = value[key];
    if (option === undefined) continue; // absent, whatever its name: options are often built by spreading
    const check = Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (check === undefined) throw unknownOptionError(where, key, Object.keys(spec));
    check(name === undefined ? key : `${name}.${key}`, option);
  }
  return value as T;
}

// ---- numbers ----

export interface NumberRule {
  /** Lowest allowed value, included. */
  readonly min?: number;
  /** Highest allowed value, included. */
  readonly max?: number;
  /** Lowest bound, excluded: the value must be above it. */
  readonly above?: number;
  /** Highest bound, excluded: the value must be below it. */
  readonly below?: number;
  readonly integer?: boolean;
  /** Accept Infinity (e.g. "no deadline"). */
  readonly allowInfinity?: boolean;
  /** Said in parentheses after the range: "(Infinity for none)". */
  readonly note?: string;
  /** A sentence after the error: why, or what to do. */
  readonly hint?: string;
}

/** "Expected `concurrency` to be an integer from 1 and up, got `0` (number)". Finite unless `allowInfinity`. */
export function expectNumber(name: string, value: unknown, rule: NumberRule = {}): number {
  const { min = -Infinity, max = Infinity, above, below, integer = false, allowInfinity = false } = rule;
  const ok =
    typeof value === 'number' &&
    value >= min &&
    value <= max &&
    (above === undefined || value > above) &&
    (below === undefined || value < below) &&
    (allowInfinity || Number.isFinite(value)) &&
    (!integer || !Number.isFinite(value) || Number.isInteger(value));
  if (!ok) throw optionError(name, describeNumberRule(rule), value, rule.hint);
  return value;
}

/** "an integer from 1 and up", "a number above 0 and below 1", "a number from 0 to 65535 (Infinity for none)". */
export function describeNumberRule({ min = -Infinity, max = Infinity, above, below, integer = false, allowInfinity = false, note }: NumberRule): string {
  const lower = above !== undefined ? `above ${above}` : min > -Infinity ? `from ${min}` : '';
  let range: string;
  if (below !== undefined) range = lower ? `${above === undefined ? `at least ${min}` : lower} and below ${below}` : `below ${below}`;
  else if (max < Infinity) range = lower ? (above === undefined ? `${lower} to ${max}` : `${lower} and at most ${max}`) : `up to ${max}`;
  else range = above === undefined && lower ? `${lower} and up` : lower;
  // Without a range, say "finite": "a number, got `Infinity`" would read as a contradiction.
  const kind = integer ? 'an integer' : range || allowInfinity ? 'a number' : 'a finite number';
  return `${kind}${range ? ` ${range}` : ''}${note ? ` (${note})` : ''}`;
}

// ---- the checks ----

function listNames(names: readonly string[]): string {
  return names.map((n) => `\`${n}\``).join(', ');
}

/** Reusable checks for option specs. */
export const option = {
  number:
    (rule: NumberRule = {}): Check<number> =>
    (name, value) =>
      expectNumber(name, value, rule),

  boolean: (): Check<boolean> => (name, value) => {
    if (typeof value !== 'boolean') {
      const hint = value === 'true' || value === 'false' ? `Write ${value} without quotes: any non-empty string counts as true.` : '';
      throw optionError(name, 'true or false', value, hint);
    }
    return value;
  },

  /** `secret`: the value is never shown, only its type. */
  string:
    ({ nonEmpty = false, example, secret = false }: { nonEmpty?: boolean; example?: string; secret?: boolean } = {}): Check<string> =>
    (name, value) => {
      if (typeof value !== 'string' || (nonEmpty && value.trim() === '')) {
        const expected = `${nonEmpty ? 'a non-empty string' : 'a string'}${example ? ` such as ${JSON.stringify(example)}` : ''}`;
        if (secret)
          throw new ShoalConfigError(
            `Expected \`${name}\` to be ${expected}, got ${typeof value === 'string' ? 'an empty string' : value === null ? 'null' : `a value of type ${typeof value}`}.`,
          );
        throw optionError(name, expected, value);
      }
      return value;
    },

  oneOf:
    <T>(values: readonly T[]): Check<T> =>
    (name, value) => {
      if (!values.includes(value as T)) {
        const close =
          typeof value === 'string'
            ? closestName(
                value,
                values.filter((v): v is T & string => typeof v === 'string'),
              )
            : undefined;
        throw optionError(name, listValues(values), value, close === undefined ? '' : `Did you mean ${JSON.stringify(close)}?`);
      }
      return value as T;
    },

  stringArray: (): Check<readonly string[]> => (name, value) => {
    if (!Array.isArray(value)) throw optionError(name, 'an array of strings', value);
    for (let i = 0; i < value.length; i++) {
      if (typeof value[i] !== 'string') throw optionError(`${name}[${i}]`, `a string (\`${name}\` is an array of strings)`, value[i]);
    }
    return value as readonly string[];
  },

  /** An object whose values are all strings (headers). */
  stringRecord: (): Check<Readonly<Record<string, string>>> => (name, value) => {
    if (!isPlainObject(value)) throw optionError(name, 'an object of strings', value);
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== 'string') throw optionError(`${name}.${key}`, `a string (\`${name}\` maps names to strings)`, item);
    }
    return value as Readonly<Record<string, string>>;
  },

  /** Any plain object (arrays, strings and null refused), e.g. model arguments. */
  plainObject:
    (expected = 'an object'): Check<Readonly<Record<string, unknown>>> =>
    (name, value) => {
      if (!isPlainObject(value)) throw optionError(name, expected, value);
      return value;
    },

  signal: (): Check<AbortSignal> => (name, value) => {
    if (!isAbortSignal(value)) throw optionError(name, 'an AbortSignal (from an AbortController)', value);
    return value;
  },

  function:
    (expected = 'a function'): Check<(...args: never[]) => unknown> =>
    (name, value) => {
      if (typeof value !== 'function') throw optionError(name, expected, value);
      return value as (...args: never[]) => unknown;
    },

  array:
    (expected = 'an array'): Check<readonly unknown[]> =>
    (name, value) => {
      if (!Array.isArray(value)) throw optionError(name, expected, value);
      return value;
    },

  /** An option that is itself an options object: unknown keys inside are refused, naming `where`. */
  object:
    (where: string, spec: OptionSpec): Check<Record<string, unknown>> =>
    (name, value) =>
      checkOptions(where, value, spec, name),

  /** Anything: the key is known, its value is checked elsewhere. */
  any: (): Check => (_name, value) => value,
};

export function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    value instanceof AbortSignal ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as AbortSignal).aborted === 'boolean' &&
      typeof (value as AbortSignal).addEventListener === 'function' &&
      typeof (value as AbortSignal).removeEventListener === 'function')
  );
}
