import { createHash } from 'node:crypto';
import type { CompletionRequest, Usage } from '../providers/types.js';

/** What the cache keeps of a finished call. */
export interface CachedCompletion {
  /** The answer's text. */
  readonly text: string;
  /** The job that answered, when the provider has jobs. */
  readonly jobId: string | undefined;
  /** The answer's token usage. */
  readonly usage: Usage;
  /** What the call that made it cost, in USD. */
  readonly costUsd: number;
  /** The model that answered, as the server named it. */
  readonly model: string | undefined;
}

/**
 * The store behind the result cache. Small on purpose, so that a persistent store (SQLite,
 * Redis) can implement it; methods may answer synchronously or with a promise.
 */
export interface CacheStore {
  /** The entry stored under `key` (a `requestKey`), if any. */
  get(key: string): CachedCompletion | undefined | Promise<CachedCompletion | undefined>;
  /** Stores an entry under `key`. */
  set(key: string, value: CachedCompletion): void | Promise<void>;
  /** Removes an entry (optional; the executor itself never calls it). */
  delete?(key: string): void | Promise<void>;
  /** Called once when the executor closes (unless a durable `store` took the cache's place). */
  close?(): void | Promise<void>;
}

/** The default store: an in-memory LRU bounded by entry count. */
export class MemoryCacheStore implements CacheStore {
  readonly #max: number;
  readonly #map = new Map<string, CachedCompletion>();

  constructor(maxEntries = 10_000) {
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): CachedCompletion | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      // Map keeps insertion order: re-inserting marks it most recent.
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: CachedCompletion): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }

  delete(key: string): void {
    this.#map.delete(key);
  }
}

/**
 * The identity of a request: model, prompt and args (keys sorted, so argument order does
 * not split the cache). A SHA-256, so persistent stores hold short keys.
 */
export function requestKey(model: string, request: CompletionRequest): string {
  const hash = createHash('sha256');
  hash.update(model);
  hash.update('\u0000');
  hash.update(request.prompt);
  if (request.args && Object.keys(request.args).length > 0) {
    hash.update('\u0000');
    hash.update(stableStringify(request.args));
  }
  return hash.digest('base64url');
}

/** The same identity as plain text, for the in-flight map when no cache wants a hash. */
export function inFlightKey(request: CompletionRequest): string {
  return request.args && Object.keys(request.args).length > 0 ? `${request.prompt}\u0000${stableStringify(request.args)}` : request.prompt;
}

function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
