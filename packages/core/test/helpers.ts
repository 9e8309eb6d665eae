import { afterEach } from 'vitest';
import { createExecutor, type Executor, type ExecutorOptions } from '../src/executor/executor.js';
import { type ShortApiOptions, type ShortApiProvider, shortApi } from '../src/providers/shortapi/shortapi.js';
import { type EmulatorOptions, type ShortApiEmulator, startShortApiEmulator } from '../src/testing/emulator.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

export interface Rig {
  emulator: ShortApiEmulator;
  provider: ShortApiProvider;
  executor: Executor;
}

/** An emulator on 127.0.0.1, a provider pointed at it and an executor, all closed after the test. */
export async function rig(
  emulatorOptions: EmulatorOptions = {},
  providerOptions: Omit<ShortApiOptions, 'apiKey' | 'baseURL'> & { apiKey?: string } = {},
  executorOptions: Omit<ExecutorOptions, 'provider'> = {},
): Promise<Rig> {
  const emulator = await startShortApiEmulator(emulatorOptions);
  cleanups.push(() => emulator.close());
  const provider = shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 }, ...providerOptions });
  const executor = createExecutor({ provider, random: () => 0, ...executorOptions });
  cleanups.push(() => executor.close({ drain: false }));
  return { emulator, provider, executor };
}

/** One `until()` for every test: see test/helpers/until.ts. */
export { until } from '../../../test/helpers/until.js';
