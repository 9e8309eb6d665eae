import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { JobJournalStore } from '../src/job-journal.js';
import { redisAvailable } from './redis-server.js';
import { redisForFile } from './setup.js';

const redis = redisForFile();
let queues = 0;

/** A store on its own key space, and a job hash with a lock held under `token`. */
async function setup() {
  const client = redis.client();
  const connection = new Redis(redis.server().url);
  const space = `journal-test-${++queues}`;
  const key = (id: string) => `bull:${space}:${id}`;
  const leftKey = (id: string) => `shoal:${space}:journal:${id.split('.')[0]}`;
  const store = new JobJournalStore(connection, key, leftKey);
  const job = async (id: string, token: string) => {
    await client.hset(key(id), 'data', '{}');
    await client.set(`${key(id)}:lock`, token);
  };
  const progress = async (id: string) => {
    const text = await client.hget(key(id), 'progress');
    return text === null ? null : (JSON.parse(text) as unknown);
  };
  return { client, connection, store, journal: store.journal, key, leftKey, job, progress };
}

describe.skipIf(!redisAvailable)("a worker's journal, in its jobs' progress", () => {
  it('writes an intent only under the lock this worker holds, and the job id next to it, also after the job left this worker', async () => {
    const { connection, store, journal, job, progress } = await setup();
    await job('1', 'token-a');
    // Held under another token (its lock ran out and another worker took it): nothing may be sent.
    store.took('1', 'token-b', 0);
    await expect(journal.intent('1', 'idem-1')).rejects.toThrow(/no longer holds job 1 .*nothing was sent/);
    expect(await progress('1')).toBeNull();
    // That run ends; the token's owner is not touched by it.
    store.took('1', 'token-a', 0);
    await store.ended('1', 'token-b', 'failed');
    expect(journal.lookup('1')).toBeUndefined();
    await journal.intent('1', 'idem-1');
    expect(await progress('1')).toEqual({ k: 'idem-1' });
    // Handed back before the create answered: the answer is still written, next to its key.
    await store.ended('1', 'token-a', 'handed back');
    await journal.created('1', 'sj-1');
    expect(await progress('1')).toEqual({ k: 'idem-1', j: 'sj-1' });
    // A stale worker's late answer does not replace a job id written already.
    await journal.created('1', 'sj-stale');
    expect(await progress('1')).toEqual({ k: 'idem-1', j: 'sj-1' });

    // The next worker to take the job finds the entry in its progress, once.
    store.took('1', 'token-c', { k: 'idem-1', j: 'sj-1' });
    expect(journal.lookup('1')).toEqual({ key: '1', idempotencyKey: 'idem-1', jobId: 'sj-1' });
    expect(journal.lookup('1')).toBeUndefined();
    connection.disconnect();
  });

  it('empties an entry only under the lock: a worker that lost the job cannot empty the next one', async () => {
    const { client, connection, store, journal, job, key, progress } = await setup();
    await job('2', 'token-a');
    store.took('2', 'token-a', 0);
    await journal.intent('2', 'idem-2');
    await client.set(`${key('2')}:lock`, 'token-b'); // taken over by another worker
    await journal.settle('2');
    expect(await progress('2')).toEqual({ k: 'idem-2' });
    await client.set(`${key('2')}:lock`, 'token-a');
    await journal.settle('2');
    expect(await progress('2')).toBeNull();
    // A job whose hash held nothing and got nothing written: settling it sends nothing; a removed job gets no stray hash.
    store.took('3', 'token-a', 0);
    await journal.settle('3');
    await journal.created('3', 'sj-3');
    expect(await client.exists(key('3'))).toBe(0);
    connection.disconnect();
  });

  it("keeps a failed job's open entry for its request's next job, which takes it over (and removes it) with its own intent", async () => {
    const { client, connection, store, journal, job, leftKey, progress } = await setup();
    await job('4', 'token-a');
    store.took('4', 'token-a', 0);
    await journal.intent('4', 'idem-4');
    await store.ended('4', 'token-a', 'failed');
    expect(JSON.parse((await client.get(leftKey('4')))!)).toEqual({ k: 'idem-4' });
    // A settled entry (no job can exist) is not kept.
    await job('5', 'token-a');
    store.took('5', 'token-a', 0);
    await journal.intent('5', 'idem-5');
    await journal.settle('5');
    await store.ended('5', 'token-a', 'failed');
    expect(await client.exists(leftKey('5'))).toBe(0);

    // The request's next job (the producer put the left entry in its data): the same idempotency key, counted by core.
    await job('4.next', 'token-b');
    store.took('4.next', 'token-b', 0, (await client.get(leftKey('4')))!);
    expect(journal.lookup('4.next')).toEqual({ key: '4.next', idempotencyKey: 'idem-4', jobId: undefined });
    await journal.intent('4.next', 'idem-4');
    expect(await progress('4.next')).toEqual({ k: 'idem-4' });
    expect(await client.exists(leftKey('4'))).toBe(0);
    connection.disconnect();
  });
});
