import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { createCoordinator } from '../src/coordinator/coordinator.js';
import { ShoalConfigError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { checkCallOptions, checkRequest } from '../src/executor/options.js';
import { createRegistry, definePlugin } from '../src/plugins/plugin.js';
import { openAICompatible } from '../src/providers/openai-compatible.js';
import { GPT_5_4_NANO_PRICES, resolvePrices } from '../src/providers/prices.js';
import { PollSchedule } from '../src/providers/shortapi/poll-schedule.js';
import { shortApi } from '../src/providers/shortapi/shortapi.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';
import { closestName, editDistance } from '../src/util/did-you-mean.js';
import { checkOptions, describeNumberRule, option } from '../src/util/options.js';

const KEY = 'sk-options-test-key-0123456789';
const provider = scriptedProvider([{ reply: 'x' }]);

/** The ShoalConfigError `make` throws (fails the test when it throws something else, or nothing). */
function configError(make: () => unknown): ShoalConfigError {
  try {
    make();
  } catch (error) {
    expect(ShoalConfigError.isInstance(error), `not a ShoalConfigError: ${String(error)}`).toBe(true);
    return error as ShoalConfigError;
  }
  throw new Error('expected a ShoalConfigError, got none');
}

const executorError = (options: Record<string, unknown>) => configError(() => createExecutor({ provider, ...options } as never)).message;
const shortApiError = (options: Record<string, unknown>) =>
  configError(() => shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9', ...options } as never)).message;

describe('did you mean', () => {
  it.each([
    ['priorty', ['priority', 'signal', 'timeoutMs', 'tags', 'cache', 'spanId'], 'priority'],
    ['maxDelyMs', ['initialDelayMs', 'minDelayMs', 'maxDelayMs', 'targetQuantile'], 'maxDelayMs'],
    ['ambigousCreates', ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs', 'ambiguousCreates'], 'ambiguousCreates'],
    ['concurency', ['provider', 'concurrency', 'cache'], 'concurrency'],
    ['baseUrl', ['apiKey', 'baseURL', 'model'], 'baseURL'],
    ['budget', ['budgetUsd', 'pricing'], 'budgetUsd'],
    ['sync', ['path', 'synchronous'], 'synchronous'],
    ['maxDelayMS', ['maxDelayMs', 'minDelayMs'], 'maxDelayMs'],
  ])('%s -> %s', (word, known, expected) => {
    expect(closestName(word, known)).toBe(expected);
  });

  it('suggests nothing when nothing is close', () => {
    expect(closestName('colour', ['provider', 'concurrency', 'retry'])).toBeUndefined();
    expect(closestName('xy', ['x1y1z1'])).toBeUndefined();
  });

  it('counts a swap of neighbours as one edit, and stops early past the limit', () => {
    expect(editDistance('priorty', 'priority')).toBe(1);
    expect(editDistance('teh', 'the')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
  });

  it('finds typos in the first letters too, which the old prefix match missed', () => {
    expect(executorError({ cocnurrency: 4 })).toMatch(/^Unknown option `cocnurrency` in createExecutor\(\)\. Did you mean `concurrency`\?/);
    expect(executorError({ retry: { mxaDelayMs: 5 } })).toMatch(/^Unknown option `mxaDelayMs` in createExecutor\(\{ retry \}\)\. Did you mean `maxDelayMs`\?/);
  });
});

describe('the checks', () => {
  it.each([
    [{ min: 1, integer: true }, 'an integer from 1 and up'],
    [{ min: 0, max: 65535, integer: true }, 'an integer from 0 to 65535'],
    [{ above: 0, below: 1 }, 'a number above 0 and below 1'],
    [{ min: 0, below: 1 }, 'a number at least 0 and below 1'],
    [{ above: 0 }, 'a number above 0'],
    [{}, 'a finite number'],
    [{ min: 1, allowInfinity: true, note: 'Infinity for none' }, 'a number from 1 and up (Infinity for none)'],
  ])('describes %o as "%s"', (rule, text) => {
    expect(describeNumberRule(rule)).toBe(text);
  });

  it('refuses unknown keys with a suggestion and the known list, and names nested options by path', () => {
    const spec = { retry: option.object('f({ retry })', { maxAttempts: option.number({ min: 1, integer: true }) }), dedupe: option.boolean() };
    expect(configError(() => checkOptions('f()', { dedup: true }, spec)).message).toBe(
      'Unknown option `dedup` in f(). Did you mean `dedupe`? Known options: `retry`, `dedupe`.',
    );
    expect(configError(() => checkOptions('f()', { retry: { maxAttempts: 0 } }, spec)).message).toBe(
      'Expected `retry.maxAttempts` to be an integer from 1 and up, got `0` (number).',
    );
    expect(configError(() => checkOptions('f()', { retry: 3 }, spec)).message).toBe(
      'Expected `retry` to be an object of options (`maxAttempts`), got `3` (number).',
    );
    expect(configError(() => checkOptions('f()', 'x', spec)).message).toBe('f() takes one options object, got `"x"` (string).');
    // undefined is the same as leaving the option out.
    expect(checkOptions('f()', { dedupe: undefined, retry: undefined }, spec)).toEqual({ dedupe: undefined, retry: undefined });
  });

  it('explains a quoted boolean, suggests a misspelt value, and points at the bad element', () => {
    expect(configError(() => option.boolean()('dedupe', 'false')).message).toBe(
      'Expected `dedupe` to be true or false, got `"false"` (string). Write false without quotes: any non-empty string counts as true.',
    );
    expect(configError(() => option.oneOf(['auto', 'strict', 'prompt'])('mode', 'strct')).message).toBe(
      'Expected `mode` to be "auto", "strict" or "prompt", got `"strct"` (string). Did you mean "strict"?',
    );
    expect(configError(() => option.stringArray()('tags', ['a', 1])).message).toBe(
      'Expected `tags[1]` to be a string (`tags` is an array of strings), got `1` (number).',
    );
    expect(configError(() => option.stringRecord()('headers', { 'x-a': 1 })).message).toMatch(/Expected `headers\.x-a` to be a string/);
    expect(configError(() => option.signal()('signal', {})).message).toMatch(/Expected `signal` to be an AbortSignal/);
    expect(configError(() => option.string({ secret: true })('apiKey', 1234567890)).message).toBe(
      'Expected `apiKey` to be a string, got a value of type number.',
    );
  });
});

describe('createExecutor: every option checked', () => {
  it.each([
    [{ retry: { ambiguousCreates: 'false' } }, 'Expected `retry.ambiguousCreates` to be true or false, got `"false"` (string). Write false without quotes'],
    [{ retry: { ambigousCreates: true } }, 'Unknown option `ambigousCreates` in createExecutor({ retry }). Did you mean `ambiguousCreates`?'],
    [{ retry: { maxRetryAfterMs: Number.NaN } }, 'Expected `retry.maxRetryAfterMs` to be a number from 0 and up, got `NaN` (number).'],
    [{ retry: { maxRetryAfterMs: -1 } }, 'Expected `retry.maxRetryAfterMs` to be a number from 0 and up, got `-1` (number).'],
    [{ retry: { baseDelayMs: Infinity } }, 'Expected `retry.baseDelayMs` to be a number from 0 and up, got `Infinity` (number).'],
    [{ dedupe: 'no' }, 'Expected `dedupe` to be true or false, got `"no"` (string).'],
    [{ adaptiveConcurrency: 'true' }, 'Expected `adaptiveConcurrency` to be true or false, got `"true"` (string).'],
    [{ pricing: { inputPerMillionUsd: -0.2 } }, 'Expected `pricing.inputPerMillionUsd` to be a number from 0 and up, got `-0.2` (number).'],
    [{ pricing: { outputPerMillionUsd: Number.NaN } }, 'Expected `pricing.outputPerMillionUsd` to be a number from 0 and up, got `NaN` (number).'],
    [{ pricing: { inputPerMilionUsd: 0.2 } }, 'Unknown option `inputPerMilionUsd` in createExecutor({ pricing }). Did you mean `inputPerMillionUsd`?'],
    [{ rateLimit: { requestsPerMinute: 60, requestBurst: 0 } }, 'Expected `rateLimit.requestBurst` to be a number above 0, got `0` (number).'],
    [{ rateLimit: { tokenBurst: 100 } }, '`rateLimit.tokenBurst` sizes the bucket of `rateLimit.tokensPerMinute`, which is not set'],
    [{ rateLimit: { requestsPerMinut: 60 } }, 'Unknown option `requestsPerMinut` in createExecutor({ rateLimit }). Did you mean `requestsPerMinute`?'],
    [{ cache: { maxEntires: 10 } }, 'Unknown option `maxEntires` in createExecutor({ cache }). Did you mean `maxEntries`?'],
    [{ cache: 'yes' }, 'Expected `cache` to be true, false, { maxEntries } or a cache store with get() and set(), got `"yes"` (string).'],
    [{ cache: { get: () => undefined } }, 'Expected `cache` to be true, false, { maxEntries } or a cache store with get() and set(), got an object.'],
    [{ random: 42 }, 'Expected `random` to be a function returning a uniform number in [0, 1), such as Math.random, got `42` (number).'],
    [{ timeoutMs: 0 }, 'Expected `timeoutMs` to be a number from 1 and up (Infinity for none), got `0` (number).'],
    [{ budget: 5 }, 'Unknown option `budget` in createExecutor(). Did you mean `budgetUsd`?'],
  ])('%o', (options, message) => {
    expect(executorError(options)).toContain(message);
  });

  it('takes every valid option', () => {
    const executor = createExecutor({
      provider,
      concurrency: 4,
      rateLimit: { requestsPerMinute: 600, tokensPerMinute: 60_000, requestBurst: 5, tokenBurst: 5000, reservedOutputTokens: 100, adaptive: false },
      retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 10, maxRetryAfterMs: 0, ambiguousCreates: false },
      cache: { maxEntries: 5 },
      dedupe: false,
      budgetUsd: 1,
      pricing: { inputPerMillionUsd: 0, cachedInputPerMillionUsd: 0, outputPerMillionUsd: 2 },
      timeoutMs: Infinity,
      adaptiveConcurrency: false,
      random: Math.random,
      ...{ priority: undefined }, // an undefined value counts as absent, even under an unknown name
    } as never);
    expect(executor.metrics().budgetUsd).toBe(1);
  });

  it('a NaN price is a ShoalConfigError, not a RangeError from BigInt', () => {
    expect(configError(() => resolvePrices('createExecutor()', { cachedInputPerMillionUsd: Number.NaN }, GPT_5_4_NANO_PRICES, 'm')).message).toBe(
      'Expected `pricing.cachedInputPerMillionUsd` to be a number from 0 and up, got `NaN` (number).',
    );
  });
});

describe('complete(): the request and the call options', () => {
  it.each([
    [
      { priorty: 5 },
      'Unknown option `priorty` in complete(). Did you mean `priority`? Known options: `priority`, `signal`, `timeoutMs`, `tags`, `cache`, `spanId`.',
    ],
    [{ priority: Infinity }, 'Expected `priority` to be a finite number, got `Infinity` (number).'],
    [{ tags: 'triage' }, 'Expected `tags` to be an array of strings, got `"triage"` (string).'],
    [{ tags: ['a', 7] }, 'Expected `tags[1]` to be a string (`tags` is an array of strings), got `7` (number).'],
    [{ signal: { aborted: false } }, 'Expected `signal` to be an AbortSignal (from an AbortController), got an object.'],
    [{ cache: 'false' }, 'Expected `cache` to be true, false or "refresh", got `"false"` (string). Write false without quotes.'],
    [{ spanId: 12 }, 'Expected `spanId` to be a string, got `12` (number).'],
    [{ timeoutMs: -5 }, 'Expected `timeoutMs` to be a number from 1 and up (Infinity for none), got `-5` (number).'],
    ['fast', 'complete() takes its call options as an object'],
  ])('%o', async (options, message) => {
    const scripted = scriptedProvider([{ reply: 'x' }]);
    const executor = createExecutor({ provider: scripted });
    const error = await executor.complete({ prompt: 'hello' }, options as never).catch((e: unknown) => e);
    expect(ShoalConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(message);
    expect(scripted.calls).toHaveLength(0);
  });

  it.each([
    [
      { prompt: 'hi', temperature: 0 },
      "Unknown option `temperature` in complete()'s request. Known options: `prompt`, `args`, `output`. Model arguments (temperature, ...) go in `args`.",
    ],
    [{ prompt: 'hi', arg: {} }, 'Did you mean `args`?'],
    [{ prompt: 'hi', args: 'temperature=0' }, 'Expected `args` to be an object of model arguments, got `"temperature=0"` (string).'],
    [{ prompt: 'hi', output: { type: 'object' } }, 'Expected `output` to be an object { name: string, schema: JSON Schema object }, got an object.'],
  ])('%o', async (request, message) => {
    const scripted = scriptedProvider([{ reply: 'x' }]);
    const error = await createExecutor({ provider: scripted })
      .complete(request as never)
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain(message);
    expect(scripted.calls).toHaveLength(0);
  });

  it('valid options pass, "refresh" included; the checks return nothing', () => {
    const signal = new AbortController().signal;
    expect(checkCallOptions(undefined)).toBeUndefined();
    expect(checkCallOptions({ priority: -3, signal, timeoutMs: Infinity, tags: ['a'], cache: 'refresh', spanId: 's', tagz: undefined })).toBeUndefined();
    expect(checkRequest({ prompt: 'x', args: { temperature: 0 }, output: { name: 'n', schema: { type: 'object' } } })).toBeUndefined();
  });
});

describe('shortApi(): every option checked', () => {
  it.each([
    [
      { poll: { maxDelayMs: 0 } },
      'Expected `poll.maxDelayMs` to be a number from 2 and up (at least `poll.minDelayMs`, 2 by default), got `0` (number). It caps every wait between polls: a cap of 0 would poll in a busy loop',
    ],
    [{ poll: { minDelayMs: 50, maxDelayMs: 10 } }, 'Expected `poll.maxDelayMs` to be a number from 50 and up (at least `poll.minDelayMs`), got `10` (number).'],
    [{ poll: { maxDelyMs: 100 } }, 'Unknown option `maxDelyMs` in shortApi({ poll }). Did you mean `maxDelayMs`?'],
    [{ poll: { minDelayMs: 0 } }, 'Expected `poll.minDelayMs` to be a number from 1 and up, got `0` (number).'],
    [{ poll: { targetQuantile: 1 } }, 'Expected `poll.targetQuantile` to be a number above 0 and below 1, got `1` (number).'],
    [{ poll: { retryFraction: 0 } }, 'Expected `poll.retryFraction` to be a number above 0, got `0` (number).'],
    [{ poll: { backoff: 0.5 } }, 'Expected `poll.backoff` to be a number from 1 and up, got `0.5` (number).'],
    [{ poll: { jitter: 1 } }, 'Expected `poll.jitter` to be a number at least 0 and below 1, got `1` (number).'],
    [{ poll: { initialDelayMs: -1 } }, 'Expected `poll.initialDelayMs` to be a number from 0 and up, got `-1` (number).'],
    [{ poll: 500 }, 'Expected `poll` to be an object of options'],
    [{ callback: { maxBodyBytes: -1 } }, 'Expected `callback.maxBodyBytes` to be an integer from 1 and up, got `-1` (number).'],
    [{ callback: { port: 70000 } }, 'Expected `callback.port` to be an integer from 0 to 65535 (0 for any free port), got `70000` (number).'],
    [{ callback: { deadlineMs: 0 } }, 'Expected `callback.deadlineMs` to be a number from 1 and up, got `0` (number).'],
    [{ callback: { hots: '0.0.0.0' } }, 'Unknown option `hots` in shortApi({ callback }). Did you mean `host`?'],
    [{ callback: 'on' }, 'Expected `callback` to be true, false or an object of callback options'],
    [
      { args: 'temperature=0' },
      'Expected `args` to be an object of model arguments sent with every job, such as { temperature: 0 }, got `"temperature=0"` (string).',
    ],
    [{ args: ['temperature', 0] }, 'Expected `args` to be an object of model arguments'],
    [{ model: '' }, 'Expected `model` to be a non-empty string such as "openai/gpt-5.4-nano", got `""` (string).'],
    [{ requestTimeoutMs: Number.NaN }, 'Expected `requestTimeoutMs` to be a number from 1 and up, got `NaN` (number).'],
    [{ maxSockets: 1.5 }, 'Expected `maxSockets` to be an integer from 1 and up, got `1.5` (number).'],
    [{ maxJobWaitMs: 0 }, 'Expected `maxJobWaitMs` to be a number from 1 and up, got `0` (number).'],
    [{ baseUrl: 'http://127.0.0.1:9' }, 'Unknown option `baseUrl` in shortApi(). Did you mean `baseURL`?'],
  ])('%o', (options, message) => {
    expect(shortApiError(options)).toContain(message);
  });

  it('never shows the key, wherever it was put by mistake', () => {
    expect(configError(() => shortApi({ apiKey: 1234567890 } as never)).message).toBe(
      'Expected `apiKey` to be a non-empty string, got a value of type number.',
    );
    expect(shortApiError({ model: KEY, maxSockets: KEY })).not.toContain(KEY);
    expect(shortApiError({ callback: { host: KEY, port: KEY } })).not.toContain(KEY);
  });

  it('a PollSchedule made directly checks its options too', () => {
    expect(configError(() => new PollSchedule({ maxDelayMs: 0 })).message).toMatch(/busy loop/);
  });
});

describe('a key pasted into a base URL is refused, and never echoed (defect 11)', () => {
  const withKeyIn = [
    [`http://user:${KEY}@127.0.0.1:9`, /a password before the host, as in `http:\/\/\[redacted\]@127\.0\.0\.1:9`/],
    [`http://${KEY}@127.0.0.1:9`, /a user name before the host/],
    [`http://127.0.0.1:9/?api_key=${KEY}`, /the query parameter `api_key`, as in `http:\/\/127\.0\.0\.1:9\?api_key=\[redacted\]`/],
    [`http://127.0.0.1:9/v1?key=${KEY}`, /the query parameter `key`, as in `http:\/\/127\.0\.0\.1:9\/v1\?key=\[redacted\]`/],
    [`http://127.0.0.1:9?token=${KEY}`, /the query parameter `token`/],
    [`http://127.0.0.1:9?access_token=${KEY}`, /the query parameter `access_token`/],
    [`http://127.0.0.1:9?x-api-key=${KEY}`, /the query parameter `x-api-key`/],
    [`http://127.0.0.1:9/${KEY}/`, /your API key, pasted into it/],
  ] as const;

  it.each(withKeyIn)('shortApi baseURL %s', (baseURL, where) => {
    const message = configError(() => shortApi({ apiKey: KEY, baseURL })).message;
    expect(message).toMatch(/^`baseURL` holds a credential/);
    expect(message).toMatch(where);
    expect(message).toContain('Pass the key as `apiKey` to shortApi(), or set the SHORTAPI_KEY environment variable.');
    expect(message).not.toContain(KEY);
    expect(message).not.toContain(KEY.slice(3, 20));
  });

  it('a key in SHORTAPI_BASE_URL is named as such', () => {
    const saved = process.env.SHORTAPI_BASE_URL;
    process.env.SHORTAPI_BASE_URL = `https://api.example.invalid/?token=${KEY}`;
    try {
      const message = configError(() => shortApi({ apiKey: 'sk-another-key-000' })).message;
      expect(message).toMatch(/^`SHORTAPI_BASE_URL` holds a credential \(the query parameter `token`/);
      expect(message).not.toContain(KEY);
    } finally {
      if (saved === undefined) delete process.env.SHORTAPI_BASE_URL;
      else process.env.SHORTAPI_BASE_URL = saved;
    }
  });

  it('openAICompatible baseURL and the callback publicUrl too', () => {
    const openai = configError(() => openAICompatible({ baseURL: `http://127.0.0.1:9/v1?api_key=${KEY}`, model: 'm' })).message;
    expect(openai).toMatch(/^`baseURL` holds a credential \(the query parameter `api_key`/);
    expect(openai).toContain('Pass the key as `apiKey` to openAICompatible()');
    expect(openai).not.toContain(KEY);
    const callback = shortApiError({ callback: { publicUrl: `https://me:${KEY}@tunnel.example.invalid` } });
    expect(callback).toMatch(/^`callback\.publicUrl` holds a credential \(a password before the host/);
    expect(callback).toContain('A callback URL needs no credential');
    expect(callback).not.toContain(KEY);
  });

  it('any other query string or fragment would be dropped: refused, naming the parameters only', () => {
    expect(shortApiError({ baseURL: 'https://api.example.invalid/?region=eu' })).toBe(
      '`baseURL` has a query string (`region`), which would be dropped from every request: shoal appends its own paths to the URL\'s origin and path. Remove it, e.g. "https://api.example.invalid".',
    );
    expect(configError(() => openAICompatible({ baseURL: 'http://127.0.0.1:9/v1#x', model: 'm' })).message).toMatch(/`baseURL` has a fragment/);
  });

  it('a plain base URL still works, and inspect() shows no key', () => {
    const provider = shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9/api/' });
    expect(inspect(provider, { depth: Infinity, showHidden: true })).not.toContain(KEY);
  });
});

describe('openAICompatible(): every option checked', () => {
  it.each([
    [{ structuredOutputs: 'strct' }, 'Expected `structuredOutputs` to be "auto", "strict" or "prompt", got `"strct"` (string). Did you mean "strict"?'],
    [{ headers: { 'x-team': 7 } }, 'Expected `headers.x-team` to be a string (`headers` maps names to strings), got `7` (number).'],
    [{ requestTimeoutMs: 0 }, 'Expected `requestTimeoutMs` to be a number from 1 and up, got `0` (number).'],
    [{ baseUrl: 'http://x' }, 'Unknown option `baseUrl` in openAICompatible(). Did you mean `baseURL`?'],
    [{ model: 42 }, 'Expected `model` to be a non-empty string such as "gpt-4.1-nano", got `42` (number).'],
  ])('%o', (options, message) => {
    expect(configError(() => openAICompatible({ baseURL: 'http://127.0.0.1:9/v1', model: 'm', ...options } as never)).message).toContain(message);
  });
});

describe('agents and the coordinator: every option checked', () => {
  const base = { name: 'opt-agent', description: 'x', input: z.object({ text: z.string() }), output: z.object({ label: z.string() }), instructions: 'x' };
  const agent = defineAgent(base);
  const executor = createExecutor({ provider: scriptedProvider([{ reply: '{"label":"a"}' }]) });

  it.each([
    [{ promt: () => 'x' }, 'Unknown option `promt` in defineAgent(opt-agent). Did you mean `prompt`?'],
    [
      { params: 'temperature=0' },
      'Expected `params` to be an object of model arguments sent with every call, such as { temperature: 0 }, got `"temperature=0"` (string).',
    ],
    [{ priority: Number.NaN }, 'Expected `priority` to be a finite number, got `NaN` (number).'],
    [{ examples: { input: {}, output: {} } }, 'Expected `examples` to be an array of { input, output } examples, got an object.'],
  ])('defineAgent %o', (config, message) => {
    expect(configError(() => defineAgent({ ...base, ...config } as never)).message).toContain(message);
  });

  it.each([
    [{ priorty: 1 }, 'Unknown option `priorty` in opt-agent.run(). Did you mean `priority`?'],
    [{ pack: 4 }, 'Unknown option `pack` in opt-agent.run().'],
    [{ tags: 'x' }, 'Expected `tags` to be an array of strings, got `"x"` (string).'],
    [{ signal: 'stop' }, 'Expected `signal` to be an AbortSignal'],
    [{ spanId: 3 }, 'Expected `spanId` to be a string, got `3` (number).'],
  ])('agent.run %o', async (options, message) => {
    const error = await agent.run({ text: 'a' }, { executor, ...options } as never).catch((e: unknown) => e);
    expect(ShoalConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(message);
  });

  it('runMany takes pack, and refuses its typo', async () => {
    const error = await agent.runMany([{ text: 'a' }], { executor, pak: 2 } as never).catch((e: unknown) => e);
    expect((error as Error).message).toContain('Unknown option `pak` in opt-agent.runMany(). Did you mean `pack`?');
  });

  it('definePlugin and createRegistry', () => {
    expect(configError(() => definePlugin({ name: 'p', version: '1.0.0', agents: [agent], setUp: () => {} } as never)).message).toContain(
      'Unknown option `setUp` in definePlugin(). Did you mean `setup`?',
    );
    expect(configError(() => createRegistry({ agent: [agent] } as never)).message).toContain(
      'Unknown option `agent` in createRegistry(). Did you mean `agents`?',
    );
  });

  it('createCoordinator and its runs', async () => {
    expect(configError(() => createCoordinator({ executor, planAttemps: 2 } as never)).message).toContain(
      'Unknown option `planAttemps` in createCoordinator(). Did you mean `planAttempts`?',
    );
    const coordinator = createCoordinator({ executor, agents: [agent] });
    const run = await coordinator.run('x', { budget: 1 } as never).catch((e: unknown) => e);
    expect((run as Error).message).toContain('Unknown option `budget` in coordinator.run(). Did you mean `budgetUsd`?');
    const plan = { steps: [{ id: 'a', agent: 'opt-agent', input: { text: 'x' } }], output: 'a' };
    const execute = await coordinator.execute(plan, { onStepErrors: 'skip' } as never).catch((e: unknown) => e);
    expect((execute as Error).message).toContain('Unknown option `onStepErrors` in coordinator.execute(). Did you mean `onStepError`?');
    expect(configError(() => coordinator.flow({ onStepError: 'skip' } as never)).message).toContain('Unknown option `onStepError` in coordinator.flow().');
    coordinator.close();
  });
});

describe('one spelling of the base URL', () => {
  it('is baseURL on both providers; baseUrl is answered with "did you mean", before anything is sent', () => {
    expect(() => shortApi({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' } as never)).toThrow(
      /Unknown option `baseUrl` in shortApi\(\)\. Did you mean `baseURL`\?/,
    );
    expect(() => openAICompatible({ baseUrl: 'http://127.0.0.1:1', model: 'm' } as never)).toThrow(
      /Unknown option `baseUrl` in openAICompatible\(\)\. Did you mean `baseURL`\?/,
    );
    expect(shortApi({ apiKey: 'k', baseURL: 'http://127.0.0.1:1' }).baseURL).toBe('http://127.0.0.1:1');
  });
});
