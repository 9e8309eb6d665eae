import { ApiError, formatIssues, JobFailedError, JobNotFoundError, ProtocolError, ShoalError, TimeoutError } from '../../errors.js';
import { HttpClient, type HttpResponse } from '../../http/http-client.js';
import { systemClock } from '../../util/clock.js';
import { rawForError, withoutSecrets } from '../../util/redact.js';
import { sleep } from '../../util/sleep.js';
import { failureError, type RequestContext, throwForStatus } from '../http-errors.js';
import type { ModelPrices, Pricing } from '../prices.js';
import { abortErrorOf, type CompletionRequest, type ModelProvider, type ProviderCallContext, type ProviderResult } from '../types.js';
import { CallbackReceiver, type CallbackReceiverOptions, type CallbackTicket } from './callback-receiver.js';
import { awaitCallback } from './callback-wait.js';
import { resolveShortApiOptions } from './options.js';
import { PollSchedule, type PollScheduleOptions } from './poll-schedule.js';
import {
  CREATE_PATH,
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

/** Options of the callback receiver (`shortApi({ callback })`): where it listens, and how long it waits before polling. */
export interface ShortApiCallbackOptions extends CallbackReceiverOptions {
  /**
   * How long to wait for a callback before falling back to polling.
   * @default adaptive: 4x the mean time jobs have taken, from 2 s to 60 s
   */
  readonly deadlineMs?: number;
}

/** Options of `shortApi()`: all optional; the key comes from `SHORTAPI_KEY` by default. */
export interface ShortApiOptions {
  /** @default process.env.SHORTAPI_KEY */
  readonly apiKey?: string;
  /** @default process.env.SHORTAPI_BASE_URL ?? 'https://api.shortapi.ai' */
  readonly baseURL?: string;
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
  /**
   * The model's prices in USD per million tokens, used when the server reports no charge
   * (`amount`). @default the known prices of `model` (openai/gpt-5.4-nano's from the vendor's page)
   */
  readonly pricing?: Pricing;
}

/** Creates the ShortAPI provider: asynchronous jobs, created once, then polled or called back. */
export function shortApi(options: ShortApiOptions = {}): ShortApiProvider {
  return new ShortApiProvider(options);
}

export class ShortApiProvider implements ModelProvider {
  readonly specificationVersion = 'shoal.provider.v1' as const;
  readonly name = 'shortapi';
  /** ShortAPI has no cancel endpoint: a job already created runs on (and is paid) when its call is aborted. */
  readonly cancelsWork = false;
  readonly model: string;
  /** The model's prices: the `pricing` option over the known ones; undefined when unknown. */
  readonly pricing: Required<ModelPrices> | undefined;
  /** The base URL requests go to. */
  readonly baseURL: string;
  /** The adaptive poll schedule: when the first poll of a job goes, learnt from how long jobs take. */
  readonly schedule: PollSchedule;
  readonly #apiKey: string;
  /** The base URL's origin, for "could not be sent to ..." messages. */
  readonly #origin: string;
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
    const resolved = resolveShortApiOptions(options);
    const { apiKey, requestTimeoutMs, maxSockets } = resolved;
    this.#apiKey = apiKey;
    this.baseURL = resolved.baseURL;
    this.#origin = new URL(resolved.baseURL).origin;
    this.model = resolved.model;
    this.pricing = resolved.pricing;
    this.#defaultArgs = resolved.args;
    this.#maxJobWaitMs = resolved.maxJobWaitMs;
    this.schedule = new PollSchedule(resolved.poll);
    this.#http = new HttpClient({
      baseURL: this.baseURL,
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
      timeoutMs: requestTimeoutMs,
      maxSockets,
    });
    const callback = resolved.callback;
    if (callback) {
      this.#callbackDeadlineMs = callback.deadlineMs;
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
    const abortError = abortErrorOf(signal, this);
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
      // The receiver's start took a turn: the caller may have left meanwhile. Past this line
      // the create is sent and its answer awaited whatever happens to the caller: a job made
      // on the server must be booked and journaled, never lost with a destroyed socket.
      if (signal.aborted) throw abortError();
      context.onRequest?.('create');
      const created = await this.#send(
        'create',
        // Not the call's signal: only a hard stop (a shutdown past its grace) cuts a sent create off.
        {
          method: 'POST',
          path: CREATE_PATH,
          body,
          headers: { [IDEMPOTENCY_HEADER]: context.idempotencyKey },
          ...(context.hardStop ? { signal: context.hardStop } : {}),
        },
        undefined,
        abortError,
        parseCreateData,
        context.onAnswer,
      );
      const { jobId } = created;
      context.onJobCreated?.(jobId, created.amountUsd);
      if (signal.aborted) throw abortError();
      ticket?.setJobId(jobId);
      return await this.#wait(jobId, created.amountUsd, ticket, context, abortError, 1);
    } finally {
      ticket?.dispose();
    }
  }

  /**
   * Waits for a job created earlier (its id from a journal, or from a call of this process
   * that stopped waiting), without creating one: polling from the start, since that job's
   * callback ticket is gone.
   */
  async doResume(_request: CompletionRequest, jobId: string, context: ProviderCallContext): Promise<ProviderResult> {
    const abortError = abortErrorOf(context.signal, this);
    if (context.signal.aborted) throw abortError();
    try {
      return await this.#wait(jobId, undefined, undefined, context, abortError, 0);
    } catch (error) {
      if (JobNotFoundError.isInstance(error)) {
        throw new JobNotFoundError(
          `ShortAPI does not know job ${jobId}, created earlier and re-attached to by id (from the journal, or a call that stopped waiting): it may have expired, or the store was written against another server. Not created again by itself: with a store, the job id is taken out of its journal entry, so the next run creates the job again (counted in metrics().recovery.recreated, paid again).`,
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
    const clock = context.clock ?? systemClock;
    const startedAt = clock.now();
    let requests = requestsSoFar;
    let state: JobState | undefined;
    // A resumed job (no create just now) may well be done already: ask at once.
    let firstDelayMs = requestsSoFar === 0 ? 0 : this.schedule.firstDelayMs();
    if (ticket) {
      // A callback is a hint (A7): anyone holding its URL can POST. It is taken as it is
      // only when it reports success for this very job id, and even then its amount is not
      // (the charge comes from the create's answer or a query). Anything else (no job id, a
      // failure, which would make the executor pay for a new job) is confirmed by a query.
      const deadlineMs = this.#callbackDeadlineMs ?? Math.min(60_000, Math.max(2000, 4 * this.#callbackMeanMs));
      const outcome = await awaitCallback(ticket, deadlineMs, signal, abortError, clock);
      if (outcome?.kind === 'state' && outcome.state.state === 'succeeded' && outcome.state.jobId === jobId) {
        state = { ...outcome.state, amountUsd: undefined };
        this.#learnCallback(clock.now() - startedAt);
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
      throw new JobFailedError(`Job ${jobId} failed on the server (status ${state.status}): ${serverMessage ?? 'no message'}`, state.status, serverMessage, {
        jobId,
        attempt: context.attempt,
        callId: context.callId,
      });
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
      waitMs: clock.now() - startedAt,
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

  async #poll(jobId: string, firstDelayMs: number, context: ProviderCallContext, abortError: () => unknown, startedAt: number) {
    const { signal } = context;
    const clock = context.clock ?? systemClock;
    let wait = firstDelayMs;
    let pollIndex = 1;
    let failures = 0;
    let requests = 0;
    for (;;) {
      if (wait > 0) await sleep(wait, signal, abortError, clock);
      else if (signal.aborted) throw abortError();
      const paced = context.beforeQuery?.();
      if (paced) {
        try {
          await paced;
        } catch {
          throw abortError();
        }
      }
      requests++;
      context.onRequest?.('query');
      let state: JobState;
      try {
        state = await this.#send(
          'query',
          { method: 'GET', path: queryPath(jobId), headers: this.#queryHeaders, signal },
          jobId,
          abortError,
          parseJobData,
          context.onAnswer,
        );
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
        // A poll is free to repeat until the job's own deadline; past it, the job is given up on (not failed: it may still finish).
        const waited = clock.now() - startedAt;
        if (waited + decision.delayMs > this.#maxJobWaitMs) {
          throw new TimeoutError(
            `Job ${jobId} could not be polled before its deadline (maxJobWaitMs ${this.#maxJobWaitMs} ms); last poll: ${ShoalError.isInstance(error) ? `${error.code}: ${error.message}` : String(error)}. It may still finish on the server.`,
            { jobId, attempt: context.attempt, callId: context.callId, cause: error },
          );
        }
        wait = decision.delayMs;
        continue;
      }
      failures = 0; // count consecutive failures only: a long job may meet several blips
      if (state.state !== 'pending') return { state, requests, doneAtFirstPoll: pollIndex === 1 };
      if (clock.now() - startedAt > this.#maxJobWaitMs) {
        throw new TimeoutError(
          `Job ${jobId} still pending (status ${state.status}) after ${Math.round(clock.now() - startedAt)} ms (maxJobWaitMs); it may still finish on the server.`,
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
      `ShortAPI ${what} does not fit the protocol: ${mismatch.message} (${formatIssues(mismatch.issues)})`,
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
    onAnswer: ((status: number) => void) | undefined,
  ): Promise<T> {
    const context: RequestContext = {
      service: 'ShortAPI',
      origin: this.#origin,
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
    onAnswer?.(response.status);
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
