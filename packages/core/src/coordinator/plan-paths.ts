/**
 * Paths into step outputs: `{"$ref": "step.path.to[0].field"}` names (part of) an earlier
 * step's output, `{"$item": "path"}` part of a fan-out's current element. Parsing here is
 * shared by the plan check (which proves every path before a step runs) and the run
 * (which reads the values).
 */

/** A parsed reference: the step it points into and the path inside that step's output. */
export interface Reference {
  /** The id of the step it points into. */
  readonly step: string;
  /** The path inside that step's output: names and array indexes. */
  readonly path: readonly (string | number)[];
}

const SEGMENT = /([^.[\]]+)|\[(\d+)\]/g;

/** "extract.items[0].name" → { step: "extract", path: ["items", 0, "name"] }. */
export function parseReference(text: string): Reference | undefined {
  if (!/^[^.[\]]+(?:\.[^.[\]]+|\[\d+\])*$/.test(text)) return undefined; // no empty segments, brackets only around indexes
  const parts: (string | number)[] = [];
  let consumed = 0;
  for (const match of text.matchAll(SEGMENT)) {
    parts.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
    consumed += match[0].length;
  }
  const dots = (text.match(/\./g) ?? []).length;
  if (parts.length === 0 || typeof parts[0] !== 'string' || consumed + dots !== text.length) return undefined;
  return { step: parts[0], path: parts.slice(1) };
}

/** An `$item` path: "" for the whole element, "field.sub[0]" or "[0]" inside it. */
export function parseItemPath(text: string): (string | number)[] | undefined {
  if (text === '') return [];
  const ref = parseReference(text.startsWith('[') ? `item${text}` : `item.${text}`);
  return ref?.path.slice();
}

/** The value at `path`, or undefined where the path leaves the value. */
function getPath(value: unknown, path: readonly (string | number)[]): unknown {
  let node = value;
  for (const part of path) {
    if (node === null || node === undefined) return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

/** The value a checked reference names in the outputs so far. */
export function resolveReference(ref: string, outputs: ReadonlyMap<string, unknown>): unknown {
  const parsed = parseReference(ref)!;
  return getPath(outputs.get(parsed.step), parsed.path);
}

/** Replaces every {"$ref"} and {"$item"} in a checked input with the value it names. */
export function resolveInput(value: unknown, outputs: ReadonlyMap<string, unknown>, item: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveInput(v, outputs, item));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && typeof record.$ref === 'string') return resolveReference(record.$ref, outputs);
  if (keys.length === 1 && '$item' in record) return getPath(item, parseItemPath((record.$item as string | null) ?? '') ?? []);
  return Object.fromEntries(keys.map((k) => [k, resolveInput(record[k], outputs, item)]));
}
