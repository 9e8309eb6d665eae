import { abortError, type ShoalError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { ModelPrices } from './prices.js';

/**
 * The small, versioned interface every model provider implements. The executor depends
 * on this and nothing else; users do not call `do*` methods themselves.
 */

/** Tokens one answer used. */
export interface Usage {
  /** Input tokens, the cached ones included. */
  readonly inputTokens: number;
  /** Input tokens served from the provider's prefix cache (a subset of `inputTokens`). */
  readonly cachedInputTokens: number;
  /** Output tokens. */
  readonly outputTokens: number;
}

/** One request to the model: what `executor.complete()` takes. */
export interface CompletionRequest {
  /** The whole prompt. */
  readonly prompt: string;
  /** Extra model arguments, passed through unchanged. */
  readonly args?: Readonly<Record<string, unknown>>;
  /**
   * The JSON Schema the answer must fit, for providers that can enforce one (chat
   * completions' `response_format`). The prompt states it too, so providers without
   * structured output (ShortAPI) ignore this.
   */
  readonly output?: {
    /** A name for the schema (OpenAI-style: letters, digits, `_` and `-`, up to 64). */
    readonly name: string;
    /** The JSON Schema. */
    readonly schema: Readonly<Record<string, unknown>>;
  };
}

/** What the executor gives a provider with each attempt of a call. */
export interface ProviderCallContext {
  /** Fires when the caller stops waiting (abort, timeout, close). */
  readonly signal: AbortSignal;
  /** The executor's id for this call, stable across its attempts. */
  readonly callId: string;
  /**
   * Sent with a create as an idempotency hint: the same for every attempt that replaces a
   * create that made no job (429, 5xx), new after a job that failed (its replacement is a
   * new job on purpose).
   */
  readonly idempotencyKey: string;
  /** 1-based attempt number. */
  readonly attempt: number;
  /** The executor's clock: waits between polls go through it, so tests run them on fake time. @default the system clock */
  readonly clock?: Clock;
  /**
   * Decides whether a failed poll (never a create) is tried again, and after how long. A
   * poll is free to repeat: every transient failure (429, 5xx, a lost answer) is retried
   * until the job's own deadline; only a final answer (an unknown job, a refused key) ends
   * the wait. The executor also learns from the poll's 429s here.
   */
  readonly retryPoll: (
    error: unknown,
    pollAttempt: number,
  ) => {
    /** Whether to poll again. */
    readonly retry: boolean;
    /** How long to wait first. */
    readonly delayMs: number;
  };
  /**
   * Call before each poll: undefined when it may go at once, else a promise that resolves
   * when the executor's request limiter (configured or learnt from 429s) lets it go, and
   * rejects when the call's signal fires. Creates need no such call: the executor paces them
   * itself before `doComplete`.
   */
  readonly beforeQuery?: () => Promise<void> | undefined;
  /**
   * Fires only when the executor must stop at once: a shutdown whose deadline, and a short
   * grace after it, have passed. A create already sent is otherwise never cut off (its job
   * must be booked and journaled, not made and lost); this signal cuts it off.
   */
  readonly hardStop?: AbortSignal;
  /** Called once per outbound HTTP request, before it is sent. */
  readonly onRequest?: (kind: 'create' | 'query') => void;
  /**
   * Called once per HTTP answer, with its status. The executor learns the server's rate
   * from the share of 429s among answers: a provider that does not call it looks to the
   * executor as if every answer were a 429 when it meets a burst of them.
   */
  readonly onAnswer?: (status: number) => void;
  /** Called as soon as the server has given the job an id, before any waiting, with the charge it reported. */
  readonly onJobCreated?: (jobId: string, amountUsd?: string) => void;
}

/** What a provider's attempt resolves with. */
export interface ProviderResult {
  /** The model's answer. */
  readonly text: string;
  /** The server's job id (absent for providers without jobs). */
  readonly jobId?: string;
  /** Token usage as the server reported it, if it did. */
  readonly usage?: Usage;
  /** The server's charge as an exact decimal string of USD, if it reported one. */
  readonly amountUsd?: string;
  /** Outbound HTTP requests made for this attempt (create + queries). */
  readonly requests: number;
  /** Milliseconds from the create being answered to the result being known. */
  readonly waitMs?: number;
  /** The model that answered, as the server named it. */
  readonly model?: string;
}

/**
 * A model provider: where the executor sends calls (`shortApi()`, `openAICompatible()`, or your own). Implement `doComplete`; the executor does the queueing,
 * limits, retries and cache.
 */
export interface ModelProvider {
  /** The version of this interface the provider implements. */
  readonly specificationVersion: 'shoal.provider.v1';
  /** e.g. `shortapi`, `openai-compatible`, `scripted`. */
  readonly name: string;
  /**
   * Whether aborting a call stops the work it started on the server: true when closing the
   * request ends it (chat completions), false when a job already created runs on and is paid
   * (ShortAPI has no cancel endpoint). Said in the `AbortError`'s message; left out, the
   * message says neither.
   */
  readonly cancelsWork?: boolean;
  /** The model calls go to (part of every cache key). */
  readonly model: string;
  /**
   * What the model's tokens cost, used when the server reports no charge. Left out, the
   * executor looks the model up among the known prices; a model found nowhere is
   * "unpriced": its calls are counted in `unpricedCalls`, not at another model's prices.
   */
  readonly pricing?: ModelPrices;
  /** Runs one attempt of a call: sends the request, waits for the answer, and resolves with it or throws a `ShoalError`. */
  doComplete(request: CompletionRequest, context: ProviderCallContext): Promise<ProviderResult>;
  /**
   * Waits for a job that an earlier process created (its id read back from a journal),
   * without creating one. Optional: providers without server-side jobs leave it out, and
   * the executor then sends such a call again (and counts it as re-created).
   */
  doResume?(request: CompletionRequest, jobId: string, context: ProviderCallContext): Promise<ProviderResult>;
  /** Releases sockets and servers. Called by `executor.close()`. */
  close?(): Promise<void>;
}

/**
 * The error a provider throws when its call's signal fires: the executor's reason (a timeout,
 * a shutdown) when it gave one, else an `AbortError` worded by the provider's `cancelsWork`.
 */
export function abortErrorOf(signal: AbortSignal, provider?: Pick<ModelProvider, 'name' | 'cancelsWork'>): () => ShoalError {
  return () => abortError(signal, provider ? { provider } : {});
}
