import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AbortError,
  AgentInputError,
  ApiError,
  AuthError,
  BudgetExceededError,
  createCoordinator,
  createExecutor,
  defineAgent,
  type Executor,
  ExecutorClosedError,
  type ExecutorOptions,
  type Plan,
  PlanError,
  ProtocolError,
  ShoalConfigError,
  ShoalError,
  type ShoalErrorCode,
  type ShortApiOptions,
  type ShortApiProvider,
  StructuredOutputError,
  shortApi,
} from '@shoal/core';
import { type EmulatorOptions, type EmulatorReply, type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { until } from './helpers/until.js';

/**
 * Issue 6, part 3: hostile or broken input at every door shoal has, one row each. A row
 * names the input, the error it must give (class, code, and the words that tell the user
 * what to do), or for a callback the HTTP status its sender gets, and how many jobs the
 * server may have made for it: 0 means nothing was spent. After every row the ledger must
 * hold exactly what the server billed (nothing spent unseen, nothing lost) and no job may
 * have been made twice.
 */

const labeler = defineAgent({
  name: 'labeler',
  description: 'Labels a text.',
  input: z.object({ text: z.string().min(1) }),
  output: z.object({ label: z.string() }),
  instructions: 'LABEL the text.',
});
const strictLabeler = defineAgent({
  name: 'strict-labeler',
  description: 'Labels a text, taking nothing else.',
  input: z.strictObject({ text: z.string() }),
  output: z.object({ label: z.string() }),
  instructions: 'LABEL the text strictly.',
});
const lister = defineAgent({
  name: 'lister',
  description: 'Lists the words of a text.',
  input: z.object({ text: z.string() }),
  output: z.object({ items: z.array(z.string()) }),
  instructions: 'LIST the words.',
});
const agents = [labeler, strictLabeler, lister];
const PLANNER = "You are shoal's planner";

/** What one row sees: a server (the emulator, or a raw one that answers the wrong shape), and executors pointed at it. */
interface Door {
  readonly url: string;
  readonly apiKey: string;
  /** Null when the row runs against a raw server. */
  readonly emulator: ShortApiEmulator | null;
  /** The row's default executor (callback rows: the provider takes callbacks). */
  readonly executor: Executor;
  readonly provider: ShortApiProvider;
  /** Another executor on the same server, counted in the ledger check. */
  executorWith(options: Omit<ExecutorOptions, 'provider'>, provider?: Partial<ShortApiOptions>): Executor;
}

type Expected = { readonly error: (value: unknown) => boolean; readonly code: ShoalErrorCode; readonly message: RegExp } | { readonly status: number };

interface Row {
  readonly door: string;
  readonly input: string;
  readonly expected: Expected;
  /** Jobs the server made (and billed) for this row. */
  readonly jobs: number;
  readonly emulator?: EmulatorOptions;
  /** Answers the create and query requests instead of the emulator: the wrong shapes. */
  readonly server?: { readonly create: string | ((n: number) => RawAnswer); readonly query?: string };
  readonly provider?: Partial<ShortApiOptions>;
  /** Returns what the door gave back: a thrown error, or a callback's HTTP status. */
  readonly act: (door: Door) => Promise<unknown>;
  /** Further checks of this row's own. */
  readonly also?: (door: Door, outcome: unknown) => void | Promise<void>;
}

type RawAnswer = { readonly status: number; readonly body: string };

/** The rejection of `work` (a row expects one: a fulfilment fails the row). */
async function rejection(work: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, got none');
}

/** A callback row's outcome: the status its sender got. */
interface Delivered {
  readonly status: number;
}

/** POSTs to a URL on 127.0.0.1 (as the server, or a forger, would) and returns the status. */
function deliver(url: string, body: string | Buffer, method = 'POST'): Promise<Delivered> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    // A receiver refusing an oversized body may close before reading it all.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve({ status: 413 }) : reject(error)));
    req.end(body);
  });
}

/** The first job the emulator made (waits for it; a job never made fails by the test's timeout). */
async function firstJob(emulator: ShortApiEmulator) {
  await until(() => emulator.jobs.length > 0);
  return emulator.jobs[0]!;
}

