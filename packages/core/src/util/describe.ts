/** Longest string shown whole in an error message; a longer one is cut (it may be a whole document). */
const SHOWN_CHARS = 40;

/** Renders a received value for an error message: `0` (number), `"abc"` (string). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS - 3)}...` : value)}\` (string)`;
  if (value === null) return '`null`';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `\`${String(value)}\` (${typeof value})`;
}

/** `a, b or c`, each part once. */
export function joinOr(parts: readonly string[]): string {
  const unique = [...new Set(parts)];
  return unique.length <= 1 ? (unique[0] ?? 'nothing') : `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

/** `"a", "b" or "c"` */
export function listValues(values: readonly unknown[]): string {
  return joinOr(values.map((v) => JSON.stringify(v)));
}
