import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type CachedCompletion, type CacheStore, type DurableStore, type JobJournal, type JournalEntry, ShoalConfigError, StoreError } from '@shoal/core';
import { rejectUnknownKeys } from '@shoal/core/internal';
import Database from 'better-sqlite3';

/** Options of `sqliteStore()` (or just the path). */
export interface SqliteStoreOptions {
  /** The database file, created when missing (its directory must exist). */
  readonly path: string;
  /**
   * `normal` (the default): a commit is in the operating system's hands when it returns, so
   * a crash of the process (even SIGKILL) loses nothing; a power loss or kernel crash may
   * lose the last commits. `full`: every commit waits for the disk too (fsync), several
   * times slower per commit.
   */
  readonly synchronous?: 'normal' | 'full';
}

/** What a store holds, e.g. to report what a crashed run left. */
export interface SqliteStoreCounts {
  /** Finished results. */
  readonly cached: number;
  /** Open journal entries with a job id: a rerun waits for these jobs by id. */
  readonly jobs: number;
  /** Open journal entries without one: creates sent (or about to be) whose answer was never recorded. */
  readonly intents: number;
}

/**
 * A durable store for the executor on one SQLite file: `createExecutor({ provider, store:
 * sqliteStore('./run.db') })`. The file holds a result cache and the journal of jobs; the
 * same run started again with the same file takes finished results from the cache and
 * re-attaches to jobs already created.
 */
export function sqliteStore(pathOrOptions: string | SqliteStoreOptions): SqliteStore {
  const options = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions;
  return new SqliteStore(options);
}

