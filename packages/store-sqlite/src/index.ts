/**
 * The public API of `@shoal/store-sqlite`: a persistent store for the shoal executor on SQLite (a result cache and a
 * journal of jobs, so a crashed run resumes without paying twice).
 *
 * @module @shoal/store-sqlite
 */
export type { SqliteStoreCounts, SqliteStoreOptions } from './sqlite-store.js';
export { SqliteStore, sqliteStore } from './sqlite-store.js';
