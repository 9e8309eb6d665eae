import http from 'node:http';
import https from 'node:https';
import { whenAborted } from '../util/abort-listeners.js';
import { NEVER_ABORTED } from '../util/never-signal.js';

/**
 * The HTTP layer: node:http(s) with one keep-alive Agent per client. Measured on our
 * machines, Node 20's global fetch costs ~780 us of CPU per request and this ~240 us,
 * and the HTTP layer dominates the executor's own cost, so it is chosen on purpose.
 */

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Why a request failed before a full answer arrived. */
export type HttpFailureKind =
  /** The request was provably not processed: connection refused, DNS, or a reused keep-alive socket reset before any answer. */
  | 'not-sent'
  /** The request may have reached the server: the answer was lost (reset or timeout after sending). */
  | 'answer-lost'
  /** The answer was larger than allowed. */
  | 'too-large'
  | 'aborted';

export class HttpFailure extends Error {
  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    readonly errorCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HttpClientOptions {
  readonly baseURL: string;
  /** Headers sent on every request (e.g. Authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  /** @default 256 */
  readonly maxSockets?: number;
  /** Per-request timeout (no answer by then: failure). @default 30000 */
  readonly timeoutMs?: number;
  /** @default 8 MiB */
  readonly maxBodyBytes?: number;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  /** Path with query, appended to the base URL's path. */
  readonly path: string;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** A request that is free to repeat (a poll). A non-idempotent one (a create) is judged more strictly when its connection fails. @default method === 'GET' */
  readonly idempotent?: boolean;
}

/**
 * A socket free this long may have been closed by the server while idle. A request that
 * must not run twice (a create) never goes out on one: a reset after writing could be that
 * idle close (the server never read the request) or the server dropping a request it had
 * acted on, and no timing tells the two apart on a fast network. So such a socket is
 * retired before anything is written on it, and the request takes another.
 */
const IDLE_REUSE_MS = 1000;

/** When each socket last finished an answer (to tell an idle socket from a busy one). */
const lastUsed = new WeakMap<object, number>();

const SAFE_BEFORE_SEND = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export class HttpClient {
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #hostname: string;
  readonly #port: number;
  readonly #basePath: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;

  constructor(options: HttpClientOptions) {
    const url = new URL(options.baseURL);
    const secure = url.protocol === 'https:';
    const agentOptions: http.AgentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 256,
      maxFreeSockets: options.maxSockets ?? 256,
      scheduling: 'lifo',
    };
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#request = secure ? https.request : http.request;
    this.#hostname = url.hostname.replace(/^\[|\]$/g, '');
    this.#port = url.port ? Number(url.port) : secure ? 443 : 80;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#headers = options.headers ?? {};
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  }

  send(request: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const signal = request.signal === NEVER_ABORTED ? undefined : request.signal;
      const idempotent = request.idempotent ?? request.method === 'GET';
      if (signal?.aborted) {
        reject(new HttpFailure('aborted', 'aborted before sending', undefined));
        return;
      }
      const headers: Record<string, string | number> = Object.assign({}, this.#headers, request.headers);
      if (request.body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(request.body);
      }
      let settled = false;
      let answered = false;
      let unlisten: (() => void) | undefined;
      const finish = (error: HttpFailure | undefined, response?: HttpResponse) => {
        if (settled) return;
        settled = true;
        unlisten?.();
        if (error) reject(error);
        else resolve(response!);
      };
      const req = this.#request({
        agent: this.#agent,
        hostname: this.#hostname,
        port: this.#port,
        method: request.method,
        path: this.#basePath + request.path,
        headers,
        timeout: this.#timeoutMs,
      });
      req.on('timeout', () => {
        req.destroy(Object.assign(new Error(`no answer within ${this.#timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      const onAbort = () => {
        finish(new HttpFailure('aborted', 'aborted', undefined));
        req.destroy();
      };
      if (signal) unlisten = whenAborted(signal, onAbort);
      if (!idempotent) {
        req.once('socket', (socket) => {
          const last = lastUsed.get(socket);
          // Node writes the request only after 'socket' has been emitted: nothing has left yet.
          if (req.reusedSocket && last !== undefined && performance.now() - last >= IDLE_REUSE_MS) {
            settled = true;
            unlisten?.();
            req.destroy();
            resolve(this.send(request));
          }
        });
      }
      req.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code;
        // A keep-alive socket the server closed while idle fails with ECONNRESET before any
        // byte of answer: the server never read the request (Node's documented retry case).
        // Only a request free to repeat is judged so: a create never goes out on an idle
        // socket (see IDLE_REUSE_MS), so a reset after writing one means its answer was lost.
        const idleClose = idempotent && req.reusedSocket && code === 'ECONNRESET';
        const notSent = !answered && ((code !== undefined && SAFE_BEFORE_SEND.has(code)) || idleClose);
        finish(
          new HttpFailure(notSent ? 'not-sent' : 'answer-lost', `${request.method} failed: ${code ?? error.message}`, code, {
            cause: error,
          }),
        );
      });
      req.on('response', (res) => {
        answered = true;
        const socket = res.socket;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.#maxBodyBytes) {
            finish(new HttpFailure('too-large', `answer larger than ${this.#maxBodyBytes} bytes`, undefined));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        // A connection lost mid-answer surfaces as 'error' (ECONNRESET "aborted"), as an 'end' with
        // res.complete false, or only as 'close': whichever comes first settles (finish runs once).
        res.on('close', () => {
          // Normally after 'end', already settled: build no Error (its stack trace is costly) unless it is needed.
          if (!settled) finish(new HttpFailure('answer-lost', 'connection closed mid-answer', 'ECONNRESET'));
        });
        res.on('error', (error: NodeJS.ErrnoException) =>
          finish(new HttpFailure('answer-lost', `answer failed: ${error.code ?? error.message}`, error.code, { cause: error })),
        );
        res.on('end', () => {
          if (socket) lastUsed.set(socket, performance.now());
          if (!res.complete) {
            finish(new HttpFailure('answer-lost', 'connection closed mid-answer', 'ECONNRESET'));
            return;
          }
          const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body });
        });
      });
      req.end(request.body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
