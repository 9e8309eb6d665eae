export type { SqliteStoreCounts, SqliteStoreOptions } from './sqlite-store.js';
export { SqliteStore, sqliteStore } from './sqlite-store.js';
