import { createExecutor, type Executor, formatSummary, type ModelProvider, type RunRecorder, recordRun, shortApi } from '@shoal/core';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { sqliteStore } from '@shoal/store-sqlite';
import { dryRunProvider } from './dry-run-provider.js';

/** The options every command that runs calls shares. */
export interface SessionOptions {
  readonly concurrency: number;
  readonly budget?: number;
  readonly store?: string;
  readonly record?: string;
  readonly dryRun?: boolean;
  readonly outputTokens?: number;
}

/** Where a command's calls go, and what is closed at the end. */
export interface Session {
  readonly executor: Executor;
  readonly emulator: ShortApiEmulator | undefined;
  readonly recorder: RunRecorder | undefined;
  readonly dryRun: boolean;
  /** Closes the recorder, the executor (after its calls) and the emulator. */
  close(): Promise<void>;
  summary(wallMs: number): string[];
}

/**
 * The real ShortAPI when SHORTAPI_KEY is set (SHORTAPI_BASE_URL for another endpoint); else
 * the emulator in this process, said on the first line, as the demo does. A dry run sends
 * nothing at all. `--store` keeps results and job ids in SQLite, so a rerun pays for nothing
 * twice; `--record` writes the run record for `shoal report`.
 */
export async function openSession(options: SessionOptions, say: (line: string) => void): Promise<Session> {
  let emulator: ShortApiEmulator | undefined;
  let provider: ModelProvider;
  if (options.dryRun) {
    // The model and prices of the run it stands for: shortApi()'s default model (nothing is sent).
    const probe = shortApi({ apiKey: 'dry-run', baseUrl: 'http://127.0.0.1:1' });
    const model = probe.model;
    await probe.close();
    provider = dryRunProvider({ model, ...(options.outputTokens === undefined ? {} : { outputTokens: options.outputTokens }) });
  } else if (process.env.SHORTAPI_KEY) {
    const shortapi = shortApi();
    provider = shortapi;
    say(`Using ShortAPI at ${shortapi.baseUrl} (key from SHORTAPI_KEY), model ${shortapi.model}.`);
  } else {
    emulator = await startShortApiEmulator({ latencyMs: { min: 150, max: 600 }, seed: 42 });
    provider = shortApi({ apiKey: emulator.apiKey, baseUrl: emulator.url });
    say(
      `SHORTAPI_KEY is not set: running against the ShortAPI emulator in this process (${emulator.url}); its answers come from an offline simulator that fits the schema and judges nothing.`,
    );
  }
  const store = options.store && !options.dryRun ? sqliteStore(options.store) : undefined;
  const executor = createExecutor({
    provider,
    concurrency: options.concurrency,
    ...(options.budget === undefined ? {} : { budgetUsd: options.budget }),
    ...(store ? { store } : {}),
  });
  const recorder = options.record && !options.dryRun ? recordRun(executor, options.record, { truncate: true }) : undefined;
  return {
    executor,
    emulator,
    recorder,
    dryRun: options.dryRun === true,
    async close() {
      try {
        await recorder?.close();
      } finally {
        await executor.close();
        await emulator?.close();
      }
    },
    summary(wallMs) {
      const s = emulator?.stats();
      const extra: [string, string][] = s
        ? [['emulator', `${s.creates} creates (${s.refusedCreates} refused), ${s.queries} queries, ${s.duplicateCreates} duplicate jobs`]]
        : [];
      if (options.record && recorder) extra.push(['record', `${recorder.path} (${recorder.lines} lines): shoal report ${recorder.path} -o report.html`]);
      return formatSummary(executor.metrics(), { wallMs, extra });
    },
  };
}