const SCHEMA_VERSION = 1;
const TABLES = ['shoal_cache', 'shoal_journal'];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shoal_cache (
  key TEXT PRIMARY KEY,
  text TEXT NOT NULL,
  job_id TEXT,
  input_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  model TEXT,
  stored_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shoal_journal (
  key TEXT PRIMARY KEY,
  idempotency_key TEXT NOT NULL,
  job_id TEXT,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

interface CacheRow {
  text: string;
  job_id: string | null;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  model: string | null;
}

interface JournalRow {
  key: string;
  idempotency_key: string;
  job_id: string | null;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The store `sqliteStore()` makes: a result cache and a journal of jobs in one SQLite file. */
export class SqliteStore implements DurableStore {
  /** The database file, as an absolute path (or `:memory:`). */
  readonly path: string;
  readonly cache: CacheStore;
  readonly journal: JobJournal;
  readonly #db: Database.Database;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #commit: (ops: readonly (() => void)[]) => void;
  /** Writes waiting for the next commit, in order, and who waits for it. */
  #ops: (() => void)[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  /** Results written but not yet committed, so that a read in between sees them (null: deleted). */
  readonly #unflushed = new Map<string, CachedCompletion | null>();
  /** Journal entries written but not yet committed, likewise (null: settled). */
  readonly #unflushedJournal = new Map<string, JournalEntry | null>();
  #closed = false;
  /** Commits what is pending when the process exits on purpose (process.exit(), e.g. a second signal); SIGKILL cannot be helped. */
  readonly #onExit = () => {
    try {
      this.close();
    } catch {
      // exiting: nothing left to tell
    }
  };

  constructor(options: SqliteStoreOptions) {
    if (typeof options !== 'object' || options === null)
      throw new ShoalConfigError(`sqliteStore() takes a file path or { path, synchronous? }, got ${show(options)}.`);
    rejectUnknownKeys('sqliteStore()', options, ['path', 'synchronous']);
    const { path } = options;
    if (typeof path !== 'string' || path.trim() === '')
      throw new ShoalConfigError(`Expected \`path\` to be a file path such as "./run.db", got ${show(path)}.`);
    const synchronous = options.synchronous ?? 'normal';
    if (synchronous !== 'normal' && synchronous !== 'full')
      throw new ShoalConfigError(`Expected \`synchronous\` to be "normal" or "full", got ${show(synchronous)}.`);
    this.path = path === ':memory:' ? path : resolve(path);
    if (path !== ':memory:') checkPlace(this.path);
    this.#db = open(this.path, synchronous);
    this.#statements = prepare(this.#db);
    this.#commit = this.#db.transaction((ops: readonly (() => void)[]) => {
      for (const op of ops) op();
    });
    this.cache = {
      get: (key) => this.#get(key),
      set: (key, value) => this.#set(key, value),
      delete: (key) => {
        this.#unflushed.set(key, null);
        return this.#write(() => this.#statements.deleteCache.run(key));
      },
    };
    this.journal = {
      lookup: (key) => this.#lookup(key),
      intent: (key, idempotencyKey) => {
        this.#unflushedJournal.set(key, { key, idempotencyKey, jobId: undefined });
        return this.#write(() => this.#statements.intent.run(key, idempotencyKey, Date.now()));
      },
      created: (key, jobId) => {
        const entry = this.#unflushedJournal.get(key) ?? this.#lookup(key);
        if (entry) this.#unflushedJournal.set(key, { ...entry, jobId });
        return this.#write(() => this.#statements.created.run(jobId, Date.now(), key));
      },
      settle: (key) => {
        this.#unflushedJournal.set(key, null);
        return this.#write(() => this.#statements.settle.run(key));
      },
      pending: () => this.#pending(),
    };
    process.on('exit', this.#onExit);
  }

  /** What the file holds now (pending writes committed first). */
  counts(): SqliteStoreCounts {
    this.#usable();
    this.#flush();
    const journal = this.#statements.countJournal.get() as { jobs: number | null; intents: number | null };
    return {
      cached: (this.#statements.countCache.get() as { n: number }).n,
      jobs: journal.jobs ?? 0,
      intents: journal.intents ?? 0,
    };
  }

  /** Commits what is pending and closes the file. Later writes fail; closing twice is harmless. */
  close(): void {
    if (this.#closed) return;
    process.off('exit', this.#onExit);
    this.#flush();
    this.#closed = true;
    this.#db.close();
  }

  #get(key: string): CachedCompletion | undefined {
    this.#usable();
    const unflushed = this.#unflushed.get(key);
    if (unflushed !== undefined) return unflushed ?? undefined;
    const row = this.#statements.getCache.get(key) as CacheRow | undefined;
    if (!row) return undefined;
    return {
      text: row.text,
      jobId: row.job_id ?? undefined,
      usage: { inputTokens: row.input_tokens, cachedInputTokens: row.cached_input_tokens, outputTokens: row.output_tokens },
      costUsd: row.cost_usd,
      model: row.model ?? undefined,
    };
  }

  /** The result and the closing of its journal entry go in one commit: never one without the other. */
  #set(key: string, value: CachedCompletion): Promise<void> {
    const { usage } = value;
    this.#unflushed.set(key, value);
    this.#unflushedJournal.set(key, null);
    return this.#write(() => {
      this.#statements.setCache.run(
        key,
        value.text,
        value.jobId ?? null,
        usage.inputTokens,
        usage.cachedInputTokens,
        usage.outputTokens,
        value.costUsd,
        value.model ?? null,
        Date.now(),
      );
      this.#statements.settle.run(key);
    });
  }

  #lookup(key: string): JournalEntry | undefined {
    this.#usable();
    const unflushed = this.#unflushedJournal.get(key);
    if (unflushed !== undefined) return unflushed ?? undefined;
    const row = this.#statements.lookup.get(key) as JournalRow | undefined;
    return row && { key: row.key, idempotencyKey: row.idempotency_key, jobId: row.job_id ?? undefined };
  }

  #pending(): JournalEntry[] {
    this.#usable();
    this.#flush();
    return (this.#statements.pending.all() as JournalRow[]).map((row) => ({
      key: row.key,
      idempotencyKey: row.idempotency_key,
      jobId: row.job_id ?? undefined,
    }));
  }

  /**
   * Queues a write for the next commit and answers when it is committed. Writes made in
   * the same turn of the event loop share one transaction (group commit), committed in the
   * loop's check phase: a commit costs about 30 us whatever it holds (WAL, synchronous
   * NORMAL) and a write inside one about 3 us, so the creates and answers handled in one
   * turn pay for one commit. A create waits for its intent's commit, at most until the end
   * of the turn it was dispatched in.
   */
  #write(op: () => void): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    this.#ops.push(op);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return done;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#ops.length === 0) return;
    const ops = this.#ops;
    const waiters = this.#waiters;
    this.#ops = [];
    this.#waiters = [];
    let failure: unknown;
    try {
      this.#commit(ops);
    } catch (error) {
      failure = error;
    }
    this.#unflushed.clear();
    this.#unflushedJournal.clear();
    for (const waiter of waiters) {
      if (failure === undefined) waiter.resolve();
      else waiter.reject(failure);
    }
  }

  #usable(): void {
    if (this.#closed) throw closedError();
  }
}

