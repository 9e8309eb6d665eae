/**
 * The agents a ready-made operation builds for its options (a label set, a schema, a
 * relevance text), kept so that the same options reuse the same agent and its prompt
 * prefix. One rule for all of them: at most `max` entries, the least recently used goes
 * first. Keyed by a string; a schema is keyed by identity (`keyOf`), since two equal-looking
 * zod schemas may differ in refinements that JSON cannot show.
 */
export class AgentCache<T> {
  readonly #max: number;
  readonly #entries = new Map<string, T>();

  constructor(max = 64) {
    this.#max = max;
  }

  get(key: string, build: () => T): T {
    const found = this.#entries.get(key);
    if (found !== undefined) {
      // Most recently used last: a Map keeps insertion order.
      this.#entries.delete(key);
      this.#entries.set(key, found);
      return found;
    }
    const built = build();
    this.#entries.set(key, built);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    return built;
  }

  get size(): number {
    return this.#entries.size;
  }
}

const ids = new WeakMap<object, number>();
let next = 0;

/** A stable string for an object's identity (a zod schema), for use in a cache key. */
export function keyOf(object: object): string {
  let id = ids.get(object);
  if (id === undefined) ids.set(object, (id = ++next));
  return `#${id}`;
}
