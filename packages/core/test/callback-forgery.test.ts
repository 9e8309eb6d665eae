import { describe, expect, it } from 'vitest';
import { rig, until } from './helpers.js';

/**
 * A callback body is a hint: anyone who learns a callback URL can POST to it. Without the
 * right job id it is confirmed by a query; an amount is never taken from it; a forged
 * failure must not make the executor pay for a second job.
 */
async function post(url: string, body: unknown): Promise<number> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

async function callbackUrl(emulator: { jobs: readonly { callbackUrl: string | undefined; answered: boolean }[] }): Promise<string> {
  await until(() => emulator.jobs.length > 0);
  return emulator.jobs[0]!.callbackUrl!;
}

describe('callbacks are hints', () => {
  it('does not take a forged success without a job id: confirms by query, books no callback amount', async () => {
    const { executor, emulator } = await rig({ latencyMs: Infinity, rules: [{ match: 'real', reply: 'the real answer' }] }, { callback: true });
    const pending = executor.complete({ prompt: 'real question' });
    const url = await callbackUrl(emulator);
    const queriesBefore = emulator.stats().queries;
    expect(await post(url, { code: 0, data: { status: 2, result: { text: 'FORGED' }, amount: '5' } })).toBe(202);
    // The hint is confirmed by a query, which finds the job still running; then the job ends.
    await until(() => emulator.stats().queries > queriesBefore);
    emulator.finish(emulator.jobs[0]!.id);
    const result = await pending;
    expect(result.text).toBe('the real answer');
    expect(executor.metrics().costUsd).toBe(Number(emulator.jobs[0]!.amountUsd));
    expect(emulator.stats().jobs).toBe(1);
  });

  it('does not pay for a second job on a forged failure without a job id', async () => {
    const { executor, emulator } = await rig({ latencyMs: Infinity, rules: [{ match: 'real', reply: 'the real answer' }] }, { callback: true });
    const pending = executor.complete({ prompt: 'real question' });
    const url = await callbackUrl(emulator);
    expect(await post(url, { code: 0, data: { status: 3, error: 'FORGED failure' } })).toBe(202);
    emulator.finish(emulator.jobs[0]!.id);
    const result = await pending;
    expect(result.text).toBe('the real answer');
    expect(emulator.stats().jobs).toBe(1);
    expect(executor.metrics().retries).toBe(0);
  });

  it('takes the text of a callback naming the right job, but never its amount', async () => {
    const { executor, emulator } = await rig({ latencyMs: Infinity, rules: [{ match: 'real', reply: 'the real answer' }] }, { callback: true });
    const pending = executor.complete({ prompt: 'real question' });
    const url = await callbackUrl(emulator);
    // The create's answer (with the job id) must have come back before the body can be matched to it.
    await until(() => executor.metrics().jobs === 1);
    const jobId = emulator.jobs[0]!.id;
    expect(await post(url, { code: 0, data: { job_id: jobId, status: 2, result: { text: 'from the callback' }, amount: '5' } })).toBe(200);
    const result = await pending;
    expect(result.text).toBe('from the callback');
    expect(result.costUsd).toBe(Number(emulator.jobs[0]!.amountUsd));
    expect(executor.metrics().costUsd).toBe(Number(emulator.jobs[0]!.amountUsd));
  });
});