/** Starts a call on a callback provider, delivers `body` to its job's callback URL (or to `to(url)`), then lets the call finish. */
async function forge(door: Door, body: string | Buffer, to: (url: string) => string = (url) => url, method = 'POST'): Promise<Delivered> {
  const pending = door.executor.complete({ prompt: 'cb real' });
  const job = await firstJob(door.emulator!);
  const delivered = await deliver(to(job.callbackUrl!), body, method);
  const result = await pending;
  // Nothing was lost: the call still got its own answer, by polling when no callback came.
  expect(result.text).toBe('the real answer');
  expect(result.jobId).toBe(job.id);
  return delivered;
}

const callbackRow = {
  jobs: 1,
  emulator: { latencyMs: 300, faults: { dropCallback: 1 }, rules: [{ match: 'cb real', reply: 'the real answer' }] },
  provider: { callback: { deadlineMs: 500 } },
} as const;

const plan = (steps: unknown[], output = 'a') => ({ steps, output }) as Plan;
const step = (id: string, agent: string, input: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id, agent, input, ...extra });
const run = (door: Door) => ({ executor: door.executor });
const coordinator = (door: Door, options: Record<string, unknown> = {}) => createCoordinator({ executor: door.executor, agents, ...options });
const modelAnswer = (reply: string) => ({ rules: [{ match: 'LABEL', reply }] });
/** A model-answer row: the labeler gets `reply` to its question and to the re-ask, then gives up. */
const badAnswer = (input: string, reply: EmulatorReply | string, message: RegExp, also?: Row['also']): Row => ({
  door: 'model answer',
  input,
  expected: { error: StructuredOutputError.isInstance, code: 'STRUCTURED_OUTPUT_INVALID', message },
  jobs: 2,
  emulator: { rules: [{ match: 'LABEL', reply }] },
  act: (door) => rejection(labeler.run({ text: 'a' }, run(door))),
  ...(also ? { also } : {}),
});
const envelope = (data: unknown) => JSON.stringify({ code: 0, data });
const CREATED = envelope({ job_id: 'job-raw-1', amount: '0.001' });

