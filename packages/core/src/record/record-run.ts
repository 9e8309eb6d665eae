import { closeSync, openSync, writeSync } from 'node:fs';
import { ShoalConfigError } from '../errors.js';
import type { ExecutorEvents } from '../executor/events.js';
import type { Executor } from '../executor/types.js';
import type { RunHeaderLine, TotalsLine } from './format.js';
import { RUN_RECORD_VERSION } from './format.js';

/** Options of `recordRun()`. */
export interface RecordRunOptions {
  /** A label for the run, written in the header (the report's title). */
  readonly label?: string;
  /** Start a new file rather than append to an existing one. @default false (append) */
  readonly truncate?: boolean;
}

/** A recording in progress: `close()` writes the totals line and closes the file. */
export interface RunRecorder {
  /** The file being written. */
  readonly path: string;
  /** Lines written or waiting to be written. */
  readonly lines: number;
  /** Writes what is buffered now (it is written every 200 ms and at 256 KB anyway). */
  flush(): void;
  /** Stops listening, writes the executor's totals as the last line, and closes the file. Rejects with the first write error, if any. */
  close(): Promise<void>;
}

const FLUSH_MS = 200;
const FLUSH_BYTES = 256 * 1024;
const MESSAGE_CHARS = 300;

/**
 * Records every call event of `executor` as one compact JSON line in `file` (the format:
 * `record/format.ts`), for `shoal report`. Lines are built only from the event's numbers,
 * ids and tags (no prompt or answer text), buffered, and written in batches with a
 * synchronous write (so the order holds and a process that exits still writes what it
 * had). A write that fails stops the recording; `close()` rejects with its error.
 */
