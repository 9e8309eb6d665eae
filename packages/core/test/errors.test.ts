import { describe, expect, it } from 'vitest';
import { validatePlan } from '../src/coordinator/plan.js';
import * as errors from '../src/errors.js';
import {
  AbortError,
  abortError,
  ERROR_CATALOGUE,
  type Fault,
  InternalError,
  JobFailedError,
  NetworkError,
  PlanError,
  ProtocolError,
  RetriesExhaustedError,
  ServerError,
  ShoalConfigError,
  ShoalError,
  type ShoalErrorCode,
  StepFailedError,
  StructuredOutputError,
  TimeoutError,
  toShoalError,
} from '../src/errors.js';
import { abortErrorOf } from '../src/providers/types.js';

const FAULTS: readonly Fault[] = ['caller', 'model', 'service', 'network', 'shoal'];

/** Every error class exported, by name. */
const classes = Object.entries(errors).filter(
  (entry): entry is [string, typeof ShoalError] => typeof entry[1] === 'function' && entry[1].prototype instanceof ShoalError,
);

describe('the errors catalogue', () => {
  it('names one exported class per code, and every exported class has a code', () => {
    const named = Object.values(ERROR_CATALOGUE)
      .map((entry) => entry.className)
      .sort();
    expect(classes.map(([name]) => name).sort()).toEqual(named);
  });

  it('gives every code a fault from the five', () => {
    for (const entry of Object.values(ERROR_CATALOGUE)) expect(FAULTS).toContain(entry.fault);
  });

  it('lets each class recognise its own code and no other', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE) as [ShoalErrorCode, (typeof ERROR_CATALOGUE)[ShoalErrorCode]][]) {
      // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the catalogue names each class; the test finds it by that name
      const Class = errors[entry.className as keyof typeof errors] as typeof ShoalError;
      expect(Class.isInstance(new ShoalError(code, 'x', false)), code).toBe(true);
      expect(Class.isInstance(new ShoalError(code === 'INTERNAL' ? 'ABORTED' : 'INTERNAL', 'x', false)), code).toBe(false);
    }
  });
});

describe('fault', () => {
  it("is the code's fault on every error, and shows in toJSON", () => {
    expect(new ShoalConfigError('bad option').fault).toBe('caller');
    expect(new ServerError('5xx', '', {}).fault).toBe('service');
    expect(new NetworkError('reset', {}).fault).toBe('network');
    expect(new TimeoutError('late').fault).toBe('caller');
    expect(new InternalError('bug').fault).toBe('shoal');
    expect(new StructuredOutputError('a', 'text', [], 2).fault).toBe('model');
    expect(new ShoalError('JOB_FAILED', 'x', true).toJSON()).toMatchObject({ code: 'JOB_FAILED', fault: 'service' });
  });

  it("of retries exhausted is the last attempt's", () => {
    expect(new RetriesExhaustedError([new ServerError('5xx', '', {}), new NetworkError('reset', {})]).fault).toBe('network');
    expect(new RetriesExhaustedError([]).fault).toBe('service');
  });

  it("of a plan error is the planner's (model) or yours (a plan you gave)", () => {
    expect(new PlanError([], undefined, 3).fault).toBe('model');
    expect(new PlanError([], undefined, 0).fault).toBe('caller');
  });

  it("of a failed step is its error's, and the model's for a final output that does not fit", () => {
    expect(new StepFailedError('s', new ShoalConfigError('x'), {}, 0).fault).toBe('caller');
    expect(new StepFailedError('s', new Error('its output does not fit'), {}, 0).fault).toBe('model');
  });

  it("falls back to the code's when a foreign copy's error carries none", () => {
    const foreign = Object.assign(new Error('old copy'), { code: 'JOB_FAILED', [Symbol.for('shoal.error')]: true });
    expect(new StepFailedError('s', foreign, {}, 0).fault).toBe('model');
  });
});

