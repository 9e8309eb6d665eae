import { existsSync } from 'node:fs';
import { createExecutor, type DurableStore, type Executor, formatSummary, type ModelProvider, type RunRecorder, recordRun, shortApi } from '@shoal/core';
import { SHORTAPI_DEFAULT_MODEL } from '@shoal/core/internal';
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
  readonly dryRun: boolean;
  readonly hasStore: boolean;
  /** Closes the recorder, the executor (after its calls) and the emulator. A record that could not be written is said, not thrown. */
  close(): Promise<void>;
  summary(wallMs: number): string[];
}

/**
 * The real ShortAPI when SHORTAPI_KEY is set (SHORTAPI_BASE_URL for another endpoint); else
 * the emulator in this process, said on the first line, as the demo does. A dry run sends
 * nothing at all, and has no budget (the estimate is of the whole run; the caller compares
 * it with the budget). `--store` keeps results and job ids in SQLite, so a rerun pays for
 * nothing twice; `--record` appends the run record for `shoal report`. The store and the
 * record are opened before anything is started, so a bad path is refused with nothing to
 * clean up.
 */
export async function openSession(options: SessionOptions, say: (line: string) => void): Promise<Session> {
  const store: DurableStore | undefined = !options.store
    ? undefined
    : !options.dryRun
      ? sqliteStore(options.store)
      : existsSync(options.store)
        ? readOnly(sqliteStore(options.store))
        : undefined;
  let emulator: ShortApiEmulator | undefined;
  let executor: Executor | undefined;
  try {
    let provider: ModelProvider;
    if (options.dryRun) {
      // The model and prices of the run it stands for: shortApi()'s default model (nothing is sent).
      provider = dryRunProvider({ model: SHORTAPI_DEFAULT_MODEL, ...(options.outputTokens === undefined ? {} : { outputTokens: options.outputTokens }) });
    } else if (process.env.SHORTAPI_KEY) {
      const shortapi = shortApi();
      provider = shortapi;
      say(`Using ShortAPI at ${shortapi.baseURL} (key from SHORTAPI_KEY), model ${shortapi.model}.`);
    } else {
      emulator = await startShortApiEmulator({ latencyMs: { min: 150, max: 600 }, seed: 42 });
      provider = shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url });
      say(
        `SHORTAPI_KEY is not set: running against the ShortAPI emulator in this process (${emulator.url}); its answers come from an offline simulator that fits the schema and judges nothing.`,
      );
    }
    executor = createExecutor({
      provider,
      concurrency: options.concurrency,
      ...(options.budget === undefined || options.dryRun ? {} : { budgetUsd: options.budget }),
      ...(store ? { store } : {}),
    });
    const recorder: RunRecorder | undefined = options.record && !options.dryRun ? recordRun(executor, options.record) : undefined;
    const running = executor;
    return {
      executor: running,
      dryRun: options.dryRun === true,
      hasStore: store !== undefined,
      async close() {
        try {
          await recorder?.close();
        } catch (error) {
          say(
            `  record           could not be written to ${options.record} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): the run itself is not affected`,
          );
        } finally {
          await running.close();
          await emulator?.close();
        }
      },
      summary(wallMs) {
        const s = emulator?.stats();
        const extra: [string, string][] = s
          ? [['emulator', `${s.creates} creates (${s.refusedCreates} refused), ${s.queries} queries, ${s.duplicateCreates} duplicate jobs`]]
          : [];
        if (recorder) extra.push(['record', `${recorder.path} (${recorder.lines} lines): shoal report ${recorder.path} -o report.html`]);
        return formatSummary(running.metrics(), { wallMs, extra });
      },
    };
  } catch (error) {
    // Something would not open (the record's path, the emulator): close what did, so the process can exit.
    if (executor) await executor.close();
    else await store?.close();
    await emulator?.close();
    throw error;
  }
}

/**
 * A dry run's view of `--store`: results already stored are read (a resumed run pays nothing
 * for them, so the estimate leaves them out); nothing is written, and the journal is not
 * used (a job an earlier run left running is estimated as a call).
 */
function readOnly(store: DurableStore): DurableStore {
  const cache = store.cache;
  return {
    ...(cache ? { cache: { get: (key) => cache.get(key), set: () => {} } } : {}),
    journal: { lookup: () => undefined, intent: () => {}, created: () => {}, settle: () => {} },
    close: () => store.close(),
  };
}
