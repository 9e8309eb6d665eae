import { ApiError, JobFailedError, JobNotFoundError, ProtocolError, ShoalConfigError, ShoalError, TimeoutError } from '../../errors.js';
import { HttpClient, type HttpResponse } from '../../http/http-client.js';
import { type RequestContext, failureError, throwForStatus } from '../http-errors.js';
import { rawForError, withoutSecrets } from '../../util/redact.js';
import { sleep } from '../../util/sleep.js';
import { NEVER_ABORTED } from '../../util/never-signal.js';
import { expectHttpUrl, expectNumber, rejectUnknownKeys } from '../../util/options.js';
import { type CompletionRequest, type ModelProvider, type ProviderCallContext, type ProviderResult, abortErrorOf } from '../types.js';
import { CallbackReceiver, type CallbackReceiverOptions, type CallbackTicket } from './callback-receiver.js';
import { PollSchedule, type PollScheduleOptions } from './poll-schedule.js';
import {
  CREATE_PATH,
  DEFAULT_BASE_URL,
  DEFAULT_MODEL,
  IDEMPOTENCY_HEADER,
  isUnknownJobAnswer,
  type JobState,
  PayloadMismatch,
  parseCreateData,
  parseEnvelope,
  parseJobData,
  parseJson,
  queryPath,
} from './protocol.js';

export interface ShortApiCallbackOptions extends CallbackReceiverOptions {
  /**
   * How long to wait for a callback before falling back to polling.
   * @default adaptive: 4x the mean time jobs have taken, from 2 s to 60 s
   */
  readonly deadlineMs?: number;
}

export interface ShortApiOptions {
  /** @default process.env.SHORTAPI_KEY */
  readonly apiKey?: string;
  /** @default process.env.SHORTAPI_BASE_URL ?? 'https://api.shortapi.ai' */
  readonly baseUrl?: string;
  /** @default 'openai/gpt-5.4-nano' */
  readonly model?: string;
  /** Extra `args` sent with every job (a call's own args win). */
  readonly args?: Readonly<Record<string, unknown>>;
  /** Receive results by callback instead of polling: `true` for a receiver on 127.0.0.1, or its options. @default false */
  readonly callback?: boolean | ShortApiCallbackOptions;
  /** Tuning of adaptive polling. */
  readonly poll?: PollScheduleOptions;
  /** Timeout of one HTTP request. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Give up on a job still pending after this long (the caller's own timeout usually comes first). @default 1800000 */
  readonly maxJobWaitMs?: number;
  /** Keep-alive sockets to the API. @default 256 */
  readonly maxSockets?: number;
}

const KNOWN_OPTIONS = ['apiKey', 'baseUrl', 'model', 'args', 'callback', 'poll', 'requestTimeoutMs', 'maxJobWaitMs', 'maxSockets'];

/** Creates the ShortAPI provider: asynchronous jobs, created once, then polled or called back. */
export function shortApi(options: ShortApiOptions = {}): ShortApiProvider {
  return new ShortApiProvider(options);
}

export class ShortApiProvider implements ModelProvider {
  readonly specificationVersion = 'shoal.provider.v1' as const;
  readonly name = 'shortapi';
  readonly model: string;
  readonly baseUrl: string;
  readonly schedule: PollSchedule;
  readonly #apiKey: string;
  readonly #http: HttpClient;
  readonly #defaultArgs: Readonly<Record<string, unknown>>;
  readonly #receiver: CallbackReceiver | undefined;
  readonly #callbackDeadlineMs: number | undefined;
  readonly #maxJobWaitMs: number;
  readonly #queryHeaders: Readonly<Record<string, string>> = {};
  #callbackMeanMs = 0;
  /** Jobs being polled right now: they share one estimate, so each one's lesson is scaled down. */
  #polling = 0;
  #callbackSeen = 0;

