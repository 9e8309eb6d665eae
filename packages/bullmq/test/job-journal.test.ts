import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { JobJournalStore } from '../src/job-journal.js';
import { redisAvailable } from './redis-server.js';
import { redisForFile } from './setup.js';

const redis = redisForFile();

describe.skipIf(!redisAvailable)("a worker's journal, in its jobs' progress", () => {
  it('writes an intent only under the lock this worker holds; the job id and the settle only to a job still in Redis', async () => {
    const client = redis.client();
    const connection = new Redis(redis.server().url);
    const key = (id: string) => `bull:journal-test:${id}`;
    const store = new JobJournalStore(connection, key);
    const { journal } = store;
    await client.hset(key('1'), 'data', '{}');
    await client.set(`${key('1')}:lock`, 'token-a');
    // Held under another token (its lock ran out and another worker took it): nothing may be sent.
    store.took('1', 'token-b', 0);
    await expect(journal.intent('1', 'idem-1')).rejects.toThrow(/no longer holds job 1 .*nothing was sent/);
    expect(await client.hget(key('1'), 'progress')).toBeNull();
    store.released('1');

    store.took('1', 'token-a', 0);
    expect(journal.lookup('1')).toBeUndefined();
    await journal.intent('1', 'idem-1');
    expect(JSON.parse((await client.hget(key('1'), 'progress'))!)).toEqual({ k: 'idem-1' });
    await journal.created('1', 'sj-1');
    expect(JSON.parse((await client.hget(key('1'), 'progress'))!)).toEqual({ k: 'idem-1', j: 'sj-1' });
    store.released('1');

    // The next worker to take the job finds the entry in its progress, once.
    store.took('1', 'token-c', { k: 'idem-1', j: 'sj-1' });
    expect(journal.lookup('1')).toEqual({ key: '1', idempotencyKey: 'idem-1', jobId: 'sj-1' });
    expect(journal.lookup('1')).toBeUndefined();
    await journal.settle('1');
    expect(await client.hget(key('1'), 'progress')).toBeNull();

    // A job BullMQ removed meanwhile: no stray hash is made.
    store.took('2', 'token-a', { k: 'idem-2' });
    await journal.created('2', 'sj-2');
    await journal.settle('2');
    expect(await client.exists(key('2'))).toBe(0);
    // A job whose hash held nothing and got nothing written: settling it sends nothing.
    store.took('3', 'token-a', 0);
    await journal.settle('3');
    expect(await client.exists(key('3'))).toBe(0);
    connection.disconnect();
  });
});
