import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { createCoordinator } from '../src/coordinator/coordinator.js';
import type { Plan } from '../src/coordinator/plan.js';
import { rig, until } from './helpers.js';

/**
 * A coordinator step with `onError: 'retry'` runs its agent again after a failure. It must
 * never pay twice for it: not after a create whose answer was lost (the job may exist),
 * not after a timeout (the job exists and is re-attached to), and after an unreadable
 * answer it must really ask again (the result cache would hand back the same answer).
 */
const summarise = defineAgent({
  name: 'summarise',
  description: 'Summarises a text in a few words.',
  input: z.object({ text: z.string() }),
  output: z.object({ summary: z.string() }),
  instructions: 'SUMMARISE the text in a few words.',
});
const plan = (text: string): Plan => ({ steps: [{ id: 's', agent: 'summarise', input: { text }, onError: 'retry' }], output: 's' });

describe('coordinator: a step retry never pays twice', () => {
  it('does not run a step again whose create answer was lost (the job may exist)', async () => {
    const { executor, emulator } = await rig({ rules: [{ match: 'lost answer', reply: { text: '{"summary":"x"}', dropCreate: true } }] });
    const coordinator = createCoordinator({ executor, agents: [summarise] });
    const error = await coordinator.execute(plan('lost answer')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STEP_FAILED', cause: expect.objectContaining({ code: 'CREATE_AMBIGUOUS' }) });
    expect(emulator.stats().jobs).toBe(1);
    expect(emulator.stats().creates).toBe(1);
    // The ledger has the one job the server made.
    expect(executor.metrics().jobs).toBe(0); // its id never came back...
    expect(emulator.jobs[0]!.answered).toBe(false); // ...because its answer was lost: reported, not paid again
  });

  it('re-attaches a timed-out step to its job: one job, booked once, and the run pays for it once', async () => {
    // A deadline long enough for a retry that only polls a finished job, on a busy machine too.
    const { executor, emulator } = await rig({ latencyMs: Infinity, rules: [{ match: 'held job', reply: '{"summary":"held"}' }] }, {}, { timeoutMs: 1500 });
    // The job is finished only once the first attempt has timed out (and the job exists: its
    // create may still be on its way): the retry can only get it by re-attaching.
    executor.events.on('call-error', (e) => {
      if (e.error.code === 'TIMEOUT') void until(() => emulator.jobs.length > 0).then(() => emulator.finish(emulator.jobs[0]!.id));
    });
    const resumed: string[] = [];
    executor.events.on('job-resumed', (e) => resumed.push(e.jobId));
    const coordinator = createCoordinator({ executor, agents: [summarise] });
    const run = await coordinator.execute(plan('held job'));
    expect(run.output).toEqual({ summary: 'held' });
    expect(run.retries).toBe(1);
    expect(emulator.stats().jobs).toBe(1);
    expect(resumed).toEqual([emulator.jobs[0]!.id]);
    const billed = Number(emulator.jobs[0]!.amountUsd);
    expect(executor.metrics().costUsd).toBe(billed);
    expect(run.costUsd).toBe(billed);
  });

  it('asks again after an unreadable answer instead of reading it back from the cache', async () => {
    let creates = 0;
    const { executor, emulator } = await rig({
      rules: [{ match: 'flaky model', reply: () => (++creates <= 2 ? 'I cannot answer that in JSON.' : '{"summary":"third time"}') }],
    });
    const coordinator = createCoordinator({ executor, agents: [summarise] });
    const run = await coordinator.execute(plan('flaky model'));
    expect(run.output).toEqual({ summary: 'third time' });
    expect(run.retries).toBe(1);
    expect(emulator.stats().jobs).toBe(3); // two unreadable (the agent's own re-ask), one more for the step retry
    expect(executor.metrics().cached).toBe(0);
  });

  it("re-attaches a step whose job outlived the provider's maxJobWaitMs, also on an executor without cache or dedup (no second job)", async () => {
    for (const executorOptions of [{}, { cache: false, dedupe: false }] as const) {
      const { executor, emulator } = await rig(
        { latencyMs: Infinity, rules: [{ match: 'long job', reply: '{"summary":"never"}' }] },
        { maxJobWaitMs: 200 },
        executorOptions,
      );
      const resumed: string[] = [];
      executor.events.on('job-resumed', (e) => resumed.push(e.jobId));
      const coordinator = createCoordinator({ executor, agents: [summarise] });
      const error = await coordinator.execute(plan('long job')).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STEP_FAILED', cause: expect.objectContaining({ code: 'TIMEOUT' }) });
      expect(emulator.stats().jobs).toBe(1); // the retry waited for the same job again
      expect(resumed).toEqual([emulator.jobs[0]!.id]);
    }
  });
});