const rows: Row[] = [
  // ---- agent inputs ----
  {
    door: 'agent.run',
    input: 'input missing a required field',
    expected: {
      error: AgentInputError.isInstance,
      code: 'AGENT_INPUT_INVALID',
      message: /`labeler` does not match its schema \(nothing was sent\): text: Invalid input: expected string, received undefined/,
    },
    jobs: 0,
    act: (door) => rejection(labeler.run({} as never, run(door))),
  },
  {
    door: 'agent.run',
    input: 'input of the wrong type',
    expected: { error: AgentInputError.isInstance, code: 'AGENT_INPUT_INVALID', message: /text: Invalid input: expected string, received number/ },
    jobs: 0,
    act: (door) => rejection(labeler.run({ text: 42 } as never, run(door))),
  },
  {
    door: 'agent.run',
    input: 'null as input',
    expected: { error: AgentInputError.isInstance, code: 'AGENT_INPUT_INVALID', message: /\(root\): Invalid input: expected object, received null/ },
    jobs: 0,
    act: (door) => rejection(labeler.run(null as never, run(door))),
  },
  {
    door: 'agent.run',
    input: 'a field the strict schema does not take',
    expected: { error: AgentInputError.isInstance, code: 'AGENT_INPUT_INVALID', message: /Unrecognized key: "extra"/ },
    jobs: 0,
    act: (door) => rejection(strictLabeler.run({ text: 'a', extra: 1 } as never, run(door))),
  },
  {
    door: 'agent.run',
    input: 'an empty string where min(1) applies',
    expected: { error: AgentInputError.isInstance, code: 'AGENT_INPUT_INVALID', message: /text: Too small/ },
    jobs: 0,
    act: (door) => rejection(labeler.run({ text: '' }, run(door))),
  },
  {
    door: 'agent.run',
    input: 'no executor',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /labeler\.run\(\) needs \{ executor \}: create one with createExecutor/ },
    jobs: 0,
    act: () => rejection(labeler.run({ text: 'a' }, {} as never)),
  },
  {
    door: 'agent.run',
    input: 'a run budget of 0',
    expected: { error: BudgetExceededError.isInstance, code: 'BUDGET_EXCEEDED', message: /budget of \$0 allows no spending, so no call was made/ },
    jobs: 0,
    act: (door) => rejection(labeler.run({ text: 'a' }, { ...run(door), budgetUsd: 0 })),
  },
  {
    door: 'agent.run',
    input: 'a negative run budget',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /Expected `budgetUsd` to be a number from 0 and up, got `-1`/ },
    jobs: 0,
    act: (door) => rejection(labeler.run({ text: 'a' }, { ...run(door), budgetUsd: -1 })),
  },
  {
    door: 'agent.run',
    input: 'a timeout of 0 ms',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /Expected `timeoutMs` to be a number from 1 and up/ },
    jobs: 0,
    act: (door) => rejection(labeler.run({ text: 'a' }, { ...run(door), timeoutMs: 0 })),
  },
  {
    door: 'agent.run',
    input: 'a signal aborted before the call',
    expected: { error: AbortError.isInstance, code: 'ABORTED', message: /The call was aborted/ },
    jobs: 0,
    act: (door) => rejection(labeler.run({ text: 'a' }, { ...run(door), signal: AbortSignal.abort() })),
  },
  {
    door: 'agent.runMany',
    input: 'one input of five missing its schema',
    expected: { error: AgentInputError.isInstance, code: 'AGENT_INPUT_INVALID', message: /nothing was sent/ },
    jobs: 4,
    emulator: modelAnswer('{"label":"fine"}'),
    act: async (door) => {
      const result = await labeler.runMany([{ text: 'a' }, { text: 'b' }, { text: 3 } as never, { text: 'd' }, { text: 'e' }], run(door));
      // The other four were answered, each in its place.
      expect(result.items.map((item) => item.ok)).toEqual([true, true, false, true, true]);
      return (result.items[2] as { error: unknown }).error;
    },
  },
  {
    door: 'agent.runMany',
    input: 'inputs that are not an array',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /labeler\.runMany\(\) takes an array of inputs/ },
    jobs: 0,
    act: (door) => rejection(labeler.runMany({ text: 'a' } as never, run(door))),
  },
  {
    door: 'agent.runMany',
    input: 'a pack size of 0',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /Expected `pack` to be an integer from 1 and up, got `0`/ },
    jobs: 0,
    act: (door) => rejection(labeler.runMany([{ text: 'a' }], { ...run(door), pack: 0 })),
  },
  {
    door: 'defineAgent',
    input: 'an example whose output misses the output schema',
    expected: {
      error: ShoalConfigError.isInstance,
      code: 'CONFIG_INVALID',
      message: /agent `bad-example`: example 1's output does not match the output schema: label/,
    },
    jobs: 0,
    act: () =>
      rejection(() =>
        defineAgent({
          name: 'bad-example',
          description: 'x',
          input: z.object({ text: z.string() }),
          output: z.object({ label: z.string() }),
          instructions: 'x',
          examples: [{ input: { text: 'a' }, output: { label: 1 } as never }],
        }),
      ),
  },
  {
    door: 'defineAgent',
    input: 'a name with spaces and capitals',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /Agent name "Bad Name" is not valid: use lower-case letters/ },
    jobs: 0,
    act: () => rejection(() => defineAgent({ name: 'Bad Name', description: 'x', input: z.object({}), output: z.object({}), instructions: 'x' })),
  },
  {
    door: 'defineAgent',
    input: 'an output that is not a zod schema',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /agent `no-schema`: `output` must be a zod \(v4\) schema/ },
    jobs: 0,
    act: () =>
      rejection(() => defineAgent({ name: 'no-schema', description: 'x', input: z.object({}), output: { type: 'object' } as never, instructions: 'x' })),
  },

  // ---- the executor ----
  {
    door: 'createExecutor',
    input: 'a concurrency of 0',
    expected: {
      error: ShoalConfigError.isInstance,
      code: 'CONFIG_INVALID',
      message: /Expected `concurrency` to be an integer from 1 and up, got `0` \(number\)/,
    },
    jobs: 0,
    act: (door) => rejection(() => door.executorWith({ concurrency: 0 })),
  },
  {
    door: 'createExecutor',
    input: 'a concurrency given as a string',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /got `"8"` \(string\)/ },
    jobs: 0,
    act: (door) => rejection(() => door.executorWith({ concurrency: '8' as never })),
  },
  {
    door: 'createExecutor',
    input: 'a misspelt option',
    expected: {
      error: ShoalConfigError.isInstance,
      code: 'CONFIG_INVALID',
      message: /Unknown option `concurency` in createExecutor\(\)\. Did you mean `concurrency`\?/,
    },
    jobs: 0,
    act: (door) => rejection(() => door.executorWith({ concurency: 4 } as never)),
  },
  {
    door: 'createExecutor',
    input: 'a budget of NaN',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /Expected `budgetUsd` to be a number from 0 and up, got `NaN`/ },
    jobs: 0,
    act: (door) => rejection(() => door.executorWith({ budgetUsd: Number.NaN })),
  },
  {
    door: 'createExecutor',
    input: 'a budget of 0',
    expected: {
      error: BudgetExceededError.isInstance,
      code: 'BUDGET_EXCEEDED',
      message: /budget of \$0 allows no spending, so no call was made\. Set `budgetUsd` above 0/,
    },
    jobs: 0,
    act: (door) => rejection(door.executorWith({ budgetUsd: 0 }).complete({ prompt: 'LABEL x' })),
  },
  {
    door: 'executor.complete',
    input: 'a request without a prompt',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /complete\(\) takes \{ prompt: string, args\? \}, got an object/ },
    jobs: 0,
    act: (door) => rejection(door.executor.complete({} as never)),
  },
  {
    door: 'executor.complete',
    input: 'an empty (white-space) prompt',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /empty prompt: there is nothing to ask/ },
    jobs: 0,
    act: (door) => rejection(door.executor.complete({ prompt: ' \n ' })),
  },
  {
    door: 'executor.complete',
    input: 'args that are a string, not an object',
    expected: {
      error: ShoalConfigError.isInstance,
      code: 'CONFIG_INVALID',
      message: /Expected `args` to be an object of model arguments, got `"temperature=0"` \(string\)/,
    },
    jobs: 0,
    act: (door) => rejection(door.executor.complete({ prompt: 'LABEL x', args: 'temperature=0' as never })),
  },
  {
    door: 'executor.complete',
    input: 'a priority of NaN',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /Expected `priority` to be a finite number, got `NaN`/ },
    jobs: 0,
    act: (door) => rejection(door.executor.complete({ prompt: 'LABEL x' }, { priority: Number.NaN })),
  },
  {
    door: 'executor.complete',
    input: 'a call after close()',
    expected: { error: ExecutorClosedError.isInstance, code: 'EXECUTOR_CLOSED', message: /The executor is closed: create a new one/ },
    jobs: 0,
    act: async (door) => {
      const executor = door.executorWith({});
      await executor.close();
      return rejection(executor.complete({ prompt: 'LABEL x' }));
    },
  },

  // ---- the key ----
  {
    door: 'shortApi',
    input: 'no key (no apiKey, no SHORTAPI_KEY)',
    expected: {
      error: ShoalConfigError.isInstance,
      code: 'CONFIG_INVALID',
      message: /No ShortAPI key: pass `apiKey` to shortApi\(\) or set the SHORTAPI_KEY environment variable/,
    },
    jobs: 0,
    act: (door) => {
      const saved = process.env.SHORTAPI_KEY;
      delete process.env.SHORTAPI_KEY;
      try {
        return rejection(() => shortApi({ baseURL: door.url }));
      } finally {
        if (saved !== undefined) process.env.SHORTAPI_KEY = saved;
      }
    },
    also: (door) => expect(door.emulator!.stats()).toMatchObject({ creates: 0, queries: 0, unauthorized: 0 }),
  },
  {
    door: 'shortApi',
    input: 'a key with white space in it',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /The ShortAPI key contains white space: check how SHORTAPI_KEY was set/ },
    jobs: 0,
    act: (door) => rejection(() => shortApi({ apiKey: 'sk-bad key-123456', baseURL: door.url })),
  },
  {
    door: 'shortApi',
    input: 'a wrong key',
    expected: { error: AuthError.isInstance, code: 'AUTH_FAILED', message: /ShortAPI refused the key \(HTTP 401\) on create: check SHORTAPI_KEY/ },
    jobs: 0,
    emulator: { apiKey: 'sk-the-right-key-0000' },
    act: (door) => rejection(door.executorWith({}, { apiKey: 'sk-a-wrong-key-00000' }).complete({ prompt: 'LABEL x' })),
    // Not retried: one request, refused.
    also: (door) => expect(door.emulator!.stats().unauthorized).toBe(1),
  },

  // ---- plans ----
  {
    door: 'coordinator.execute',
    input: 'a plan with a cycle',
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /The plan is not valid: the steps `a`, `b` depend on each other in a cycle/ },
    jobs: 0,
    act: (door) =>
      rejection(coordinator(door).execute(plan([step('a', 'labeler', { text: { $ref: 'b.label' } }), step('b', 'labeler', { text: { $ref: 'a.label' } })]))),
  },
  {
    door: 'coordinator.execute',
    input: 'a plan naming an unknown agent',
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /step `a`: unknown agent `nobody` \(known: labeler, lister, strict-labeler\)/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(plan([step('a', 'nobody', { text: 'x' })]))),
  },
  {
    door: 'coordinator.execute',
    input: 'a reference to a missing step',
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /step `a`: input\.text refers to a missing step `ghost`/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(plan([step('a', 'labeler', { text: { $ref: 'ghost.label' } })]))),
  },
  {
    door: 'coordinator.execute',
    input: 'a malformed reference',
    expected: {
      error: PlanError.isInstance,
      code: 'PLAN_INVALID',
      message: /"a\.\.label" is not a reference \(write "step" or "step\.path\.to\[0\]\.field"\)/,
    },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(plan([step('a', 'labeler', { text: 'x' }), step('b', 'labeler', { text: { $ref: 'a..label' } })], 'b'))),
  },
  {
    door: 'coordinator.execute',
    input: 'a reference to a path the output does not have',
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /`a`'s output has no path \.colour/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(plan([step('a', 'labeler', { text: 'x' }), step('b', 'labeler', { text: { $ref: 'a.colour' } })], 'b'))),
  },
  {
    door: 'coordinator.execute',
    input: 'a forEach over something that is not an array',
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /forEach must refer to an array; a\.label is string/ },
    jobs: 0,
    act: (door) =>
      rejection(
        coordinator(door).execute(
          plan([step('a', 'labeler', { text: 'x' }), step('b', 'labeler', { text: { $item: '' } }, { forEach: { $ref: 'a.label' } })], 'b'),
        ),
      ),
  },
  {
    door: 'coordinator.execute',
    input: 'two steps with one id',
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /step `a`: the id is used by two steps/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(plan([step('a', 'labeler', { text: 'x' }), step('a', 'lister', { text: 'y' })]))),
  },
  {
    door: 'coordinator.execute',
    input: 'an output naming a missing step',
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /output names a missing step `z`/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(plan([step('a', 'labeler', { text: 'x' })], 'z'))),
  },
  {
    door: 'coordinator.execute',
    input: "a step input missing the agent's required field",
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /step `a`: input misses the required field `text` of agent `labeler`/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(plan([step('a', 'labeler', {})]))),
  },
  {
    door: 'coordinator.execute',
    input: 'null as the plan',
    expected: { error: PlanError.isInstance, code: 'PLAN_INVALID', message: /The plan is not valid: \(plan\): Invalid input: expected object, received null/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(null as never)),
  },
  {
    door: 'coordinator.run',
    input: 'an empty task',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /coordinator\.run\(\) needs a task: a non-empty string/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).run('')),
  },
  {
    door: 'coordinator.run',
    input: 'a run budget of 0',
    expected: { error: BudgetExceededError.isInstance, code: 'BUDGET_EXCEEDED', message: /budget of \$0 allows no spending/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).run('Label this.', { budgetUsd: 0 })),
  },
  {
    door: 'coordinator.run',
    input: 'a negative run budget',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /Expected `budgetUsd` to be a number from 0 and up, got `-1`/ },
    jobs: 0,
    act: (door) => rejection(coordinator(door).run('Label this.', { budgetUsd: -1 })),
  },
  {
    door: 'coordinator.execute',
    input: 'an unknown failure policy',
    expected: {
      error: ShoalConfigError.isInstance,
      code: 'CONFIG_INVALID',
      message: /Expected `onStepError` to be "retry", "skip" or "fail", got `"ignore"` \(string\)/,
    },
    jobs: 0,
    act: (door) => rejection(coordinator(door).execute(plan([step('a', 'labeler', { text: 'x' })]), { onStepError: 'ignore' as never })),
  },
  {
    door: 'coordinator.run',
    input: 'an output that is not a zod schema',
    expected: {
      error: ShoalConfigError.isInstance,
      code: 'CONFIG_INVALID',
      message: /Expected `output` to be a zod \(v4\) schema of the run's answer, got an object/,
    },
    jobs: 0,
    act: (door) => rejection(coordinator(door).run('Label this.', { output: { type: 'object' } as never })),
  },
  {
    door: 'createCoordinator',
    input: 'zero planner attempts',
    expected: { error: ShoalConfigError.isInstance, code: 'CONFIG_INVALID', message: /Expected `planAttempts` to be an integer from 1 and up, got `0`/ },
    jobs: 0,
    act: (door) => rejection(() => coordinator(door, { planAttempts: 0 })),
  },
  {
    door: 'coordinator.run',
    input: 'a planner that never answers a plan',
    expected: {
      error: PlanError.isInstance,
      code: 'PLAN_INVALID',
      message:
        /No valid plan after 3 attempts: \(plan\): no JSON object or array could be found.*What to try: pass a plan of your own to coordinator\.execute\(plan\)/,
    },
    // Three planner attempts, each asked twice (its answer re-asked once): all paid for, all booked.
    jobs: 6,
    emulator: { rules: [{ match: PLANNER, reply: 'I would rather not plan today.' }] },
    act: (door) => rejection(coordinator(door).run('Label this.')),
  },

  // ---- model answers (re-asked once, then a StructuredOutputError that keeps the raw answer) ----
  badAnswer(
    'an empty answer',
    '',
    /`labeler`: the model's answer did not fit the output schema after 2 attempts: \(root\): the answer is empty/,
    (_door, error) => expect((error as StructuredOutputError).text).toBe(''),
  ),
  badAnswer(
    'a huge answer (1 MB of prose)',
    { text: 'blah '.repeat(200_000), usage: { inputTokens: 100, outputTokens: 200_000 } },
    /after 2 attempts: \(root\): no JSON object or array could be found or repaired/,
    (door, error) => {
      expect((error as StructuredOutputError).text).toHaveLength(1_000_000);
      // The message stays short, and the re-ask quoted only the answer's start.
      expect((error as Error).message.length).toBeLessThan(300);
      expect(door.emulator!.jobs[1]!.prompt.length).toBeLessThan(door.emulator!.jobs[0]!.prompt.length + 5000);
    },
  ),
  badAnswer('an answer that is not JSON', 'The label is: positive.', /no JSON object or array could be found or repaired/, (_door, error) =>
    expect((error as StructuredOutputError).text).toBe('The label is: positive.'),
  ),
  badAnswer('JSON with a field of the wrong type', '{"label":["a","b"]}', /label: Invalid input: expected string, received array/, (door, error) => {
    expect((error as StructuredOutputError).issues[0]).toMatchObject({ path: ['label'] });
    // The re-ask stated the problem to the model.
    expect(door.emulator!.jobs[1]!.prompt).toContain('It does not match the schema: label: Invalid input');
  }),
  badAnswer('JSON of the wrong shape (an array)', '[1, 2, 3]', /\(root\): Invalid input: expected object, received array/),
  {
    door: 'model answer',
    input: 'an answer over the 8 MiB answer limit',
    expected: { error: ProtocolError.isInstance, code: 'PROTOCOL_ERROR', message: /ShortAPI query for job job_\w+: answer larger than 8388608 bytes/ },
    // The job is made and paid for; it is not made again, and its answer is fetched once.
    jobs: 1,
    emulator: { rules: [{ match: 'LABEL', reply: { text: 'x'.repeat(9 * 2 ** 20), usage: { inputTokens: 100, outputTokens: 10 } } }] },
    act: (door) => rejection(labeler.run({ text: 'a' }, run(door))),
    also: (door) => expect(door.emulator!.jobs[0]!.queries).toBe(1),
  },

  // ---- callbacks (the forger gets a 4xx; the call still gets its answer by polling) ----
  {
    ...callbackRow,
    door: 'callback',
    input: 'a forged token',
    expected: { status: 404 },
    act: (door) => forge(door, envelope({ status: 2, result: { text: 'forged' } }), (url) => url.replace(/[^/]+$/, 'forged-token-000000000000')),
    also: (door) => expect(door.provider.callbackStats).toMatchObject({ unknownToken: 1, accepted: 0 }),
  },
  {
    ...callbackRow,
    door: 'callback',
    input: 'an oversized body',
    expected: { status: 413 },
    act: (door) => forge(door, Buffer.alloc(1024 * 1024 + 1, 'a')),
    also: (door) => expect(door.provider.callbackStats).toMatchObject({ tooLarge: 1, accepted: 0 }),
  },
  {
    ...callbackRow,
    door: 'callback',
    input: 'a body that is not JSON',
    expected: { status: 400 },
    act: (door) => forge(door, '{"code":0,'),
    also: (door) => expect(door.provider.callbackStats).toMatchObject({ badJson: 1, accepted: 0 }),
  },
  {
    ...callbackRow,
    door: 'callback',
    input: 'a result for another job',
    expected: { status: 409 },
    act: (door) => forge(door, envelope({ job_id: 'job_someone_else', status: 2, result: { text: 'not yours' } })),
    also: (door) => expect(door.provider.callbackStats).toMatchObject({ wrongJob: 1, accepted: 0 }),
  },
  {
    ...callbackRow,
    door: 'callback',
    input: 'a GET instead of a POST',
    expected: { status: 405 },
    act: (door) => forge(door, '', (url) => url, 'GET'),
  },
  {
    ...callbackRow,
    door: 'callback',
    input: 'a body of the wrong shape (taken as a hint, checked by one query)',
    expected: { status: 202 },
    act: (door) => forge(door, JSON.stringify({ event: 'done', ok: true })),
    also: (door) => expect(door.provider.callbackStats).toMatchObject({ hints: 1, accepted: 0 }),
  },
  {
    door: 'callback',
    input: 'a replay of a callback already taken',
    expected: { status: 404 },
    jobs: 1,
    emulator: { latencyMs: 20, rules: [{ match: 'cb real', reply: 'the real answer' }] },
    provider: { callback: { deadlineMs: 5000 } },
    act: async (door) => {
      const result = await door.executor.complete({ prompt: 'cb real' });
      expect(result).toMatchObject({ text: 'the real answer', requests: 1 });
      const job = door.emulator!.jobs[0]!;
      return deliver(job.callbackUrl!, envelope({ job_id: job.id, status: 2, result: { text: 'replayed' } }));
    },
    also: (door) => expect(door.provider.callbackStats).toMatchObject({ accepted: 1, unknownToken: 1 }),
  },

  // ---- server answers of the wrong shape ----
  {
    door: 'server answer',
    input: 'a create answer without a job id',
    expected: {
      error: ProtocolError.isInstance,
      code: 'PROTOCOL_ERROR',
      message: /ShortAPI create answer does not fit the protocol: the create answer has no `data\.job_id`/,
    },
    // Not retried: a job may exist that shoal cannot see.
    jobs: 1,
    server: { create: envelope({ amount: '0.001' }) },
    act: (door) => rejection(door.executor.complete({ prompt: 'x' })),
  },
  {
    door: 'server answer',
    input: 'a create answered 200 with an HTML page',
    expected: { error: ProtocolError.isInstance, code: 'PROTOCOL_ERROR', message: /the answer is not JSON/ },
    jobs: 1,
    server: { create: '<html><body>Welcome to nginx!</body></html>' },
    act: (door) => rejection(door.executor.complete({ prompt: 'x' })),
  },
  {
    door: 'server answer',
    input: 'an answer without the {code, data} envelope',
    expected: { error: ProtocolError.isInstance, code: 'PROTOCOL_ERROR', message: /the answer has no `code` envelope/ },
    jobs: 1,
    server: { create: JSON.stringify({ job_id: 'job-raw-1' }) },
    act: (door) => rejection(door.executor.complete({ prompt: 'x' })),
  },
  {
    door: 'server answer',
    input: 'a create refused with a non-zero code',
    expected: { error: ApiError.isInstance, code: 'API_ERROR', message: /ShortAPI error code 1003 on create: insufficient balance/ },
    jobs: 1,
    server: { create: JSON.stringify({ code: 1003, msg: 'insufficient balance' }) },
    act: (door) => rejection(door.executor.complete({ prompt: 'x' })),
  },
  {
    door: 'server answer',
    input: 'a 404 on create (wrong base URL)',
    expected: { error: ApiError.isInstance, code: 'API_ERROR', message: /ShortAPI create answered HTTP 404/ },
    jobs: 1,
    server: { create: () => ({ status: 404, body: 'Not Found' }) },
    act: (door) => rejection(door.executor.complete({ prompt: 'x' })),
  },
  {
    door: 'server answer',
    input: 'a job status that is not a number',
    expected: {
      error: ProtocolError.isInstance,
      code: 'PROTOCOL_ERROR',
      message: /answer for job job-raw-1 does not fit the protocol: the job answer has no numeric `data\.status`/,
    },
    // The job was made and booked; its polls were retried, the job never made again.
    jobs: 1,
    server: { create: CREATED, query: envelope({ status: 'done', result: { text: 'x' } }) },
    act: (door) => rejection(door.executor.complete({ prompt: 'x' })),
  },
  {
    door: 'server answer',
    input: 'a finished job whose result holds no text',
    expected: { error: ProtocolError.isInstance, code: 'PROTOCOL_ERROR', message: /the job succeeded but its result holds no text in any known place/ },
    jobs: 1,
    server: { create: CREATED, query: envelope({ status: 2, result: { images: [{ url: 'https://example.invalid/a.png' }] } }) },
    act: (door) => rejection(door.executor.complete({ prompt: 'x' })),
  },
];

