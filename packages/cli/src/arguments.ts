import { InvalidArgumentError } from 'commander';

/** Argument parsers for commander: each refuses a bad value with what it expected. */

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of 1 or more, got "${value}".`);
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number, got "${value}".`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number above 0, got "${value}".`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number of 0 or more, got "${value}".`);
  return n;
}

/** `--budget 2.50` or `--budget '$2.50'`: US dollars. */
export function usd(value: string): number {
  return positiveNumber(value.trim().replace(/^\$/, ''));
}

/** `--labels a,b,c`: at least two distinct, non-empty labels. */
export function labelList(value: string): [string, ...string[]] {
  const labels = value
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (labels.length < 2) throw new InvalidArgumentError(`expected at least two labels separated by commas, e.g. --labels billing,bug,account; got "${value}".`);
  const repeated = labels.find((l, i) => labels.indexOf(l) !== i);
  if (repeated !== undefined) throw new InvalidArgumentError(`the label "${repeated}" is given twice.`);
  return labels as [string, ...string[]];
}
