import { ShoalConfigError } from '../errors.js';
import { whenAborted } from '../util/abort-listeners.js';
import { NEVER_ABORTED } from '../util/never-signal.js';
import { Connection, type ConnectionOwner, type Exchange } from './connection.js';
import { HttpFailure } from './http-failure.js';
import { bare, openSocket, proxyFor, type Target } from './proxy.js';
import { type ParsedResponse, type ResponseHeaders, ResponseParser } from './response-parser.js';

/**
 * The HTTP layer: keep-alive HTTP/1.1 connections over `node:net` and `node:tls`, one pool
 * per client, proxies from the environment. Measured in `pnpm bench floor`, node:http's
 * client (its request and answer streams, its agent, a timer per socket) cost more CPU per
 * call than all of shoal's own work; this layer writes each request in one piece and reads
 * the answer without streams (docs/decisions/2026-12-05-speed-floor.md).
 */

export { HttpFailure } from './http-failure.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: string;
}

export interface HttpClientOptions {
  readonly baseURL: string;
  /** Headers sent on every request (e.g. Authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  /** @default 256 */
  readonly maxSockets?: number;
  /** Per-request timeout, from the call to the complete answer (no answer by then: failure). @default 30000 */
  readonly timeoutMs?: number;
  /** @default 8 MiB */
  readonly maxBodyBytes?: number;
  /** Where proxies are read from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Certificates to trust instead of the default ones (tests against a local TLS server). */
  readonly ca?: string;
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
 * A connection free this long may have been closed by the server while idle. A request that
 * must not run twice (a create) never goes out on one: a reset after writing could be that
 * idle close (the server never read the request) or the server dropping a request it had
 * acted on, and no timing tells the two apart on a fast network. So such a connection is
 * closed before anything is written on it, and the request takes another.
 */
const IDLE_REUSE_MS = 1000;

/** Headers the client writes itself. */
const OWN_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerLines(headers: Readonly<Record<string, string>> | undefined, where: string): string {
  let lines = '';
  for (const name in headers) {
    const value = headers[name]!;
    if (!TOKEN.test(name)) throw new ShoalConfigError(`The header name ${JSON.stringify(name)} in ${where} is not a valid HTTP header name.`);
    // The value is not quoted: it may be a key.
    // Tab, visible ASCII and Latin-1, as node:http allows; nothing that could end the line or the head.
    if (typeof value !== 'string' || /[^\t\x20-\x7e\x80-\xff]/.test(value))
      throw new ShoalConfigError(
        `The header ${JSON.stringify(name)} in ${where} must be a string of printable characters (no line breaks, control characters or characters past U+00FF).`,
      );
    if (OWN_HEADERS.has(name.toLowerCase())) throw new ShoalConfigError(`The header ${JSON.stringify(name)} in ${where} is set by shoal itself: leave it out.`);
    lines += `${name}: ${value}\r\n`;
  }
  return lines;
}

/** A request waiting for a connection (all are busy at `maxSockets`). */
interface Waiting {
  readonly exchange: Request;
  readonly bytes: string;
  readonly signal: AbortSignal | undefined;
}

/** A request in flight: settles the caller's promise. */
class Request implements Exchange {
  readonly parser: ResponseParser;
  unlisten: (() => void) | undefined;
  constructor(
    readonly method: string,
    readonly idempotent: boolean,
    readonly deadline: number,
    maxBodyBytes: number,
    readonly resolve: (response: HttpResponse) => void,
    readonly reject: (error: HttpFailure) => void,
  ) {
    this.parser = new ResponseParser(maxBodyBytes);
  }

  done(error: HttpFailure | undefined, response: ParsedResponse | undefined): void {
    this.unlisten?.();
    if (error !== undefined) this.reject(error);
    else this.resolve(response!);
  }
}

export class HttpClient implements ConnectionOwner {
  readonly #target: Target;
  /** What precedes the path on the request line: empty, or the origin when an http proxy is asked in absolute form. */
  readonly #pathPrefix: string;
  /** The headers of every request, as lines: host, the client's own, proxy credentials. */
  readonly #fixedHead: string;
  readonly #maxSockets: number;
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;
  /** Idle connections, the most recently used last (taken first). */
  readonly #free: Connection[] = [];
  readonly #busy = new Set<Connection>();
  readonly #waiting: Waiting[] = [];
  #open = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: HttpClientOptions) {
    const url = new URL(options.baseURL);
    const secure = url.protocol === 'https:';
    const proxy = proxyFor(url, options.env ?? process.env);
    const hostname = bare(url.hostname);
    const port = url.port ? Number(url.port) : secure ? 443 : 80;
    this.#target = { secure, hostname, port, proxy, ca: options.ca };
    const basePath = url.pathname.replace(/\/+$/, '');
    const viaProxy = proxy !== undefined && !secure;
    this.#pathPrefix = viaProxy ? `http://${url.host}${basePath}` : basePath;
    this.#fixedHead =
      `host: ${url.host}\r\n${headerLines(options.headers, 'the client headers')}` +
      (viaProxy && proxy.authorization ? `proxy-authorization: ${proxy.authorization}\r\n` : '');
    this.#maxSockets = options.maxSockets ?? 256;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  }

