import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalConfigError, StoreError } from '@shoal/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `store-${n++}.db`);

const result = (text: string) => ({
  text,
  jobId: `job-${text}`,
  usage: { inputTokens: 10, cachedInputTokens: 2, outputTokens: 5 },
  costUsd: 0.00001,
  model: 'm',
});

describe('sqliteStore', () => {
  it('keeps results and open journal entries across a close and a reopen', async () => {
    const path = fresh();
    const store = sqliteStore(path);
    await store.cache.set('k1', result('one'));
    await store.journal.intent('k2', 'call-2');
    await store.journal.created('k2', 'job-2');
    await store.journal.intent('k3', 'call-3');
    store.close();

    const again = sqliteStore({ path });
    expect(again.cache.get('k1')).toEqual(result('one'));
    expect(again.cache.get('nope')).toBeUndefined();
    expect(again.journal.lookup('k2')).toEqual({ key: 'k2', idempotencyKey: 'call-2', jobId: 'job-2' });
    expect(again.journal.lookup('k3')).toEqual({ key: 'k3', idempotencyKey: 'call-3', jobId: undefined });
    expect(again.journal.pending!()).toHaveLength(2);
    expect(again.counts()).toEqual({ cached: 1, jobs: 1, intents: 1 });
    again.close();
  });

  it('reads its own writes before they are committed', async () => {
    const store = sqliteStore(fresh());
    const set = store.cache.set('k', result('now'));
    expect(store.cache.get('k')).toEqual(result('now'));
    const intent = store.journal.intent('j', 'call');
    expect(store.journal.lookup('j')).toMatchObject({ idempotencyKey: 'call' });
    await Promise.all([set, intent]);
    store.close();
  });

  it('closes a journal entry in the same commit that stores its result', async () => {
    const store = sqliteStore(fresh());
    await store.journal.intent('k', 'call');
    await store.journal.created('k', 'job-k');
    await store.cache.set('k', result('done'));
    expect(store.journal.lookup('k')).toBeUndefined();
    expect(store.counts()).toEqual({ cached: 1, jobs: 0, intents: 0 });
    await store.journal.settle('k'); // settling twice is harmless
    store.close();
  });

  it('commits a burst of writes made in one turn together, and each write resolves once committed', async () => {
    const path = fresh();
    const store = sqliteStore({ path, synchronous: 'full' });
    const writes = Array.from({ length: 500 }, (_, i) => store.journal.intent(`k${i}`, `call-${i}`));
    await Promise.all(writes);
    // Another connection cannot look (the store holds the file exclusively): count after closing.
    store.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM shoal_journal').get()).toEqual({ n: 500 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('fails plainly once closed, and closing twice is harmless', async () => {
    const store = sqliteStore(fresh());
    store.close();
    store.close();
    await expect(store.journal.intent('k', 'c')).rejects.toBeInstanceOf(StoreError);
    expect(() => store.cache.get('k')).toThrow(StoreError);
    expect(() => store.counts()).toThrow(/closed/);
  });

  it('refuses bad places and bad options with a ShoalConfigError', () => {
    const notADb = join(dir, 'not-a-db.db');
    writeFileSync(notADb, 'this is plain text, not SQLite, and long enough to have a header page '.repeat(20));
    const foreign = join(dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)');
    db.close();
    const newer = join(dir, 'newer.db');
    const db2 = new Database(newer);
    db2.pragma('user_version = 99');
    db2.close();
    const aDir = join(dir, 'a-directory.db');
    mkdirSync(aDir);
    const cases: [unknown, RegExp][] = [
      [join(dir, 'missing', 'run.db'), /directory .*missing does not exist/],
      [aDir, /exists and is not a file/],
      [notADb, /not a SQLite database/],
      [foreign, /database of something else \(tables users\)/],
      [newer, /newer @shoal\/store-sqlite \(schema 99/],
      ['', /Expected `path` to be a file path/],
      [42, /takes a file path or \{ path, synchronous\? \}, got a number/],
      [{ path: fresh(), synchronous: 'off' }, /`synchronous` to be "normal" or "full"/],
      [{ path: fresh(), sync: 'full' }, /Unknown option `sync`/],
      [null, /takes a file path/],
    ];
    for (const [input, message] of cases) {
      expect(() => sqliteStore(input as string), String(input)).toThrow(ShoalConfigError);
      expect(() => sqliteStore(input as string), String(input)).toThrow(message);
    }
  });

  it('commits pending writes when the process exits through process.exit() (a second signal)', () => {
    const path = fresh();
    const script = `
      import { sqliteStore } from '@shoal/store-sqlite';
      const store = sqliteStore(${JSON.stringify(path)});
      store.journal.intent('k', 'idem');
      store.journal.created('k', 'job-1');
      process.exit(130); // before the group commit's turn comes
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(130);
    const store = sqliteStore(path);
    expect(store.journal.lookup('k')).toEqual({ key: 'k', idempotencyKey: 'idem', jobId: 'job-1' });
    store.close();
  });

  it('lets one process at a time use a file', () => {
    const path = fresh();
    const store = sqliteStore(path);
    expect(() => sqliteStore(path)).toThrow(/another process has it open/);
    store.close();
    sqliteStore(path).close();
  });
});

describe('package shape', () => {
  it('exports exactly sqliteStore and SqliteStore, and leaves @shoal/core without native dependencies', async () => {
    const published = await import('@shoal/store-sqlite');
    expect(Object.keys(published).sort()).toEqual(['SqliteStore', 'sqliteStore']);
    const corePkg = JSON.parse(readFileSync(new URL('../../core/package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(corePkg.dependencies)).not.toContain('better-sqlite3');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string>>;
    expect(pkg.dependencies).toEqual({ 'better-sqlite3': '12.11.1' });
    // The exact version of core it was built with: it uses @shoal/core/internal, which semver does not cover.
    expect(pkg.peerDependencies).toEqual({ '@shoal/core': 'workspace:*' });
  });
});
