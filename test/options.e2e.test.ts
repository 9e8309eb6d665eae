import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { classify, extract, rank } from '@shoal/agents';
import { createCoordinator, createExecutor, defineAgent, type Executor, openAICompatible, ShoalConfigError, shortApi } from '@shoal/core';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { sqliteStore } from '@shoal/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

/**
 * Defects 10 and 11 through the public API of the built packages: every bad option of every
 * factory and call is a ShoalConfigError that names the option, says what it takes (and,
 * for a typo, what was meant), thrown before anything is sent; and a key pasted into a
 * base URL is refused without being shown.
 */

let emulator: ShortApiEmulator;
let executor: Executor;
const dir = mkdtempSync(join(tmpdir(), 'shoal-options-'));

beforeAll(async () => {
  emulator = await startShortApiEmulator({ latencyMs: 1000 });
  executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url }) });
});
afterAll(async () => {
  await executor.close();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The error `act` threw or rejected with: must be a ShoalConfigError. */
async function configError(act: () => unknown): Promise<ShoalConfigError> {
  let error: unknown;
  try {
    await act();
  } catch (caught) {
    error = caught;
  }
  expect(ShoalConfigError.isInstance(error), `expected a ShoalConfigError, got ${String(error)}`).toBe(true);
  return error as ShoalConfigError;
}

const labeler = defineAgent({
  name: 'options-labeler',
  description: 'Labels a text.',
  input: z.object({ text: z.string() }),
  output: z.object({ label: z.string() }),
  instructions: 'LABEL the text.',
});
const provider = () => shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url });
const items = [
  { id: 'a', text: 'alpha' },
  { id: 'b', text: 'beta' },
];

interface Row {
  readonly door: string;
  readonly act: () => unknown;
  /** The whole message, or the parts it must hold. */
  readonly message: string | readonly (string | RegExp)[];
}

