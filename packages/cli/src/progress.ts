import type { Executor } from '@shoal/core';
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  readonly total: number;
  readonly executor: Executor;
  /** Where progress goes (standard error, so the output may be standard output). */
  readonly stream: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a terminal. @default 5 */
  readonly everySeconds?: number;
  /** Milliseconds since some origin (performance.now() by default): the rate and ETA are measured on it. */
  readonly now?: () => number;
}

/**
 * Progress of a run: items done of the total, model calls, items per second, the time left
 * and the USD spent. A bar redrawn in place on a terminal (cli-progress); on a pipe or in CI,
 * a plain line every few seconds and at the end, so a log shows the run advancing.
 */
export class Progress {
  readonly #options: ProgressOptions;
  readonly #now: () => number;
  readonly #started: number;
  readonly #bar: cliProgress.SingleBar | undefined;
  #done = 0;
  #failed = 0;
  #lastLine = 0;
  #ended = false;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
    this.#lastLine = this.#started;
    if (options.stream.isTTY) {
      this.#bar = new cliProgress.SingleBar(
        {
          stream: options.stream,
          format: '  {bar} {value}/{total} items | {calls} calls | {rate}/s | ETA {eta_formatted} | ${usd}',
          barsize: 24,
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(options.total, 0, this.#payload());
    }
  }

  add(done: number, failed: number): void {
    this.#done += done;
    this.#failed += failed;
    if (this.#bar) this.#bar.update(this.#done, this.#payload());
    else if (this.#now() - this.#lastLine >= (this.#options.everySeconds ?? 5) * 1000) this.#line();
  }

  /** The last update: the bar is completed (or left where it stopped), or a final plain line. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#bar) {
      this.#bar.update(this.#done, this.#payload());
      this.#bar.stop();
    } else this.#line();
  }

  #payload() {
    const m = this.#options.executor.metrics();
    return { calls: m.done + m.failed, rate: this.#rate().toFixed(1), usd: m.costUsd.toFixed(6) };
  }

  #rate(): number {
    const seconds = (this.#now() - this.#started) / 1000;
    return seconds > 0 ? this.#done / seconds : 0;
  }

  #line(): void {
    this.#lastLine = this.#now();
    const { calls, rate, usd } = this.#payload();
    const left = this.#options.total - this.#done;
    const perSecond = this.#rate();
    const eta = left === 0 ? 'done' : perSecond > 0 ? `ETA ${formatSeconds(left / perSecond)}` : 'ETA unknown';
    const failed = this.#failed > 0 ? ` (${this.#failed} failed)` : '';
    this.#options.stream.write(`  progress: ${this.#done}/${this.#options.total} items${failed}, ${calls} calls, ${rate} items/s, ${eta}, $${usd}\n`);
  }
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}
