/**
 * Where the examples send their calls: the real ShortAPI when SHORTAPI_KEY is set,
 * otherwise the emulator in this process, whose offline simulator answers with values
 * that fit each agent's schema (shapes, not judgments). The first line printed says which.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createExecutor, type Executor, type ExecutorMetrics, formatSummary, shortApi } from '@shoal/core';
import { type EmulatorRule, type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';

export interface Backend {
  readonly executor: Executor;
  readonly emulator: ShortApiEmulator | undefined;
  close(): Promise<void>;
}

export interface BackendOptions {
  readonly concurrency?: number;
  /** Offline only: rules that answer before the simulator (say what they stand in for). */
  readonly offlineRules?: readonly EmulatorRule[];
  /** Print the backend line. @default true */
  readonly announce?: boolean;
}

export async function connect(options: BackendOptions = {}): Promise<Backend> {
  const concurrency = options.concurrency ?? 16;
  const say = options.announce === false ? () => {} : (line: string) => console.log(line);
  if (process.env.SHORTAPI_KEY) {
    const provider = shortApi();
    say(`Using ShortAPI at ${provider.baseURL} with the key from SHORTAPI_KEY, model ${provider.model}.`);
    const executor = createExecutor({ provider, concurrency });
    return { executor, emulator: undefined, close: () => executor.close() };
  }
  const emulator = await startShortApiEmulator({ latencyMs: { min: 150, max: 600 }, seed: 42, rules: options.offlineRules ?? [] });
  say(
    `SHORTAPI_KEY is not set: running against the ShortAPI emulator in this process (${emulator.url}); answers come from its offline simulator, not a model: they fit the schemas but judge nothing.`,
  );
  const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url }), concurrency });
  return {
    executor,
    emulator,
    async close() {
      await executor.close();
      await emulator.close();
    },
  };
}

/** A progress line: redrawn in a terminal, printed at each quarter otherwise (CI, pipes). */
export function progressLine(label: string) {
  const tty = process.stdout.isTTY === true;
  let lastQuarter = -1;
  return {
    update(done: number, total: number, costUsd: number) {
      const width = 20;
      const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
      const line = `  ${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} · $${costUsd.toFixed(6)}`;
      if (tty) process.stdout.write(`\r${line}${done >= total ? '\n' : ''}`);
      else {
        const quarter = total > 0 ? Math.floor((done / total) * 4) : 4;
        if (quarter !== lastQuarter) console.log(line);
        lastQuarter = quarter;
      }
    },
  };
}

/** The closing summary (core's `formatSummary`), with the emulator's counts when it ran offline. */
export function printSummary(metrics: ExecutorMetrics, emulator: ShortApiEmulator | undefined, wallMs: number, costBy?: (tag: string) => boolean): void {
  const s = emulator?.stats();
  const extra = s
    ? ([['emulator', `${s.creates} creates (${s.refusedCreates} refused), ${s.queries} queries, ${s.duplicateCreates} duplicate jobs`]] as const)
    : [];
  console.log(`\n${formatSummary(metrics, { wallMs, extra, ...(costBy ? { costBy } : {}) }).join('\n')}`);
}

/** True when this module is the script node was started with (so an example runs alone or is imported by the demo). */
export function isMain(metaUrl: string): boolean {
  return process.argv[1] !== undefined && metaUrl === pathToFileURL(resolve(process.argv[1])).href;
}

/** Runs one example on its own: connect, run, print the summary, close. */
export async function runAlone(example: (executor: Executor) => Promise<unknown>, options: BackendOptions & { readonly note?: string } = {}): Promise<void> {
  const backend = await connect(options);
  if (backend.emulator && options.note) console.log(options.note);
  const started = performance.now();
  try {
    await example(backend.executor);
    printSummary(backend.executor.metrics(), backend.emulator, performance.now() - started);
  } finally {
    await backend.close();
  }
}