const rows: Row[] = [
  // ---- createExecutor ----
  {
    door: 'createExecutor retry.ambiguousCreates "false"',
    act: () => createExecutor({ provider: provider(), retry: { ambiguousCreates: 'false' as never } }),
    message: 'Expected `retry.ambiguousCreates` to be true or false, got `"false"` (string). Write false without quotes: any non-empty string counts as true.',
  },
  // Typos early in the name, which the old prefix match missed.
  {
    door: 'createExecutor retry typo',
    act: () => createExecutor({ provider: provider(), retry: { abmiguousCreates: true } as never }),
    message: ['Unknown option `abmiguousCreates` in createExecutor({ retry }). Did you mean `ambiguousCreates`?'],
  },
  {
    door: 'createExecutor retry.maxRetryAfterMs NaN',
    act: () => createExecutor({ provider: provider(), retry: { maxRetryAfterMs: Number.NaN } }),
    message: 'Expected `retry.maxRetryAfterMs` to be a number from 0 and up, got `NaN` (number).',
  },
  {
    door: 'createExecutor retry.maxRetryAfterMs -1',
    act: () => createExecutor({ provider: provider(), retry: { maxRetryAfterMs: -1 } }),
    message: 'Expected `retry.maxRetryAfterMs` to be a number from 0 and up, got `-1` (number).',
  },
  {
    door: 'createExecutor dedupe "no"',
    act: () => createExecutor({ provider: provider(), dedupe: 'no' as never }),
    message: 'Expected `dedupe` to be true or false, got `"no"` (string).',
  },
  {
    door: 'createExecutor a negative price',
    act: () => createExecutor({ provider: provider(), pricing: { outputPerMillionUsd: -1 } }),
    message: 'Expected `pricing.outputPerMillionUsd` to be a number from 0 and up, got `-1` (number).',
  },
  {
    door: 'createExecutor a NaN price',
    act: () => createExecutor({ provider: provider(), pricing: { inputPerMillionUsd: Number.NaN } }),
    message: 'Expected `pricing.inputPerMillionUsd` to be a number from 0 and up, got `NaN` (number).',
  },
  {
    door: 'createExecutor a misspelt price',
    act: () => createExecutor({ provider: provider(), pricing: { outputPerMilionUsd: 1 } as never }),
    message: ['Unknown option `outputPerMilionUsd` in createExecutor({ pricing }). Did you mean `outputPerMillionUsd`?'],
  },
  {
    door: 'createExecutor rateLimit.requestBurst 0',
    act: () => createExecutor({ provider: provider(), rateLimit: { requestsPerMinute: 60, requestBurst: 0 } as never }),
    message: 'Expected `rateLimit.requestBurst` to be a number above 0, got `0` (number).',
  },

  // ---- shortApi ----
  {
    door: 'shortApi poll.maxDelayMs 0',
    act: () => shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { maxDelayMs: 0 } }),
    message: ['Expected `poll.maxDelayMs` to be a number from 2 and up', 'got `0` (number)', 'busy loop'],
  },
  {
    door: 'shortApi poll typo',
    act: () => shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { maxDelyMs: 100 } as never }),
    message: ['Unknown option `maxDelyMs` in shortApi({ poll }). Did you mean `maxDelayMs`?'],
  },
  {
    door: 'shortApi callback.maxBodyBytes -1',
    act: () => shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, callback: { maxBodyBytes: -1 } }),
    message: 'Expected `callback.maxBodyBytes` to be an integer from 1 and up, got `-1` (number).',
  },
  {
    door: 'shortApi args as a string',
    act: () => shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, args: 'temperature=0' as never }),
    message: ['Expected `args` to be an object of model arguments', 'got `"temperature=0"` (string)'],
  },
  {
    door: 'shortApi basUrl (a typo)',
    act: () => shortApi({ apiKey: emulator.apiKey, basUrl: emulator.url } as never),
    message: ['Unknown option `basUrl` in shortApi(). Did you mean `baseURL`?'],
  },

  // ---- openAICompatible ----
  {
    door: 'openAICompatible structuredOutputs typo',
    act: () => openAICompatible({ baseURL: 'http://127.0.0.1:9/v1', model: 'm', structuredOutputs: 'strct' as never }),
    message: 'Expected `structuredOutputs` to be "auto", "strict" or "prompt", got `"strct"` (string). Did you mean "strict"?',
  },

  // ---- calls ----
  {
    door: 'executor.complete { priorty }',
    act: () => executor.complete({ prompt: 'LABEL x' }, { priorty: 5 } as never),
    message: ['Unknown option `priorty` in complete(). Did you mean `priority`?'],
  },
  {
    door: 'executor.complete tags as a string',
    act: () => executor.complete({ prompt: 'LABEL x' }, { tags: 'triage' as never }),
    message: 'Expected `tags` to be an array of strings, got `"triage"` (string).',
  },
  {
    door: 'executor.complete a model argument beside the prompt',
    act: () => executor.complete({ prompt: 'LABEL x', temperature: 0 } as never),
    message: ["Unknown option `temperature` in complete()'s request.", 'go in `args`'],
  },
  {
    door: 'agent.run { priorty }',
    act: () => labeler.run({ text: 'x' }, { executor, priorty: 1 } as never),
    message: ['Unknown option `priorty` in options-labeler.run(). Did you mean `priority`?'],
  },
  {
    door: 'agent.runMany { pak }',
    act: () => labeler.runMany([{ text: 'x' }], { executor, pak: 2 } as never),
    message: ['Unknown option `pak` in options-labeler.runMany(). Did you mean `pack`?'],
  },
  {
    door: 'defineAgent params as a string',
    act: () => defineAgent({ name: 'p', description: 'x', input: z.object({}), output: z.object({}), instructions: 'x', params: 'temperature=0' as never }),
    message: ['Expected `params` to be an object of model arguments', 'got `"temperature=0"` (string)'],
  },
  {
    door: 'createCoordinator typo',
    act: () => createCoordinator({ executor, planAttemps: 2 } as never),
    message: ['Unknown option `planAttemps` in createCoordinator(). Did you mean `planAttempts`?'],
  },
  {
    door: 'coordinator.run { budget }',
    act: () => createCoordinator({ executor, agents: [labeler] }).run('Label it.', { budget: 1 } as never),
    message: ['Unknown option `budget` in coordinator.run(). Did you mean `budgetUsd`?'],
  },

  // ---- @shoal/agents ----
  {
    door: 'rank { topk }',
    act: () => rank({ query: 'q', items, executor, topk: 1 } as never),
    message: ['Unknown option `topk` in rank(). Did you mean `topK`?', 'Known options: `query`, `items`, `topK`'],
  },
  {
    door: 'rank topK as a string',
    act: () => rank({ query: 'q', items, executor, topK: '1' as never }),
    message: 'Expected `topK` to be an integer from 1 and up, got `"1"` (string).',
  },
  {
    door: 'rank a misspelt strategy',
    act: () => rank({ query: 'q', items, executor, strategy: { name: 'tournamnt' } as never }),
    message: 'Expected `strategy.name` to be "tournament", "sliding-window", "setwise" or "pointwise", got `"tournamnt"` (string). Did you mean "tournament"?',
  },
  {
    door: 'rank a misspelt strategy option',
    act: () => rank({ query: 'q', items, executor, strategy: { name: 'setwise', size: 4 } as never }),
    message: ['Unknown option `size` in rank({ strategy }). Did you mean `setSize`?'],
  },
  {
    door: 'classify pack 0',
    act: () => classify({ labels: z.enum(['a', 'b']), items: ['x'], executor, pack: 0 }),
    message: 'Expected `pack` to be an integer from 1 to 200, got `0` (number).',
  },
  {
    door: 'classify { multilabel }',
    act: () => classify({ labels: z.enum(['a', 'b']), items: ['x'], executor, multilabel: true } as never),
    message: ['Unknown option `multilabel` in classify(). Did you mean `multiLabel`?'],
  },
  {
    door: 'extract chunkTokens 50',
    act: () => extract({ schema: z.object({ total: z.number() }), documents: ['x'], executor, chunkTokens: 50 }),
    message: 'Expected `chunkTokens` to be an integer from 100 to 100000, got `50` (number).',
  },
  {
    door: 'extract unverified typo',
    act: () => extract({ schema: z.object({ total: z.number() }), documents: ['x'], executor, unverified: 'dorp' as never }),
    message: 'Expected `unverified` to be "flag" or "drop", got `"dorp"` (string). Did you mean "drop"?',
  },

  // ---- @shoal/store-sqlite ----
  {
    door: 'sqliteStore { sync }',
    act: () => sqliteStore({ path: join(dir, 'a.db'), sync: 'full' } as never),
    message: ['Unknown option `sync` in sqliteStore(). Did you mean `synchronous`?'],
  },
];

