import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { rig, until } from './helpers.js';

/**
 * A packed runMany sends several inputs in one call. When that call fails in a way that may
 * leave its job running and paid for (a lost create answer, a timeout), its items must not
 * be sent again one by one: only items the answer missed or got wrong may be asked again.
 */
const label = defineAgent({
  name: 'label',
  description: 'Labels a ticket.',
  input: z.object({ ticket: z.string() }),
  output: z.object({ label: z.enum(['bug', 'billing']) }),
  instructions: 'LABEL each ticket as bug or billing.',
});
const tickets = [{ ticket: 'app crashes' }, { ticket: 'charged twice' }, { ticket: 'button broken' }, { ticket: 'refund please' }];
const PACKED = 'LABEL each ticket';
const answer = '{"1":{"label":"bug"},"2":{"label":"billing"},"3":{"label":"bug"},"4":{"label":"billing"}}';

describe('runMany with pack: a failed packed call is not paid again item by item', () => {
  it('fails every item with CREATE_AMBIGUOUS when the packed create answer was lost: one job, no single calls', async () => {
    const { executor, emulator } = await rig({ rules: [{ match: PACKED, reply: { text: answer, dropCreate: true } }] });
    const result = await label.runMany(tickets, { executor, pack: 4 });
    expect(result.items.map((item) => (item.ok ? 'ok' : item.error.code))).toEqual([
      'CREATE_AMBIGUOUS',
      'CREATE_AMBIGUOUS',
      'CREATE_AMBIGUOUS',
      'CREATE_AMBIGUOUS',
    ]);
    expect(emulator.stats().jobs).toBe(1);
    expect(result.calls).toBe(0);
  });

  it('fails every item with TIMEOUT when the packed call timed out, and the same group asked again re-attaches to its job', async () => {
    const { executor, emulator } = await rig({ latencyMs: Infinity, rules: [{ match: PACKED, reply: answer }] }, {}, { timeoutMs: 1000 });
    const first = await label.runMany(tickets, { executor, pack: 4 });
    expect(first.items.every((item) => !item.ok && item.error.code === 'TIMEOUT')).toBe(true);
    // The create may still be on its way when the deadline passes: it is let answer, and its job kept.
    await until(() => emulator.jobs.length > 0);
    expect(emulator.stats().jobs).toBe(1);
    emulator.finish(emulator.jobs[0]!.id);
    // Asked again with a deadline of its own, long enough for a busy machine: it only polls a finished job.
    const second = await label.runMany(tickets, { executor, pack: 4, timeoutMs: 60_000 });
    expect(second.items.map((item) => item.ok && item.output.label)).toEqual(['bug', 'billing', 'bug', 'billing']);
    expect(emulator.stats().jobs).toBe(1);
    expect(executor.metrics().recovery.resumed).toBe(1);
    expect(executor.metrics().costUsd).toBe(Number(emulator.jobs[0]!.amountUsd));
  });

  it('still asks items alone when the packed call provably made no job (429s to the end)', async () => {
    const { executor, emulator } = await rig({ faults: { rateLimit: 1, retryAfterSeconds: 0 } }, {}, { retry: { maxAttempts: 1 } });
    const result = await label.runMany(tickets.slice(0, 2), { executor, pack: 2 });
    expect(result.items.every((item) => !item.ok && item.error.code === 'RATE_LIMITED')).toBe(true);
    expect(emulator.stats().creates).toBe(3); // the packed one, then one per item
    expect(emulator.stats().jobs).toBe(0);
  });
});
