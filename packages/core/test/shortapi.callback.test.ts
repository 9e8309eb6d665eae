import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { rig, until } from './helpers.js';

/** POSTs a body to a URL on loopback and returns the status. */
function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(413) : reject(error)));
    req.end(body);
  });
}

describe('shortApi callbacks', () => {
  it('takes each result by callback with one outbound request per job', async () => {
    const { executor, emulator, provider } = await rig({ latencyMs: { min: 20, max: 60 }, rules: [{ match: 'ping', reply: 'pong' }] }, { callback: true });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => executor.complete({ prompt: `ping ${i}` })));
    expect(results.every((r) => r.text === 'pong' && r.requests === 1)).toBe(true);
    expect(emulator.stats().queries).toBe(0);
    expect(emulator.stats().callbacksSent).toBe(30);
    expect(provider.callbackStats?.accepted).toBe(30);
    expect(executor.metrics().requestsPerJob).toBe(1);
    // every job had its own URL
    expect(new Set(emulator.jobs.map((j) => j.callbackUrl)).size).toBe(30);
  });

  it('refuses forged, oversized, unparseable and replayed callbacks, changing nothing', async () => {
    const { executor, emulator, provider } = await rig(
      { latencyMs: 400, rules: [{ match: 'real', reply: 'the real answer' }] },
      { callback: { deadlineMs: 5000 } },
    );
    const pending = executor.complete({ prompt: 'real' });
    await until(() => executor.metrics().jobs === 1); // the create has answered: the ticket knows its job id
    const url = emulator.jobs[0]!.callbackUrl!;
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const forged = JSON.stringify({ code: 0, data: { job_id: emulator.jobs[0]!.id, status: 2, result: { text: 'forged' } } });
    expect(await post(`${base}not-a-real-token-000000`, forged)).toBe(404);
    expect(await post(url, Buffer.alloc(1024 * 1024 + 10, 'a'))).toBe(413);
    expect(await post(url, '{not json')).toBe(400);
    expect(await post(url, JSON.stringify({ code: 0, data: { job_id: 'someone-else', status: 2, result: { text: 'wrong job' } } }))).toBe(409);
    const result = await pending;
    expect(result.text).toBe('the real answer');
    // The token was used: a replay of the real body is refused.
    expect(await post(url, JSON.stringify({ code: 0, data: { job_id: emulator.jobs[0]!.id, status: 2, result: { text: 'replay' } } }))).toBe(404);
    expect(provider.callbackStats).toMatchObject({ accepted: 1, unknownToken: 2, tooLarge: 1, badJson: 1, wrongJob: 1 });
  });

  it('falls back to polling when the callback is late past the deadline', async () => {
    const { executor, emulator } = await rig(
      { latencyMs: 10, faults: { dropCallback: 1 }, rules: [{ match: 'lost', reply: 'found by polling' }] },
      { callback: { deadlineMs: 100 } },
    );
    const result = await executor.complete({ prompt: 'lost' });
    expect(result.text).toBe('found by polling');
    expect(emulator.stats().callbacksSent).toBe(0);
    expect(emulator.jobs[0]!.queries).toBeGreaterThanOrEqual(1);
  });

  it('confirms an unverifiable callback with one query', async () => {
    // The job runs until finish(): the callback that the executor reads is ours, and its query finds the job done.
    const { executor, emulator } = await rig(
      { latencyMs: 60_000, faults: { dropCallback: 1 }, rules: [{ match: 'hint', reply: 'confirmed' }] },
      { callback: { deadlineMs: 50_000 } },
    );
    const pending = executor.complete({ prompt: 'hint' });
    await until(() => executor.metrics().jobs === 1); // the create has answered: the ticket knows its job id
    expect(emulator.finish(emulator.jobs[0]!.id)).toBe(true);
    expect(await post(emulator.jobs[0]!.callbackUrl!, JSON.stringify({ something: 'else' }))).toBe(202);
    const result = await pending;
    expect(result.text).toBe('confirmed');
    expect(emulator.jobs[0]!.queries).toBe(1);
  });
});