describe('defect 10: every bad option is a ShoalConfigError naming it, before anything is sent', () => {
  it.each(rows.map((row) => [row.door, row] as const))('%s', async (_door, row) => {
    const error = await configError(row.act);
    if (typeof row.message === 'string') expect(error.message).toBe(row.message);
    else for (const part of row.message) expect(error.message).toMatch(part);
    // Nothing reached the server for any of them.
    expect(emulator.stats().creates).toBe(0);
    expect(emulator.stats().queries).toBe(0);
  });
});

describe('defect 11: a key in a base URL is refused and never shown', () => {
  const KEY = 'sk-e2e-pasted-key-0123456789';
  const cases = [
    [
      'shortApi baseURL with user:key@',
      () => shortApi({ apiKey: KEY, baseURL: `http://user:${KEY}@127.0.0.1:9` }),
      '`baseURL` holds a credential (a password before the host',
    ],
    [
      'shortApi baseURL ?api_key=',
      () => shortApi({ apiKey: KEY, baseURL: `http://127.0.0.1:9/?api_key=${KEY}` }),
      '`baseURL` holds a credential (the query parameter `api_key`',
    ],
    ['shortApi baseURL ?key=', () => shortApi({ apiKey: KEY, baseURL: `http://127.0.0.1:9?key=${KEY}` }), 'the query parameter `key`'],
    ['shortApi baseURL ?token=', () => shortApi({ apiKey: KEY, baseURL: `http://127.0.0.1:9?token=${KEY}` }), 'the query parameter `token`'],
    [
      'shortApi baseURL ?access_token=',
      () => shortApi({ apiKey: KEY, baseURL: `http://127.0.0.1:9?access_token=${KEY}` }),
      'the query parameter `access_token`',
    ],
    [
      'a key that is not the apiKey',
      () => shortApi({ apiKey: 'sk-the-real-key-000', baseURL: `http://127.0.0.1:9?api_key=${KEY}` }),
      'the query parameter `api_key`',
    ],
    [
      'callback publicUrl',
      () => shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9', callback: { publicUrl: `https://tunnel.example.invalid/?token=${KEY}` } }),
      '`callback.publicUrl` holds a credential',
    ],
    ['openAICompatible baseURL', () => openAICompatible({ baseURL: `https://u:${KEY}@llm.example.invalid/v1`, model: 'm' }), '`baseURL` holds a credential'],
  ] as const;

  it.each(cases)('%s', async (_name, act, start) => {
    const error = await configError(act);
    expect(error.message).toContain(start);
    expect(error.message).toMatch(/Pass the key as `apiKey`|A callback URL needs no credential/);
    if (!_name.startsWith('callback')) expect(error.message).toContain('`apiKey`');
    if (_name.startsWith('shortApi')) expect(error.message).toContain('SHORTAPI_KEY');
    // Neither in the message nor anywhere in the error.
    expect(inspect(error, { depth: Infinity, showHidden: true })).not.toContain(KEY.slice(3));
    expect(JSON.stringify(error)).not.toContain(KEY.slice(3));
  });

  it('any other query string is refused too (it would be dropped); a clean base URL is taken, and prints no key', async () => {
    const error = await configError(() => shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9/api?region=eu' }));
    expect(error.message).toMatch(/^`baseURL` has a query string \(`region`\), which would be dropped from every request/);
    const clean = shortApi({ apiKey: KEY, baseURL: 'http://127.0.0.1:9/api' });
    expect(clean.baseURL).toBe('http://127.0.0.1:9/api');
    expect(inspect(createExecutor({ provider: clean }), { depth: Infinity, showHidden: true })).not.toContain(KEY);
  });
});
