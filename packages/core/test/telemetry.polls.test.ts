import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { createCoordinator } from '../src/coordinator/coordinator.js';
import type { JobPollEvent } from '../src/executor/events.js';
import { rig } from './helpers.js';

const echo = defineAgent({
  name: 'echo',
  description: 'Says a word back.',
  input: z.object({ word: z.string() }),
  output: z.object({ word: z.string() }),
  instructions: 'ECHO the word.',
});

describe("telemetry: poll spans from the executor's job-poll events", () => {
  it('puts each poll of a job under its model-job span, with its HTTP status', async () => {
    // The job runs until the test ends it, after its first poll found it pending: so at least two polls, whatever the machine's speed.
    const { executor, emulator } = await rig({ latencyMs: 600_000, rules: [{ match: 'ECHO', reply: '{"word":"hi"}' }] });
    const polls: JobPollEvent[] = [];
    const firstPoll = new Promise<void>((resolve) =>
      executor.events.on('job-poll', (event) => {
        polls.push(event);
        resolve();
      }),
    );
    const coordinator = createCoordinator({ executor, agents: [echo] });
    const flow = coordinator.flow();
    const answer = flow.run(echo, { word: 'hi' });
    await firstPoll;
    expect(emulator.finish(emulator.jobs[0]!.id)).toBe(true);
    expect(await answer).toEqual({ word: 'hi' });
    const { trace } = flow.result();
    flow.end();
    const job = trace.spans.find((span) => span.kind === 'model-job');
    expect(job).toBeDefined();
    const pollSpans = trace.spans.filter((span) => span.kind === 'poll');
    expect(pollSpans.length).toBeGreaterThan(1); // pending at least once, then done
    expect(pollSpans.length).toBe(emulator.stats().queries);
    expect(pollSpans.length).toBe(polls.length);
    expect(pollSpans.every((span) => span.parentId === job!.id && span.status === 'ok' && span.attributes.httpStatus === 200)).toBe(true);
    expect(polls.map((poll) => poll.poll)).toEqual(pollSpans.map((_, i) => i + 1));
    expect(polls.every((poll) => poll.jobId === emulator.jobs[0]!.id && poll.durationMs >= 0)).toBe(true);
  });
});
