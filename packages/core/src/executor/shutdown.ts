import { constants } from 'node:os';
import { ShoalConfigError } from '../errors.js';
import { describeValue } from '../util/describe.js';
import { expectNumber, rejectUnknownKeys } from '../util/options.js';
import type { Executor, ShutdownReport } from './executor.js';

/** Options of `handleShutdown()`. */
export interface HandleShutdownOptions {
  /** How long calls in flight may take to finish once a signal came. @default 10000 */
  readonly deadlineMs?: number;
  /** @default ['SIGINT', 'SIGTERM'] */
  readonly signals?: readonly NodeJS.Signals[];
  /** `process.exitCode` when work was left (queued calls rejected, running ones abandoned). @default 1 */
  readonly exitCode?: number;
  /** Told how the shutdown went, e.g. to log it. */
  readonly onShutdown?: (report: ShutdownReport, signal: NodeJS.Signals) => void;
}

/**
 * Shuts the executor down gracefully on SIGINT and SIGTERM: no further call is dispatched,
 * calls in flight may finish until the deadline, the store is flushed and closed, and
 * `process.exitCode` is set non-zero when work was left. The process then ends on its own
 * once the app's own work settles; a second signal ends it at once (exit 128 + signal
 * number). Returns a function that removes the handlers.
 */
export function handleShutdown(executor: Executor, options: HandleShutdownOptions = {}): () => void {
  if (typeof executor?.shutdown !== 'function') {
    throw new ShoalConfigError(`handleShutdown() takes an executor from createExecutor(), got ${describeValue(executor)}.`);
  }
  if (typeof options !== 'object' || options === null) throw new ShoalConfigError(`handleShutdown() takes an options object, got ${describeValue(options)}.`);
  rejectUnknownKeys('handleShutdown()', options, ['deadlineMs', 'signals', 'exitCode', 'onShutdown']);
  const deadlineMs = expectNumber('deadlineMs', options.deadlineMs ?? 10_000, { min: 0, allowInfinity: true });
  const exitCode = expectNumber('exitCode', options.exitCode ?? 1, { min: 1, max: 255, integer: true });
  const signals = options.signals ?? (['SIGINT', 'SIGTERM'] as const);
  if (!Array.isArray(signals) || signals.length === 0 || signals.some((s) => typeof s !== 'string' || !(s in constants.signals))) {
    throw new ShoalConfigError(`Expected \`signals\` to be a non-empty list of signal names such as ['SIGINT', 'SIGTERM'], got ${describeValue(signals)}.`);
  }
  const uncatchable = signals.filter((s) => s === 'SIGKILL' || s === 'SIGSTOP');
  if (uncatchable.length > 0)
    throw new ShoalConfigError(`\`signals\` names ${uncatchable.join(' and ')}, which no process can catch: use SIGINT, SIGTERM, SIGHUP or similar.`);
  if (options.onShutdown !== undefined && typeof options.onShutdown !== 'function') {
    throw new ShoalConfigError(`Expected \`onShutdown\` to be a function, got ${describeValue(options.onShutdown)}.`);
  }
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) {
      // Asked twice: stop now. What is journaled stays journaled.
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    started = true;
    refusedAtSignal = executor.metrics().refusedAfterClose;
    executor.shutdown({ deadlineMs }).then(
      (report) => {
        if (!report.clean) process.exitCode = exitCode;
        options.onShutdown?.(report, signal);
      },
      (error: unknown) => {
        process.exitCode = exitCode;
        queueMicrotask(() => {
          throw error;
        });
      },
    );
  };
  // Calls refused after the shutdown began are work left too: the exit code says so.
  let refusedAtSignal = 0;
  const onExit = () => {
    if (started && executor.metrics().refusedAfterClose > refusedAtSignal) process.exitCode = exitCode;
  };
  const installed: NodeJS.Signals[] = [];
  const remove = () => {
    for (const signal of installed) process.off(signal, onSignal);
    process.off('exit', onExit);
  };
  try {
    for (const signal of signals) {
      process.on(signal, onSignal);
      installed.push(signal);
    }
  } catch (error) {
    remove(); // all or nothing
    throw new ShoalConfigError(`handleShutdown() could not listen for ${signals.join(', ')}: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.on('exit', onExit);
  return remove;
}