// ---- running the table ----

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** A raw server answering creates and queries as a row says, counting creates and the money its answers billed. */
async function rawServer(spec: NonNullable<Row['server']>) {
  let creates = 0;
  let billedPico = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const isCreate = req.url === '/api/v1/job/create';
      if (isCreate) creates++;
      const answer = isCreate
        ? typeof spec.create === 'function'
          ? spec.create(creates)
          : { status: 200, body: spec.create }
        : { status: 200, body: spec.query ?? '' };
      if (isCreate) billedPico += billed(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, creates: () => creates, billedPico: () => billedPico };
}

/** What a create answer bills: its amount, when it names a job (and so a job exists to pay for). */
function billed(body: string): number {
  try {
    const data = (JSON.parse(body) as { data?: { job_id?: unknown; amount?: string } }).data;
    return data?.job_id !== undefined && data.amount !== undefined ? pico(data.amount) : 0;
  } catch {
    return 0;
  }
}

const pico = (usd: string | number) => Math.round(Number(usd) * 1e12);

async function openDoor(row: Row) {
  const emulator = row.server ? null : await startShortApiEmulator({ latencyMs: 2, ...row.emulator });
  if (emulator) closers.push(() => emulator.close());
  const raw = row.server ? await rawServer(row.server) : undefined;
  const url = emulator?.url ?? raw!.url;
  const apiKey = emulator?.apiKey ?? 'sk-test-raw-00000000';
  const executors: Executor[] = [];
  const providers: ShortApiProvider[] = [];
  const executorWith = (options: Omit<ExecutorOptions, 'provider'>, provider: Partial<ShortApiOptions> = {}) => {
    const made = shortApi({ apiKey, baseURL: url, poll: { initialDelayMs: 2 }, ...row.provider, ...provider });
    providers.push(made);
    const executor = createExecutor({ provider: made, cache: false, retry: { baseDelayMs: 1, maxDelayMs: 5 }, random: () => 0, ...options });
    executors.push(executor);
    closers.push(() => executor.close({ drain: false }));
    return executor;
  };
  const executor = executorWith({});
  const door: Door = { url, apiKey, emulator, executor, provider: providers[0]!, executorWith };
  return {
    door,
    jobs: () => (emulator ? emulator.jobs.length : raw!.creates()),
    billedPico: () => (emulator ? emulator.jobs.filter((j) => j.answered).reduce((sum, j) => sum + pico(j.amountUsd), 0) : raw!.billedPico()),
    bookedPico: () => executors.reduce((sum, e) => sum + pico(e.metrics().costUsd), 0),
  };
}

