import { checkPollOptions } from './options.js';

/**
 * When to poll a job. The first poll waits about as long as recent jobs took; later polls
 * back off with jitter up to a cap.
 *
 * "How long recent jobs took" is learned online without bias. Polling only tells us that
 * a job was done by some poll, never when it finished, so a window of observed times
 * would only ever creep upwards. Instead the first-poll delay is a running quantile
 * estimate (stochastic approximation, multiplicative so it adapts across orders of
 * magnitude): each job moves it down a little when it was already done at the first poll
 * and up when it was not, so it settles where a `targetQuantile` share of jobs is done
 * at the first poll. That one bit per job is exact, however coarse the polling was.
 */

export interface PollScheduleOptions {
  /** First-poll delay before anything is learned. @default 500 */
  readonly initialDelayMs?: number;
  /** @default 2 */
  readonly minDelayMs?: number;
  /** Cap on any single wait. @default 5000 */
  readonly maxDelayMs?: number;
  /** Share of jobs meant to be done at the first poll. @default 0.8 */
  readonly targetQuantile?: number;
  /** After a missed first poll, the next wait is this share of the learned delay... @default 0.08 */
  readonly retryFraction?: number;
  /** ...multiplied by this for each further miss. @default 2 */
  readonly backoff?: number;
  /** Jitter as a share of each later wait (uniform ±). @default 0.2 */
  readonly jitter?: number;
}

const MIN_RATE = 0.05;
const MAX_RATE = 2;
const STALE_BAND = 1.1;

export class PollSchedule {
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #quantile: number;
  readonly #retryFraction: number;
  readonly #backoff: number;
  readonly #jitter: number;
  #estimateMs: number;
  #rate = 0.5;
  #lastSign = 0;
  #batchSum = 0;
  #batchCount = 0;

  constructor(options: PollScheduleOptions = {}) {
    checkPollOptions(options);
    this.#minDelayMs = options.minDelayMs ?? 2;
    this.#maxDelayMs = options.maxDelayMs ?? 5000;
    this.#quantile = options.targetQuantile ?? 0.8;
    this.#retryFraction = options.retryFraction ?? 0.08;
    this.#backoff = options.backoff ?? 2;
    this.#jitter = options.jitter ?? 0.2;
    this.#estimateMs = this.#clamp(options.initialDelayMs ?? 500);
  }

  /** The current learned first-poll delay. */
  get estimateMs(): number {
    return this.#estimateMs;
  }

  firstDelayMs(): number {
    return this.#estimateMs;
  }

  /** Wait before poll number `pollIndex` (2 = the poll after the first one missed). */
  nextDelayMs(pollIndex: number, random: () => number = Math.random): number {
    const base = this.#estimateMs * this.#retryFraction * this.#backoff ** Math.max(0, pollIndex - 2);
    const jittered = base * (1 + this.#jitter * (2 * random() - 1));
    return this.#clamp(jittered);
  }

  /**
   * Learn from one finished job: was it already done at its first poll, made
   * `firstDelayMs` after its create was answered?
   *
   * Many jobs run at once and report late, so two guards keep the estimate from
   * overshooting on stale news. A report is judged against the estimate as it is now: a
   * job done at a first poll well above the current estimate, or still pending at one well
   * below it, says nothing about the current estimate and is skipped (a 10% band counts
   * as current). And each report moves the estimate by 1/`jobsInFlight` of a step, so a
   * batch of reports moves it about one step. The step size adapts per batch, as Rprop
   * does: it grows while batches keep pointing the same way (far from the answer, e.g. a
   * 500 ms first guess for jobs of 5 ms) and halves when they flip (near it), down to a
   * floor that still tracks drift.
   */
  observe(doneAtFirstPoll: boolean, firstDelayMs: number = this.#estimateMs, jobsInFlight = 1): void {
    const ratio = firstDelayMs / this.#estimateMs;
    if (doneAtFirstPoll ? ratio > STALE_BAND : ratio < 1 / STALE_BAND) return;
    const batch = Math.max(1, jobsInFlight);
    const direction = doneAtFirstPoll ? -(1 - this.#quantile) : this.#quantile;
    this.#estimateMs = this.#clamp(this.#estimateMs * Math.exp((this.#rate * direction) / batch));
    this.#batchSum += direction;
    // Judge the direction over enough reports for the target share to show (10 at q = 0.8).
    if (++this.#batchCount >= Math.max(batch, Math.ceil(2 / (1 - this.#quantile)))) {
      const sign = Math.sign(this.#batchSum);
      this.#rate = sign !== 0 && sign === this.#lastSign ? Math.min(MAX_RATE, this.#rate * 1.5) : Math.max(MIN_RATE, this.#rate * 0.5);
      this.#lastSign = sign;
      this.#batchSum = 0;
      this.#batchCount = 0;
    }
  }

  #clamp(ms: number): number {
    return Math.min(this.#maxDelayMs, Math.max(this.#minDelayMs, ms));
  }
}