export function recordRun(executor: Executor, file: string, options: RecordRunOptions = {}): RunRecorder {
  if (typeof file !== 'string' || file.length === 0) throw new ShoalConfigError('recordRun(executor, file): `file` must be a path, e.g. "run.jsonl".');
  let fd: number;
  try {
    fd = openSync(file, options.truncate ? 'w' : 'a');
  } catch (error) {
    throw new ShoalConfigError(
      `recordRun(): cannot open ${file} for writing (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check that its folder exists and is writable.`,
    );
  }
  const metrics = executor.metrics();
  const startedAt = Date.now();
  // Times are measured on the executor's clock (performance.now() by default) from the first event.
  let origin: number | undefined;

  // Each line is encoded into this buffer at once, so its string dies young: strings kept until a flush outlive the
  // young generation and cost old-generation collections (one noisy comparison on the emulator path: the recorder's
  // added CPU went from about 67 to 8 us a call with this change).
  const buffer = Buffer.allocUnsafe(FLUSH_BYTES);
  let used = 0;
  let lines = 0;
  let failure: unknown;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const writeOut = (data: Buffer | string, length?: number) => {
    if (failure !== undefined) return;
    try {
      if (typeof data === 'string') writeSync(fd, data);
      else writeSync(fd, data, 0, length);
    } catch (error) {
      failure = error;
      detach();
    }
  };
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (used === 0) return;
    const length = used;
    used = 0;
    writeOut(buffer, length);
  };
  const write = (line: string) => {
    lines++;
    // At most 3 bytes a UTF-16 unit, plus the newline: flush first when it might not fit.
    if (used + line.length * 3 + 1 > FLUSH_BYTES) {
      flush();
      if (line.length * 3 + 1 > FLUSH_BYTES) {
        writeOut(`${line}\n`);
        return;
      }
    }
    used += buffer.write(line, used);
    buffer[used++] = 0x0a;
    if (!timer && !closed) timer = setTimeout(flush, FLUSH_MS).unref();
  };
  let last = '0.0';
  const t = (at: number) => {
    origin ??= at;
    last = tenths(at - origin);
    return last;
  };

  const header: RunHeaderLine = {
    ev: 'run',
    v: RUN_RECORD_VERSION,
    startedAt,
    provider: executor.provider.name,
    model: executor.provider.model,
    concurrency: metrics.concurrency.limit,
    budgetUsd: metrics.budgetUsd ?? null,
    ...(options.label ? { label: options.label } : {}),
  };
  write(JSON.stringify(header));

  const cachedCalls = new Set<string>();
  const events = executor.events;
  const listeners = {
    'call-queued': (e) => {
      const tags = e.tags && e.tags.length > 0 ? `,"agent":${JSON.stringify(e.tags[0])},"tags":${JSON.stringify(e.tags)}` : '';
      write(`{"ev":"queued","id":"${e.callId}","t":${t(e.at)},"priority":${e.priority}${tags}}`);
    },
    'call-start': (e) => write(`{"ev":"started","id":"${e.callId}","t":${t(e.at)},"waitMs":${tenths(e.queuedMs)}}`),
    'job-created': (e) =>
      write(
        `{"ev":"job","id":"${e.callId}","t":${t(e.at)},"job":${JSON.stringify(e.jobId)},"attempt":${e.attempt}${e.amountUsd === undefined ? '' : `,"usd":${Number(e.amountUsd)}`}}`,
      ),
    'job-resumed': (e) => write(`{"ev":"job","id":"${e.callId}","t":${t(e.at)},"job":${JSON.stringify(e.jobId)},"attempt":${e.attempt},"resumed":true}`),
    'call-retry': (e) =>
      write(
        `{"ev":"retry","id":"${e.callId}","t":${t(e.at)},"attempt":${e.attempt},"delayMs":${tenths(e.delayMs)},"code":"${e.error.code}"${e.error.status === undefined ? '' : `,"status":${e.error.status}`}}`,
      ),
    'call-cached': (e) => {
      cachedCalls.add(e.callId);
    },
    'call-end': (e) => {
      const u = e.usage;
      const cached = cachedCalls.delete(e.callId) ? ',"cached":true' : '';
      const id = e.callId;
      write(
        `{"ev":"end","id":"${id}","t":${t(e.at)},"ms":${tenths(e.durationMs)},"attempts":${e.attempts},"requests":${e.requests},"in":${u.inputTokens},"cachedIn":${u.cachedInputTokens},"out":${u.outputTokens},"usd":${e.costUsd}${cached}${e.deduplicated ? ',"dedup":true' : ''}}`,
      );
    },
    'call-error': (e) => {
      const error = e.error;
      const id = e.callId;
      const message = error.message.length > MESSAGE_CHARS ? `${error.message.slice(0, MESSAGE_CHARS - 1)}…` : error.message;
      write(
        `{"ev":"error","id":"${id}","t":${t(e.at)},"ms":${tenths(e.durationMs)},"attempts":${e.attempts},"code":"${error.code}"${error.status === undefined ? '' : `,"status":${error.status}`},"message":${JSON.stringify(message)}}`,
      );
    },
    'concurrency-change': (e) => write(`{"ev":"concurrency","t":${t(e.at)},"from":${e.from},"to":${e.to},"reason":"${e.reason}"}`),
    'budget-exceeded': (e) => write(`{"ev":"budget","t":${t(e.at)},"budgetUsd":${e.budgetUsd},"spentUsd":${e.spentUsd},"rejected":${e.rejected}}`),
  } satisfies { [E in keyof ExecutorEvents]?: ExecutorEvents[E] };
  const names = Object.keys(listeners) as (keyof typeof listeners)[];
  for (const name of names) events.on(name, listeners[name] as never);
  let attached = true;
  function detach() {
    if (!attached) return;
    attached = false;
    for (const name of names) events.off(name, listeners[name] as never);
  }
  const onExit = () => flush();
  process.on('exit', onExit);

  return {
    path: file,
    get lines() {
      return lines;
    },
    flush,
    async close() {
      if (closed) {
        if (failure !== undefined) throw failure;
        return;
      }
      closed = true;
      detach();
      const m = executor.metrics();
      const totals: TotalsLine = {
        ev: 'totals',
        t: Number(last),
        done: m.done,
        failed: m.failed,
        cached: m.cached,
        deduplicated: m.deduplicated,
        retries: m.retries,
        jobs: m.jobs,
        rateLimited: m.rateLimited,
        inputTokens: m.totals.inputTokens,
        cachedInputTokens: m.totals.cachedInputTokens,
        outputTokens: m.totals.outputTokens,
        costUsd: m.costUsd,
        ...(m.totals.unpricedCalls > 0 ? { unpricedCalls: m.totals.unpricedCalls } : {}),
      };
      write(JSON.stringify(totals));
      flush();
      process.off('exit', onExit);
      closeSync(fd);
      if (failure !== undefined) throw failure;
    },
  };
}

/** Milliseconds to 0.1, as JSON: two integers joined (formatting a fraction costs several times more). */
function tenths(ms: number): string {
  const n = Math.round(ms * 10);
  const abs = n < 0 ? -n : n;
  return `${n < 0 ? '-' : ''}${Math.floor(abs / 10)}.${abs % 10}`;
}