function prepare(db: Database.Database) {
  return {
    getCache: db.prepare('SELECT text, job_id, input_tokens, cached_input_tokens, output_tokens, cost_usd, model FROM shoal_cache WHERE key = ?'),
    setCache: db.prepare(
      `INSERT INTO shoal_cache (key, text, job_id, input_tokens, cached_input_tokens, output_tokens, cost_usd, model, stored_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET text = excluded.text, job_id = excluded.job_id, input_tokens = excluded.input_tokens,
         cached_input_tokens = excluded.cached_input_tokens, output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd,
         model = excluded.model, stored_at = excluded.stored_at`,
    ),
    deleteCache: db.prepare('DELETE FROM shoal_cache WHERE key = ?'),
    intent: db.prepare(
      `INSERT INTO shoal_journal (key, idempotency_key, job_id, updated_at) VALUES (?, ?, NULL, ?)
       ON CONFLICT (key) DO UPDATE SET idempotency_key = excluded.idempotency_key, job_id = NULL, updated_at = excluded.updated_at`,
    ),
    created: db.prepare('UPDATE shoal_journal SET job_id = ?, updated_at = ? WHERE key = ?'),
    settle: db.prepare('DELETE FROM shoal_journal WHERE key = ?'),
    lookup: db.prepare('SELECT key, idempotency_key, job_id FROM shoal_journal WHERE key = ?'),
    pending: db.prepare('SELECT key, idempotency_key, job_id FROM shoal_journal ORDER BY updated_at, key'),
    countCache: db.prepare('SELECT count(*) AS n FROM shoal_cache'),
    countJournal: db.prepare('SELECT sum(job_id IS NOT NULL) AS jobs, sum(job_id IS NULL) AS intents FROM shoal_journal'),
  };
}

/** The directory must exist and the path must not be one: said plainly, before SQLite says it less clearly. */
function checkPlace(path: string): void {
  const dir = dirname(path);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new ShoalConfigError(`sqliteStore(): the directory ${dir} does not exist; create it first (the store creates only its file).`);
  }
  if (!dirStat.isDirectory()) throw new ShoalConfigError(`sqliteStore(): ${dir} is not a directory.`);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return; // a new file
  }
  if (!stat.isFile()) throw new ShoalConfigError(`sqliteStore(): ${path} exists and is not a file.`);
}

function open(path: string, synchronous: 'normal' | 'full'): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: 250 });
    // WAL: a commit appends to the log, one write() per transaction; readers never block it.
    db.pragma('journal_mode = WAL');
    // One process at a time: two runs sharing a journal would re-attach to each other's jobs.
    // The lock dies with the process, SIGKILL included.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new ShoalConfigError(`sqliteStore(): ${path} was written by a newer @shoal/store-sqlite (schema ${version}; this one reads ${SCHEMA_VERSION}).`);
    }
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    const foreign = tables.filter((name) => !TABLES.includes(name));
    if (foreign.length > 0) {
      throw new ShoalConfigError(
        `sqliteStore(): ${path} is a SQLite database of something else (tables ${foreign.slice(0, 5).join(', ')}); give the store a file of its own.`,
      );
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof ShoalConfigError) throw error;
    throw new ShoalConfigError(`sqliteStore(): cannot use ${path} as a store: ${describeSqliteError(error)}`);
  }
}

function describeSqliteError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB') return 'the file is not a SQLite database.';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return 'another process has it open (one run per store file at a time).';
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM')
    return `${message} (check the file's and its directory's permissions).`;
  return `${message}${typeof code === 'string' ? ` (${code})` : ''}.`;
}

function closedError(): StoreError {
  return new StoreError('The SQLite store is closed: no more reads or writes.');
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  return `a ${typeof value}`;
}