describe('toShoalError', () => {
  it('returns a shoal error as it is', () => {
    const error = new JobFailedError('failed', 3, undefined, {});
    expect(toShoalError(error)).toBe(error);
  });

  it('wraps any other throw as INTERNAL (fault shoal, not retried), naming who threw and keeping the cause', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'text')");
    const wrapped = toShoalError(bug, 'the provider');
    expect(InternalError.isInstance(wrapped)).toBe(true);
    expect(wrapped).toMatchObject({ code: 'INTERNAL', fault: 'shoal', retryable: false, cause: bug });
    expect(wrapped.message).toBe("The provider threw an unexpected error: Cannot read properties of undefined (reading 'text')");
    expect(toShoalError('a string').message).toBe('Shoal threw an unexpected error: a string');
  });
});

describe('abortError', () => {
  const aborted = (reason?: unknown) => {
    const controller = new AbortController();
    controller.abort(reason);
    return controller.signal;
  };

  it("returns the signal's reason when it is a shoal error (a timeout, the budget)", () => {
    const timeout = new TimeoutError('late');
    expect(abortError(aborted(timeout))).toBe(timeout);
  });

  it("says a ShortAPI job keeps running, and that a chat completion's request was cancelled", () => {
    const shortApi = abortError(aborted(), { provider: { name: 'shortapi', cancelsWork: false } });
    expect(AbortError.isInstance(shortApi)).toBe(true);
    expect(shortApi.message).toBe(
      'The call was aborted. A job already created keeps running on the server (and is paid): the `shortapi` provider cannot cancel a job.',
    );
    const chat = abortError(aborted(), { provider: { name: 'openai-compatible', cancelsWork: true } });
    expect(chat.message).toBe('The call was aborted. The `openai-compatible` provider cancelled its request, so the work stopped there.');
    expect(chat.message).not.toMatch(/keeps running|ShortAPI/i);
  });

  it('names what was stopped and why, and keeps the reason as the cause', () => {
    const reason = new Error('user left');
    const error = abortError(aborted(reason), { what: 'run' });
    expect(error.message).toBe('The run was aborted (user left).');
    expect(error.cause).toBe(reason);
    expect(error.fault).toBe('caller');
  });

  it('is what a provider throws, worded by that provider', () => {
    const make = abortErrorOf(aborted(), { name: 'shortapi', cancelsWork: false });
    expect(make().message).toMatch(/cannot cancel a job/);
    expect(abortErrorOf(aborted())().message).toBe('The call was aborted.');
  });
});

describe('issues', () => {
  it('of a plan have a code and a path into the plan, and the message still reads by step', () => {
    const checked = validatePlan({ steps: [{ id: 'fetch', agent: 'x', input: {} }], output: 'y' }, () => undefined);
    if (checked.ok) throw new Error('the plan should not be valid');
    expect(checked.issues).toEqual([
      { code: 'unknown_agent', path: ['steps', 'fetch', 'agent'], message: expect.stringMatching(/^unknown agent `x`/), step: 'fetch' },
      { code: 'missing_step', path: ['output'], message: 'output names a missing step `y`', step: undefined },
    ]);
    const error = new PlanError(checked.issues, {}, 0);
    expect(error.issues).toBe(checked.issues);
    expect(error.message).toMatch(
      /^The plan is not valid: step `fetch`: unknown agent `x` .*; output names a missing step `y`\. Fix what is named above and pass the plan to execute\(\) again\.$/,
    );
  });

  it('of a protocol error are data, not strings', () => {
    const error = new ProtocolError('does not fit', '{}', [{ code: 'invalid_type', path: ['data', 'job_id'], message: 'Required' }], false, {});
    expect(error.issues[0]).toEqual({ code: 'invalid_type', path: ['data', 'job_id'], message: 'Required' });
  });

  it('are formatted by path, the first five and a count', () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ code: 'too_small', path: ['items', i], message: 'Too small' }));
    expect(errors.formatIssues(many)).toBe('items.0: Too small; items.1: Too small; items.2: Too small; items.3: Too small; items.4: Too small; and 2 more');
    expect(errors.formatIssues([{ code: 'invalid_json', path: [], message: 'not JSON' }])).toBe('(root): not JSON');
  });
});