  send(request: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const signal = request.signal === NEVER_ABORTED ? undefined : request.signal;
      if (signal?.aborted) {
        reject(new HttpFailure('aborted', 'aborted before sending', undefined));
        return;
      }
      const body = request.body;
      const bytes =
        `${request.method} ${this.#pathPrefix}${request.path} HTTP/1.1\r\n${this.#fixedHead}` +
        (request.headers === undefined ? '' : headerLines(request.headers, 'the request headers')) +
        (body === undefined ? '\r\n' : `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      const exchange = new Request(
        request.method,
        request.idempotent ?? request.method === 'GET',
        performance.now() + this.#timeoutMs,
        this.#maxBodyBytes,
        resolve,
        reject,
      );
      const connection = this.#take(exchange.idempotent);
      if (connection === undefined) {
        const waiting = { exchange, bytes, signal };
        this.#waiting.push(waiting);
        if (signal) exchange.unlisten = whenAborted(signal, () => this.#giveUp(waiting, new HttpFailure('aborted', 'aborted', undefined)));
      } else this.#start(connection, exchange, bytes, signal);
      this.#sweeper ??= this.#startSweeper();
    });
  }

  /** Closes every connection; requests in flight fail. The client stays usable: a later request opens new ones. */
  close(): void {
    // The queue first: a connection closed below frees a place, which must not go to a request waiting here.
    for (const waiting of this.#waiting.splice(0)) waiting.exchange.done(new HttpFailure('not-sent', 'the client was closed', undefined), undefined);
    for (const connection of [...this.#free, ...this.#busy]) connection.destroy();
  }

  release(connection: Connection): void {
    this.#busy.delete(connection);
    const next = this.#nextWaiting();
    if (next !== undefined) {
      this.#startWaiting(connection, next);
      return;
    }
    connection.park();
    this.#free.push(connection);
  }

  forget(connection: Connection): void {
    this.#open--;
    this.#busy.delete(connection);
    const at = this.#free.lastIndexOf(connection);
    if (at >= 0) this.#free.splice(at, 1);
    // A place came free: the first waiting request takes a new connection.
    const next = this.#nextWaiting();
    if (next !== undefined) this.#startWaiting(this.#connect(), next);
  }

  /** A connection for the next request, or undefined when all `maxSockets` are busy. */
  #take(idempotent: boolean): Connection | undefined {
    for (;;) {
      const connection = this.#free.pop();
      if (connection === undefined) break;
      // Written before anything could be: a create never goes out on a connection idle long enough to be closing.
      // A server that says how long it keeps an idle connection (Keep-Alive: timeout=N) is believed, with a margin.
      const idle = performance.now() - connection.lastUsed;
      if (idle >= (idempotent ? connection.keepAliveMs : Math.min(IDLE_REUSE_MS, connection.keepAliveMs / 2))) {
        connection.destroy();
        continue;
      }
      connection.unpark();
      return connection;
    }
    return this.#open < this.#maxSockets ? this.#connect() : undefined;
  }

  #connect(): Connection {
    this.#open++;
    return new Connection(this, openSocket(this.#target));
  }

  /** Sends a request on a connection; its abort now closes that connection (the server stops the work). */
  #start(connection: Connection, exchange: Request, bytes: string, signal: AbortSignal | undefined): void {
    exchange.unlisten = signal ? whenAborted(signal, () => connection.abort()) : undefined;
    this.#busy.add(connection);
    connection.start(exchange, bytes);
  }

  /**
   * The first waiting request still to be sent. One whose signal aborted (a shared signal may
   * reach it only after the abort that freed this place) or whose deadline passed is failed
   * here, unsent: a create is never written after its caller stopped waiting for it.
   */
  #nextWaiting(): Waiting | undefined {
    for (let waiting = this.#waiting.shift(); waiting !== undefined; waiting = this.#waiting.shift()) {
      if (waiting.signal?.aborted) waiting.exchange.done(new HttpFailure('aborted', 'aborted', undefined), undefined);
      else if (waiting.exchange.deadline <= performance.now()) waiting.exchange.done(this.#queueTimeout(waiting), undefined);
      else return waiting;
    }
    return undefined;
  }

  #queueTimeout(waiting: Waiting): HttpFailure {
    return new HttpFailure(
      'not-sent',
      `${waiting.exchange.method} failed: ETIMEDOUT (no answer within ${this.#timeoutMs} ms: every connection stayed busy)`,
      'ETIMEDOUT',
    );
  }

  #startWaiting(connection: Connection, waiting: Waiting): void {
    // Its abort no longer takes it out of the queue (a signal aborted while it waited already did).
    waiting.exchange.unlisten?.();
    this.#start(connection, waiting.exchange, waiting.bytes, waiting.signal);
  }

  #giveUp(waiting: Waiting, failure: HttpFailure): void {
    const at = this.#waiting.indexOf(waiting);
    if (at < 0) return;
    this.#waiting.splice(at, 1);
    waiting.exchange.done(failure, undefined);
  }

  /** One timer for every request's deadline, rather than one per request; it stops when nothing is in flight. */
  #startSweeper(): ReturnType<typeof setInterval> {
    const every = Math.min(1000, Math.max(5, Math.floor(this.#timeoutMs / 8)));
    const timer = setInterval(() => {
      if (this.#busy.size === 0 && this.#waiting.length === 0) {
        clearInterval(timer);
        this.#sweeper = undefined;
        return;
      }
      const now = performance.now();
      // The queue first: a connection failed below frees a place, which must not go to a request already out of time.
      for (const waiting of [...this.#waiting]) if (waiting.exchange.deadline <= now) this.#giveUp(waiting, this.#queueTimeout(waiting));
      const message = `no answer within ${this.#timeoutMs} ms`;
      for (const connection of [...this.#busy]) if (connection.exchange !== undefined && connection.exchange.deadline <= now) connection.expire(message);
    }, every);
    timer.unref();
    return timer;
  }
}
