import type net from 'node:net';
import { HttpFailure } from './http-failure.js';
import type { Tunnel } from './proxy.js';
import { type ParsedResponse, ResponseParseError, type ResponseParser } from './response-parser.js';

/** One request on a connection: what the client waits on. */
export interface Exchange {
  readonly parser: ResponseParser;
  /** A request free to repeat (a poll); a create is judged more strictly when its connection fails. */
  readonly idempotent: boolean;
  readonly method: string;
  /** When, on `performance.now()`'s clock, it fails for want of an answer. */
  readonly deadline: number;
  done(error: HttpFailure | undefined, response: ParsedResponse | undefined): void;
}

/** The pool a connection belongs to. */
export interface ConnectionOwner {
  /** The answer is complete and the connection may carry another request. */
  release(connection: Connection): void;
  /** The connection is closed: no longer counted. Called once. */
  forget(connection: Connection): void;
}

/**
 * One keep-alive HTTP/1.1 connection, carrying one request at a time. Its socket's
 * listeners are set once, for its whole life: a request only sets `exchange`. A failure
 * before the answer is complete is judged here:
 * - nothing was sent (`not-sent`) when the connection never opened (refused, DNS, TLS, a
 *   proxy's refusal), or when a request free to repeat met a reset on a reused connection
 *   before any byte of answer (the server closed it while idle: it never read the request);
 * - else the answer is lost (`answer-lost`): the server may have acted on it.
 */
export class Connection {
  /** Requests it has answered. */
  uses = 0;
  /** When it last finished an answer, on `performance.now()`'s clock. */
  lastUsed = 0;
  /** How long the server said it keeps the connection open while idle (`Keep-Alive: timeout=N`). */
  keepAliveMs = Number.POSITIVE_INFINITY;
  #socket: net.Socket | undefined;
  #tunnel: Tunnel | undefined;
  #connected = false;
  #gone = false;
  #exchange: Exchange | undefined;
  /** A request written before a tunnel was open. */
  #queued: string | undefined;
  readonly #owner: ConnectionOwner;

  constructor(owner: ConnectionOwner, opened: net.Socket | Tunnel) {
    this.#owner = owner;
    if ('ready' in opened) {
      this.#tunnel = opened;
      opened.ready.then(
        (socket) => {
          this.#tunnel = undefined;
          if (this.#gone) {
            socket.destroy();
            return;
          }
          this.#connected = true;
          this.#attach(socket);
          if (this.#queued !== undefined) socket.write(this.#queued);
          this.#queued = undefined;
        },
        (error: HttpFailure) => {
          this.#tunnel = undefined;
          const exchange = this.#exchange;
          this.#exchange = undefined;
          this.destroy();
          exchange?.done(error, undefined);
        },
      );
    } else {
      this.#attach(opened);
      opened.once('encrypted' in opened ? 'secureConnect' : 'connect', () => {
        this.#connected = true;
      });
    }
  }

  /** The request in flight, if any. */
  get exchange(): Exchange | undefined {
    return this.#exchange;
  }

  /** Sends a request; `bytes` is all of it, head and body. */
  start(exchange: Exchange, bytes: string): void {
    this.#exchange = exchange;
    if (this.#socket !== undefined) this.#socket.write(bytes);
    else this.#queued = bytes;
  }

  /** Idle in the pool: it no longer keeps the process alive. */
  park(): void {
    this.#socket?.unref();
  }

  unpark(): void {
    this.#socket?.ref();
  }

  /** Fails the request in flight: no answer by its deadline. */
  expire(message: string): void {
    this.#fail('ETIMEDOUT', `ETIMEDOUT (${this.#connected ? message : `not connected: ${message}`})`, undefined, true);
  }

  /** Gives up the request in flight: the connection is closed, so the server stops the work. */
  abort(): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.destroy();
    exchange?.done(new HttpFailure('aborted', 'aborted', undefined), undefined);
  }

  destroy(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#socket?.destroy();
    this.#tunnel?.cancel();
    this.#owner.forget(this);
  }

  #attach(socket: net.Socket): void {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('end', () => this.#end());
    socket.on('error', (error: NodeJS.ErrnoException) => this.#fail(error.code, error.code ?? error.message, error, false));
    socket.on('close', () => this.#fail('ECONNRESET', 'the connection closed before the answer was complete', undefined, false));
  }

  #data(chunk: Buffer): void {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      // Bytes nobody asked for: the connection can no longer be trusted to frame the next answer.
      this.destroy();
      return;
    }
    let response: ParsedResponse | undefined;
    try {
      response = exchange.parser.push(chunk);
    } catch (error) {
      const tooLarge = error instanceof ResponseParseError && error.tooLarge;
      this.#exchange = undefined;
      this.destroy();
      // Too large: the limit's own words, as the providers quote them; else what was wrong with the bytes.
      const message = tooLarge ? (error as Error).message : `${exchange.method} failed: ${(error as Error).message}`;
      exchange.done(new HttpFailure(tooLarge ? 'too-large' : 'answer-lost', message, tooLarge ? undefined : 'HPE_INVALID', { cause: error }), undefined);
      return;
    }
    if (response !== undefined) this.#complete(exchange, response);
  }

  #end(): void {
    const exchange = this.#exchange;
    const response = exchange?.parser.end();
    if (exchange !== undefined && response !== undefined) this.#complete(exchange, response);
    else this.#fail('ECONNRESET', 'the connection closed before the answer was complete', undefined, false);
  }

  #complete(exchange: Exchange, response: ParsedResponse): void {
    this.#exchange = undefined;
    if (response.keepAlive && !this.#gone) {
      this.uses++;
      this.lastUsed = performance.now();
      if (response.keepAliveMs !== undefined) this.keepAliveMs = response.keepAliveMs;
      this.#owner.release(this);
    } else this.destroy();
    exchange.done(undefined, response);
  }

  #fail(code: string | undefined, why: string, cause: unknown, timedOut: boolean): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.destroy();
    if (exchange === undefined) return;
    const idleClose = exchange.idempotent && this.uses > 0 && !exchange.parser.started && (code === 'ECONNRESET' || code === 'EPIPE');
    const notSent = !this.#connected || (idleClose && !timedOut);
    exchange.done(
      new HttpFailure(notSent ? 'not-sent' : 'answer-lost', `${exchange.method} failed: ${why}`, code, cause === undefined ? undefined : { cause }),
      undefined,
    );
  }
}
