import { abortError, TimeoutError } from '../errors.js';
import type { ModelProvider } from '../providers/types.js';
import type { AdaptiveConcurrency } from './adaptive-concurrency.js';
import { type Call, QUEUED } from './call.js';
import type { CallQueue } from './queue.js';
import type { Settler } from './settle.js';
import type { ExecutorState } from './state.js';

/**
 * Callers who stop waiting: an aborted signal or a call's timeout. One abort listener per
 * distinct signal, however many calls share it (Node checks each new listener against all
 * others, so one per call is quadratic); when it fires, the running calls and the queue are
 * scanned for that signal.
 */
export class Cancellation {
  readonly #watched = new WeakSet<AbortSignal>();

  constructor(
    private readonly state: ExecutorState,
    private readonly queue: CallQueue<Call>,
    private readonly settler: Settler,
    private readonly concurrency: AdaptiveConcurrency,
    private readonly provider: ModelProvider,
  ) {}

  /** The error an aborted signal stands for, worded by what the provider does with work already sent. */
  reason(signal: AbortSignal) {
    return abortError(signal, { provider: this.provider });
  }

  watch(signal: AbortSignal): void {
    if (this.#watched.has(signal)) return;
    this.#watched.add(signal);
    signal.addEventListener(
      'abort',
      () => {
        const reason = this.reason(signal);
        for (const call of [...this.state.active]) if (call.signal === signal) this.settler.error(call, reason);
        for (const call of this.queue.cancel(signal)) if (call.state === QUEUED) this.settler.error(call, reason);
      },
      { once: true },
    );
  }

  /** The call's deadline passed: it fails with what the executor was doing, and the job it leaves running. */
  timeout(call: Call, timeoutMs: number): void {
    const { state, concurrency } = this;
    const where = call.state === QUEUED ? 'still queued' : 'running';
    const jobId = call.flight?.jobId;
    const left =
      jobId === undefined
        ? ''
        : ` Its job ${jobId} keeps running on the server: the same call made again in this process re-attaches to it (no second job, nothing booked twice).`;
    // Counts are taken before this call leaves, so a queued call counts itself.
    this.settler.error(
      call,
      new TimeoutError(
        `The call timed out after ${timeoutMs} ms (${where}; executor: ${state.queued} queued, ${state.running} running, concurrency ${concurrency.current}/${concurrency.max}).${left}`,
        { callId: call.id, ...(jobId === undefined ? {} : { jobId }) },
      ),
    );
  }
}