  constructor(options: ShortApiOptions) {
    if (typeof options !== 'object' || options === null) throw new ShoalConfigError('shortApi() takes one options object.');
    rejectUnknownKeys('shortApi()', options, KNOWN_OPTIONS);
    const apiKey = options.apiKey ?? process.env.SHORTAPI_KEY;
    if (typeof apiKey !== 'string' || apiKey.trim() === '') {
      throw new ShoalConfigError(
        'No ShortAPI key: pass `apiKey` to shortApi() or set the SHORTAPI_KEY environment variable. (For local runs without a key, start the emulator from `@shoal/core/testing` and pass its url and key.)',
      );
    }
    if (/\s/.test(apiKey)) throw new ShoalConfigError('The ShortAPI key contains white space: check how SHORTAPI_KEY was set.');
    this.#apiKey = apiKey;
    this.baseUrl = expectHttpUrl('baseUrl', options.baseUrl ?? process.env.SHORTAPI_BASE_URL ?? DEFAULT_BASE_URL, [apiKey]);
    this.model = options.model ?? DEFAULT_MODEL;
    if (typeof this.model !== 'string' || this.model === '') throw new ShoalConfigError('Expected `model` to be a non-empty string such as "openai/gpt-5.4-nano".');
    this.#defaultArgs = options.args ?? {};
    const requestTimeoutMs = expectNumber('requestTimeoutMs', options.requestTimeoutMs ?? 30_000, { min: 1 });
    this.#maxJobWaitMs = expectNumber('maxJobWaitMs', options.maxJobWaitMs ?? 30 * 60_000, { min: 1 });
    const maxSockets = expectNumber('maxSockets', options.maxSockets ?? 256, { min: 1, integer: true });
    this.schedule = new PollSchedule(options.poll);
    this.#http = new HttpClient({
      baseUrl: this.baseUrl,
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
      timeoutMs: requestTimeoutMs,
      maxSockets,
    });
    if (options.callback) {
      const callback = options.callback === true ? {} : options.callback;
      rejectUnknownKeys('shortApi({ callback })', callback, ['host', 'port', 'publicUrl', 'maxBodyBytes', 'deadlineMs']);
      if (callback.publicUrl !== undefined) expectHttpUrl('callback.publicUrl', callback.publicUrl, [apiKey]);
      this.#callbackDeadlineMs = callback.deadlineMs === undefined ? undefined : expectNumber('callback.deadlineMs', callback.deadlineMs, { min: 1 });
      this.#receiver = new CallbackReceiver(callback);
    }
  }

  /** The callback receiver's counters (accepted, refused by reason), when callbacks are on. */
  get callbackStats() {
    return this.#receiver?.stats;
  }

  /** The base URL of the callback receiver once started ('' before). */
  get callbackUrl(): string {
    return this.#receiver?.url ?? '';
  }

  async doComplete(request: CompletionRequest, context: ProviderCallContext): Promise<ProviderResult> {
    const { signal } = context;
    const abortError = abortErrorOf(signal);
    if (signal.aborted) throw abortError();
    let ticket: CallbackTicket | undefined;
    if (this.#receiver) {
      await this.#receiver.start();
      ticket = this.#receiver.register();
    }
    try {
      const body = JSON.stringify({
        model: this.model,
        args: { ...this.#defaultArgs, ...request.args, prompt: request.prompt },
        ...(ticket ? { callback_url: ticket.url } : {}),
      });
      context.onRequest?.('create');
      const created = await this.#send(
        'create',
        { method: 'POST', path: CREATE_PATH, body, headers: { [IDEMPOTENCY_HEADER]: context.idempotencyKey }, signal },
        undefined,
        abortError,
        parseCreateData,
      );
      const { jobId } = created;
      context.onJobCreated?.(jobId, created.amountUsd);
      ticket?.setJobId(jobId);
      return await this.#wait(jobId, created.amountUsd, ticket, context, abortError, 1);
    } finally {
      ticket?.dispose();
    }
  }

  /**
   * Waits for a job an earlier process created (its id from a journal), without creating
   * one: polling from the start, since that job's callback URL died with the process.
   */
  async doResume(_request: CompletionRequest, jobId: string, context: ProviderCallContext): Promise<ProviderResult> {
    const abortError = abortErrorOf(context.signal);
    if (context.signal.aborted) throw abortError();
    try {
      return await this.#wait(jobId, undefined, undefined, context, abortError, 0);
    } catch (error) {
      if (JobNotFoundError.isInstance(error)) {
        throw new JobNotFoundError(
          `ShortAPI does not know job ${jobId}, which an earlier run created (from the journal): it may have expired, or the store was written against another server. Not created again by itself; its journal entry is closed, so the next run creates a new job (paid again).`,
          { jobId, attempt: context.attempt, callId: context.callId, ...(error.status === undefined ? {} : { status: error.status }), cause: error },
        );
      }
      throw error;
    }
  }

  /** From a known job id to its result: a callback when there is a ticket, polling otherwise or after it. */
  async #wait(
    jobId: string,
    createdAmountUsd: string | undefined,
    ticket: CallbackTicket | undefined,
    context: ProviderCallContext,
    abortError: () => unknown,
    requestsSoFar: number,
  ): Promise<ProviderResult> {
    const { signal } = context;
    const startedAt = performance.now();
    let requests = requestsSoFar;
    let state: JobState | undefined;
    // A resumed job (no create just now) may well be done already: ask at once.
    let firstDelayMs = requestsSoFar === 0 ? 0 : this.schedule.firstDelayMs();
    if (ticket) {
      const outcome = await this.#awaitCallback(ticket, signal, abortError);
      if (outcome?.kind === 'state' && (outcome.state.state === 'pending' || outcome.state.jobId === undefined || outcome.state.jobId === jobId)) {
        state = outcome.state;
        this.#learnCallback(performance.now() - startedAt);
      } else {
        firstDelayMs = 0; // a hint or a missed deadline: confirm by query now
      }
    }
    const learn = state === undefined && !ticket && requestsSoFar > 0;
    if (state === undefined) {
      this.#polling++;
      let polled;
      try {
        polled = await this.#poll(jobId, firstDelayMs, context, abortError, startedAt);
      } finally {
        this.#polling--;
      }
      requests += polled.requests;
      state = polled.state;
      if (learn) this.schedule.observe(polled.doneAtFirstPoll, firstDelayMs, this.#polling + 1);
    }
    if (state.state === 'failed') {
      // The server's words go into an error: redact them like any other server text.
      const serverMessage = state.message === undefined ? undefined : rawForError(state.message, [this.#apiKey], 1000);
      throw new JobFailedError(
        `Job ${jobId} failed on the server (status ${state.status}): ${serverMessage ?? 'no message'}`,
        state.status,
        serverMessage,
        { jobId, attempt: context.attempt, callId: context.callId },
      );
    }
    if (state.state !== 'succeeded') throw new Error('unreachable: pending state after waiting');
    const amountUsd = state.amountUsd ?? createdAmountUsd;
    return {
      text: withoutSecrets(state.text, [this.#apiKey]),
      jobId,
      ...(state.usage ? { usage: state.usage } : {}),
      ...(amountUsd !== undefined ? { amountUsd } : {}),
      ...(state.model ? { model: state.model } : {}),
      requests,
      waitMs: performance.now() - startedAt,
    };
  }

  async close(): Promise<void> {
    this.#http.close();
    await this.#receiver?.close();
  }

  #learnCallback(ms: number): void {
    this.#callbackSeen++;
    this.#callbackMeanMs += (ms - this.#callbackMeanMs) / Math.min(this.#callbackSeen, 50);
  }

  async #awaitCallback(ticket: CallbackTicket, signal: AbortSignal, abortError: () => unknown) {
    const deadlineMs = this.#callbackDeadlineMs ?? Math.min(60_000, Math.max(2000, 4 * this.#callbackMeanMs));
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        ticket.arrived,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), deadlineMs);
        }),
        new Promise<never>((_, reject) => {
          if (signal === NEVER_ABORTED) return;
          if (signal.aborted) {
            reject(abortError());
            return;
          }
          onAbort = () => reject(abortError());
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async #poll(jobId: string, firstDelayMs: number, context: ProviderCallContext, abortError: () => unknown, startedAt: number) {
    const { signal } = context;
    let wait = firstDelayMs;
    let pollIndex = 1;
    let failures = 0;
    let requests = 0;
    for (;;) {
      if (wait > 0) await sleep(wait, signal, abortError);
      else if (signal.aborted) throw abortError();
      requests++;
      context.onRequest?.('query');
      let state: JobState;
      try {
        state = await this.#send('query', { method: 'GET', path: queryPath(jobId), headers: this.#queryHeaders, signal }, jobId, abortError, parseJobData);
      } catch (error) {
        if (signal.aborted) throw abortError();
        if (ShoalError.isInstance(error) && isUnknownJobAnswer(error)) {
          throw new JobNotFoundError(`ShortAPI does not know job ${jobId} (HTTP ${error.status ?? '200'}, A10): ${error.message}`, {
            jobId,
            attempt: context.attempt,
            callId: context.callId,
            ...(error.status === undefined ? {} : { status: error.status }),
            cause: error,
          });
        }
        failures++;
        const decision = context.retryPoll(error, failures);
        if (!decision.retry) {
          if (ShoalError.isInstance(error)) error.jobId ??= jobId;
          throw error;
        }
        wait = decision.delayMs;
        continue;
      }
      failures = 0; // count consecutive failures only: a long job may meet several blips
      if (state.state !== 'pending') return { state, requests, doneAtFirstPoll: pollIndex === 1 };
      if (performance.now() - startedAt > this.#maxJobWaitMs) {
        throw new TimeoutError(
          `Job ${jobId} still pending (status ${state.status}) after ${Math.round(performance.now() - startedAt)} ms (maxJobWaitMs); it may still finish on the server.`,
          { jobId, attempt: context.attempt, callId: context.callId },
        );
      }
      pollIndex++;
      wait = this.schedule.nextDelayMs(pollIndex);
    }
  }

  #protocolError(mismatch: PayloadMismatch, body: string, kind: 'create' | 'query', jobId: string | undefined, retryable: boolean) {
    const what = kind === 'create' ? 'create answer' : `answer for job ${jobId}`;
    return new ProtocolError(
      `ShortAPI ${what} does not fit the protocol: ${mismatch.message} (${mismatch.issues.join('; ')})`,
      rawForError(body, [this.#apiKey]),
      mismatch.issues,
      retryable,
      { ...(jobId ? { jobId } : {}) },
    );
  }

  /** Sends one request and returns the envelope's `data`, or throws a typed error. */
  async #send<T>(
    kind: 'create' | 'query',
    request: Parameters<HttpClient['send']>[0],
    jobId: string | undefined,
    abortError: () => unknown,
    parse: (data: unknown) => T,
  ): Promise<T> {
    const context: RequestContext = {
      service: 'ShortAPI',
      where: kind === 'create' ? 'create' : `query for job ${jobId}`,
      paid: kind === 'create',
      ...(jobId ? { jobId } : {}),
      keyHint: 'check SHORTAPI_KEY',
      secrets: [this.#apiKey],
      abortError,
    };
    let response: HttpResponse;
    try {
      response = await this.#http.send(request);
    } catch (error) {
      throw failureError(error, context);
    }
    throwForStatus(response, context);
    const { status, body } = response;
    const options = { status, ...(jobId ? { jobId } : {}) };
    const where = context.where;
    try {
      const envelope = parseEnvelope(parseJson(body));
      if (!envelope.ok) {
        throw new ApiError(
          `ShortAPI error code ${envelope.code} on ${where}: ${rawForError(envelope.message, [this.#apiKey], 300)}`,
          envelope.code,
          rawForError(body, [this.#apiKey]),
          options,
        );
      }
      return parse(envelope.data);
    } catch (error) {
      if (error instanceof PayloadMismatch) {
        // A garbled create answer may hide a job that exists: never safe to re-create. A garbled poll is safe to repeat.
        throw this.#protocolError(error, body, kind, jobId, kind === 'query' && error.transient);
      }
      throw error;
    }
  }
}
