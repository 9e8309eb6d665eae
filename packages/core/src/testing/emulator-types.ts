/** The emulator's public shapes: its options, replies, faults, jobs and stats. */

export interface EmulatorReply {
  readonly text?: string;
  /** Fail the job (status 3) with this message. */
  readonly fail?: string;
  /** Job duration for this reply (overrides the latency distribution). */
  readonly latencyMs?: number;
  /** The job is made (and charged) but the create's answer is lost: the socket closes before it. */
  readonly dropCreate?: boolean;
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number; readonly cachedInputTokens?: number };
}

export interface EmulatorRule {
  /** Substring, regular expression or predicate over the prompt. */
  readonly match: string | RegExp | ((prompt: string, args: Record<string, unknown>) => boolean);
  readonly reply: string | EmulatorReply | ((prompt: string, args: Record<string, unknown>) => string | EmulatorReply);
}

export type LatencySpec = number | { readonly min: number; readonly max: number } | ((random: () => number) => number);

export interface EmulatorFaults {
  /** Share of creates answered 429. */
  readonly rateLimit?: number;
  /** Retry-After (seconds) sent with the 429s of `rateLimit`; `null` sends none. @default 0 */
  readonly retryAfterSeconds?: number | null;
  /** Share of creates answered 5xx with an HTML body. */
  readonly serverError?: number;
  /** Share of creates whose job is made (and charged) but whose answer is lost: the socket closes before it. */
  readonly dropCreate?: number;
  /** Share of queries answered 5xx with an HTML body. */
  readonly queryServerError?: number;
  /** Share of queries whose socket is dropped mid-answer. */
  readonly dropQuery?: number;
  /** Share of queries answered with invalid JSON. */
  readonly invalidJson?: number;
  /** Share of jobs that fail (status 3). */
  readonly failJob?: number;
  /** Share of jobs that never finish. */
  readonly neverFinish?: number;
  /** Share of callbacks never sent. */
  readonly dropCallback?: number;
  /** Extra delay before each callback. */
  readonly callbackDelayMs?: number;
}

export interface EmulatorOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Require this bearer key (401 otherwise). @default any non-empty key */
  readonly apiKey?: string;
  /** Job duration: fixed, uniform range, or a sampler. @default 0 */
  readonly latencyMs?: LatencySpec;
  /** @default 1 */
  readonly seed?: number;
  /** Jobs running at once on the server; the rest wait with status 0. @default Infinity */
  readonly concurrency?: number;
  readonly rules?: readonly EmulatorRule[];
  /** Answer prompts no rule matches with the offline simulator. @default true */
  readonly simulator?: boolean;
  readonly faults?: EmulatorFaults;
  /** Report `amount` in create answers and `usage` in results. @default both true */
  readonly reportAmount?: boolean;
  readonly reportUsage?: boolean;
  /** Where the result's text goes (to test every documented place). @default 'text' */
  readonly resultShape?: 'text' | 'output' | 'output_text' | 'content' | 'choices' | 'string';
  /**
   * At most this many requests per key in any one-second window, creates and queries
   * together (a gateway's sliding window); the rest get 429 with `Retry-After` in whole
   * seconds. @default no limit
   */
  readonly rpsLimit?: number;
  /** How a query for a job id the server does not know is answered. @default HTTP 404 with `code: 404` */
  readonly unknownJob?: { readonly status?: number; readonly code?: number | string; readonly msg?: string };
  /** `amount` in create answers as a decimal string (as documented) or a JSON number. @default 'string' */
  readonly amountAs?: 'string' | 'number';
  /** Delay before a create is answered; its job is made at once. `Infinity` holds every answer until `releaseCreates()`. @default 0 */
  readonly createLatencyMs?: number;
}

export interface EmulatorJob {
  readonly id: string;
  readonly prompt: string;
  readonly args: Record<string, unknown>;
  readonly idempotencyKey: string | undefined;
  readonly callbackUrl: string | undefined;
  /** ms on the performance.now() clock of this process. */
  readonly createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  status: 0 | 1 | 2 | 3;
  /** False when the create's answer was dropped (a `dropCreate` fault): the client never learned of this job. */
  answered: boolean;
  queries: number;
  callbacksSent: number;
  readonly reply: { text: string; fail: string | undefined; durationMs: number; inputTokens: number; outputTokens: number; cachedInputTokens: number };
  readonly amountUsd: string;
}

export interface EmulatorStats {
  readonly creates: number;
  readonly queries: number;
  readonly jobs: number;
  /** Creates refused with 429 or 5xx (no job made). */
  readonly refusedCreates: number;
  /** Requests (creates and queries) refused with 429 by `rpsLimit`. */
  readonly rateLimited: number;
  /**
   * Creates carrying the idempotency key of an earlier job that had not failed: the
   * client paid twice. A new job after a failed one (status 3) is a retry, not counted here.
   */
  readonly duplicateCreates: number;
  readonly callbacksSent: number;
  readonly unauthorized: number;
  readonly peakRunning: number;
  /** Mean requests (create + queries) per job that finished. */
  readonly requestsPerJob: number;
  readonly faults: Readonly<Record<string, number>>;
}

export interface ShortApiEmulator {
  /** Base URL, e.g. http://127.0.0.1:39127 */
  readonly url: string;
  /** A key the emulator accepts. */
  readonly apiKey: string;
  readonly port: number;
  /** Jobs in creation order. */
  readonly jobs: readonly EmulatorJob[];
  job(id: string): EmulatorJob | undefined;
  /** Sends the create answers held by `createLatencyMs: Infinity`. */
  releaseCreates(): void;
  /** Finishes a job now (one made with a long or infinite latency): a test decides when it is done. False when there is no such running job. */
  finish(id: string): boolean;
  stats(): EmulatorStats;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
