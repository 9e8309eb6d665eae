export { sqliteStore, SqliteStore } from './sqlite-store.js';
export type { SqliteStoreCounts, SqliteStoreOptions } from './sqlite-store.js';