describe('bad input at every door', () => {
  it('has a row for at least 30 inputs, across every door', () => {
    expect(rows.length).toBeGreaterThanOrEqual(30);
    expect(new Set(rows.map((r) => r.door.split('.')[0]))).toEqual(
      new Set([
        'agent',
        'defineAgent',
        'createExecutor',
        'executor',
        'shortApi',
        'coordinator',
        'createCoordinator',
        'model answer',
        'callback',
        'server answer',
      ]),
    );
  });

  it.each(rows.map((row) => [`${row.door}: ${row.input}`, row] as const))('%s', async (_name, row) => {
    const { door, jobs, billedPico, bookedPico } = await openDoor(row);
    const outcome = await row.act(door);
    const expected = row.expected;
    if ('status' in expected) {
      expect((outcome as Delivered).status).toBe(expected.status);
    } else {
      // A typed shoal error of the right class and code, whose message says what to do.
      expect(ShoalError.isInstance(outcome), String(outcome)).toBe(true);
      expect(expected.error(outcome)).toBe(true);
      expect((outcome as ShoalError).code).toBe(expected.code);
      expect((outcome as Error).message).toMatch(expected.message);
    }
    await row.also?.(door, outcome);
    // Nothing spent but the jobs this row names; every job billed is in the ledger, none made twice.
    expect(jobs()).toBe(row.jobs);
    expect(bookedPico()).toBe(billedPico());
    if (door.emulator) expect(door.emulator.stats().duplicateCreates).toBe(0);
  });
});
