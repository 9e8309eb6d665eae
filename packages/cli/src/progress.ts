import type { Executor } from '@shoal/core';
import cliProgress from 'cli-progress';
import { duration } from './report/format.js';

export interface ProgressOptions {
  readonly total: number;
  readonly executor: Executor;
  /** Where progress goes (standard error, so the output may be standard output). */
  readonly stream: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a terminal. @default 5 */
  readonly everySeconds?: number;
  /** Milliseconds since some origin (performance.now() by default): the rate and ETA are measured on it. */
  readonly now?: () => number;
  /** Print the plain line on a timer too, not only when items are done (off in tests that move time by hand). @default true */
  readonly timer?: boolean;
}

/** The executor's figures are read at most this often: `metrics()` sorts its latency window. */
const METRICS_MS = 250;

/**
 * Progress of a run: items done of the total, model calls, items per second, the time left
 * and the USD spent. A bar redrawn in place on a terminal (cli-progress); on a pipe or in CI,
 * a plain line every few seconds (on a timer, so a long call does not silence it) and one at
 * the end, so a log shows the run advancing.
 */
export class Progress {
  readonly #options: ProgressOptions;
  readonly #now: () => number;
  readonly #started: number;
  readonly #bar: cliProgress.SingleBar | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  #done = 0;
  #failed = 0;
  #lastLine: number;
  /** Items done when the last plain line was printed. */
  #printedAt = -1;
  #ended = false;
  #figures: { calls: number; usd: string } | undefined;
  #figuresAt = Number.NEGATIVE_INFINITY;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
    this.#lastLine = this.#started;
    if (options.stream.isTTY) {
      this.#bar = new cliProgress.SingleBar(
        {
          stream: options.stream,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a dollar sign, then cli-progress's own {usd} placeholder
          format: '  {bar} {value}/{total} items | {calls} calls | {rate}/s | ETA {eta_formatted} | ${usd}',
          barsize: 24,
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(options.total, 0, this.#payload());
    } else if (options.timer !== false) {
      this.#timer = setInterval(() => this.#tick(), (options.everySeconds ?? 5) * 1000).unref();
    }
  }

  add(done: number, failed: number): void {
    this.#done += done;
    this.#failed += failed;
    if (this.#bar) this.#bar.update(this.#done, this.#payload());
    else this.#tick();
  }

  /** The last update: the bar is completed (or left where it stopped) and the cursor shown again, or a final plain line. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#figuresAt = Number.NEGATIVE_INFINITY;
    if (this.#bar) {
      this.#bar.update(this.#done, this.#payload());
      this.#bar.stop();
    } else if (this.#printedAt !== this.#done) this.#line();
  }

  #tick(): void {
    if (!this.#ended && this.#now() - this.#lastLine >= (this.#options.everySeconds ?? 5) * 1000) this.#line();
  }

  #payload() {
    const now = this.#now();
    if (!this.#figures || now - this.#figuresAt >= METRICS_MS) {
      const m = this.#options.executor.metrics();
      this.#figures = { calls: m.done + m.failed, usd: m.costUsd.toFixed(6) };
      this.#figuresAt = now;
    }
    return { ...this.#figures, rate: this.#rate().toFixed(1) };
  }

  #rate(): number {
    const seconds = (this.#now() - this.#started) / 1000;
    return seconds > 0 ? this.#done / seconds : 0;
  }

  #line(): void {
    this.#lastLine = this.#now();
    this.#printedAt = this.#done;
    const { calls, rate, usd } = this.#payload();
    const left = this.#options.total - this.#done;
    const perSecond = this.#rate();
    const eta = left === 0 ? 'done' : perSecond > 0 ? `ETA ${duration((left / perSecond) * 1000)}` : 'ETA unknown';
    const failed = this.#failed > 0 ? ` (${this.#failed} failed)` : '';
    this.#options.stream.write(`  progress: ${this.#done}/${this.#options.total} items${failed}, ${calls} calls, ${rate} items/s, ${eta}, $${usd}\n`);
  }
}
