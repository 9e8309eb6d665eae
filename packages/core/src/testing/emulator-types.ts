/** The emulator's public shapes: its options, replies, faults, jobs and stats. */

/** What the emulator answers a prompt with (a rule's reply). */
export interface EmulatorReply {
  /** The result's text. @default '' */
  readonly text?: string;
  /** Fail the job (status 3) with this message. */
  readonly fail?: string;
  /** Job duration for this reply (overrides the latency distribution). */
  readonly latencyMs?: number;
  /** The job is made (and charged) but the create's answer is lost: the socket closes before it. */
  readonly dropCreate?: boolean;
  /** The usage to report, in place of the counted one (the prompt's and the text's o200k tokens). */
  readonly usage?: {
    /** Input tokens. */
    readonly inputTokens: number;
    /** Output tokens. */
    readonly outputTokens: number;
    /** Input tokens served from the prefix cache. @default what the emulated prefix cache would serve */
    readonly cachedInputTokens?: number;
  };
}

/** A scripted reply: the first rule whose `match` fits the prompt gives the reply. */
export interface EmulatorRule {
  /** Substring, regular expression or predicate over the prompt. */
  readonly match: string | RegExp | ((prompt: string, args: Record<string, unknown>) => boolean);
  /** The reply: its text, a full `EmulatorReply`, or a function of the prompt and args that returns either. */
  readonly reply: string | EmulatorReply | ((prompt: string, args: Record<string, unknown>) => string | EmulatorReply);
}

/** A job's duration in ms: fixed, uniform in `[min, max)`, or drawn by a function of the seeded random source. */
export type LatencySpec =
  | number
  | {
      /** The shortest duration, in ms. */
      readonly min: number;
      /** The longest duration, in ms (excluded). */
      readonly max: number;
    }
  | ((random: () => number) => number);

/** Seeded faults the emulator injects, each a share between 0 and 1 (or a delay). */
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

/** Options of `startShortApiEmulator()`. */
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
  /** Scripted replies, tried in order. */
  readonly rules?: readonly EmulatorRule[];
  /** Answer prompts no rule matches with the offline simulator. @default true */
  readonly simulator?: boolean;
  /** Faults to inject. */
  readonly faults?: EmulatorFaults;
  /** Report `amount` in create answers and `usage` in results. @default both true */
  readonly reportAmount?: boolean;
  /** Report `usage` in results. @default true */
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
  readonly unknownJob?: {
    /** The HTTP status. @default 404 */
    readonly status?: number;
    /** The envelope's `code`. @default 404 */
    readonly code?: number | string;
    /** The envelope's `msg`. @default `no job <id>` */
    readonly msg?: string;
  };
  /** `amount` in create answers as a decimal string (as documented) or a JSON number. @default 'string' */
  readonly amountAs?: 'string' | 'number';
  /** Delay before a create is answered; its job is made at once. `Infinity` holds every answer until `releaseCreates()`. @default 0 */
  readonly createLatencyMs?: number;
}

/** A job the emulator made, as it holds it (live: its status and counters change). */
export interface EmulatorJob {
  /** The job's id. */
  readonly id: string;
  /** The prompt it was created with. */
  readonly prompt: string;
  /** The create's `args` (the prompt among them). */
  readonly args: Record<string, unknown>;
  /** The create's idempotency key, when it sent one. */
  readonly idempotencyKey: string | undefined;
  /** The create's `callback_url`, when it sent one. */
  readonly callbackUrl: string | undefined;
  /** ms on the performance.now() clock of this process. */
  readonly createdAt: number;
  /** When it started running (ms, performance.now()); undefined while it waits. */
  startedAt: number | undefined;
  /** When it finished (ms, performance.now()). */
  finishedAt: number | undefined;
  /** 0 waiting, 1 running, 2 done, 3 failed. */
  status: 0 | 1 | 2 | 3;
  /** False when the create's answer was dropped (a `dropCreate` fault): the client never learned of this job. */
  answered: boolean;
  /** Queries of this job answered. */
  queries: number;
  /** Callbacks sent for it. */
  callbacksSent: number;
  /** What the job will answer, decided at its create. */
  readonly reply: {
    /** The result's text. */
    text: string;
    /** The failure message when the job fails (status 3); undefined when it succeeds. */
    fail: string | undefined;
    /** How long it runs, in ms (`Infinity` for a job that never finishes). */
    durationMs: number;
    /** Input tokens reported. */
    inputTokens: number;
    /** Output tokens reported. */
    outputTokens: number;
    /** Input tokens reported as served from the prefix cache. */
    cachedInputTokens: number;
  };
  /** What it was charged, in USD as a decimal string (from its tokens at gpt-5.4-nano prices). */
  readonly amountUsd: string;
}

/** The emulator's counters, from `emulator.stats()`. */
export interface EmulatorStats {
  /** Create requests received (authorized ones). */
  readonly creates: number;
  /** Query requests received (authorized ones). */
  readonly queries: number;
  /** Jobs made. */
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
  /** Callbacks sent. */
  readonly callbacksSent: number;
  /** Requests refused with 401. */
  readonly unauthorized: number;
  /** The most jobs that ran at once. */
  readonly peakRunning: number;
  /** Mean requests (create + queries) per job that finished. */
  readonly requestsPerJob: number;
  /** Faults injected, by name. */
  readonly faults: Readonly<Record<string, number>>;
}

/** A running emulator of the ShortAPI job protocol on 127.0.0.1 (from `startShortApiEmulator()`). */
export interface ShortApiEmulator {
  /** Base URL, e.g. http://127.0.0.1:39127 */
  readonly url: string;
  /** A key the emulator accepts. */
  readonly apiKey: string;
  /** The port it listens on. */
  readonly port: number;
  /** Jobs in creation order. */
  readonly jobs: readonly EmulatorJob[];
  /** The job of that id, if the emulator made it. */
  job(id: string): EmulatorJob | undefined;
  /** Sends the create answers held by `createLatencyMs: Infinity`. */
  releaseCreates(): void;
  /** Finishes a job now (one made with a long or infinite latency): a test decides when it is done. False when there is no such running job. */
  finish(id: string): boolean;
  /** The counters so far. */
  stats(): EmulatorStats;
  /** Stops the server: pending timers and held creates are dropped, open connections closed. */
  close(): Promise<void>;
  /** Closes it (for `await using`). */
  [Symbol.asyncDispose](): Promise<void>;
}
