/** Text for HTML: the five characters that could open a tag or end an attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON to sit inside a `<script type="application/json">`: no `<` can end the element (`</script>`) or open a comment. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Dollars to 6 decimals (a float made from an exact pico-dollar sum, as `metrics().costUsd` is). */
export function usd(value: number): string {
  return value.toFixed(6);
}

/** A count with thousands separators, for tables. */
export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** A duration: 850 ms, 12.5 s, 3 min 20 s, 1 h 5 min. */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** Epoch milliseconds as an ISO-like UTC time: 2026-12-05 07:53:31 UTC. */
export function utcTime(epochMs: number): string {
  const date = new Date(epochMs);
  // A time past what Date holds (±8.64e15 ms) is shown as the number it is.
  return Number.isNaN(date.getTime()) ? String(epochMs) : `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A share of a whole, as a percentage with one decimal. */
export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–';
}
