import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { nanoid } from 'nanoid';
import { type JobState, PayloadMismatch, parseEnvelope, parseJobData } from './protocol.js';

/**
 * An embedded node:http server that takes ShortAPI's callbacks. Every job gets its own
 * URL holding an unguessable token (nanoid, 126 bits), registered before the create is
 * sent so that a callback racing ahead of the create's answer is not lost.
 *
 * A callback with an unknown (or already used) token, a body over the limit, or a body
 * that is not JSON gets a 4xx and changes nothing. A body that is JSON but cannot be
 * validated, or that names no job id, is only a hint: the provider confirms it with one
 * query (A7). Even a body naming the right job is trusted for its text only, never for its
 * amount (the provider's rule).
 */

type CallbackOutcome = { readonly kind: 'state'; readonly state: JobState } | { readonly kind: 'hint' };

export interface CallbackTicket {
  readonly token: string;
  readonly url: string;
  /** Resolves on the first valid callback or hint for this token. */
  readonly arrived: Promise<CallbackOutcome>;
  /** Tell the ticket its job id once the create answered: a callback for another job id is then refused. */
  setJobId(jobId: string): void;
  /** Forget the token (further callbacks get 404). */
  dispose(): void;
}

export interface CallbackReceiverOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** The URL the server should call, when it differs from where we listen (a tunnel or proxy). @default `http://{host}:{port}` */
  readonly publicUrl?: string;
  /** @default 1 MiB */
  readonly maxBodyBytes?: number;
}

export interface CallbackReceiverStats {
  accepted: number;
  hints: number;
  unknownToken: number;
  tooLarge: number;
  badJson: number;
  wrongJob: number;
  pending: number;
}

interface Entry {
  jobId: string | undefined;
  resolve: (outcome: CallbackOutcome) => void;
}

const PATH_PREFIX = '/shoal/callback/';

export class CallbackReceiver {
  readonly #options: CallbackReceiverOptions;
  readonly #maxBodyBytes: number;
  readonly #entries = new Map<string, Entry>();
  readonly stats: CallbackReceiverStats = { accepted: 0, hints: 0, unknownToken: 0, tooLarge: 0, badJson: 0, wrongJob: 0, pending: 0 };
  #server: http.Server | undefined;
  #starting: Promise<void> | undefined;
  #baseURL = '';

  constructor(options: CallbackReceiverOptions = {}) {
    this.#options = options;
    this.#maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  /** Starts listening (once); later calls return the same promise. */
  start(): Promise<void> {
    this.#starting ??= new Promise<void>((resolve, reject) => {
      const server = http.createServer((req, res) => this.#handle(req, res));
      server.keepAliveTimeout = 5000;
      // The receiver keeps the process alive only while a job waits for its callback (see `register`): a program that
      // made its last call and never closed its executor still exits, as it would with polling.
      server.on('connection', (socket) => socket.unref());
      server.once('error', reject);
      server.listen(this.#options.port ?? 0, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address() as AddressInfo;
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        this.#baseURL = (this.#options.publicUrl ?? `http://${host}:${address.port}`).replace(/\/+$/, '');
        this.#server = server;
        if (this.#entries.size === 0) server.unref();
        resolve();
      });
    });
    return this.#starting;
  }

  get url(): string {
    return this.#baseURL;
  }

  register(): CallbackTicket {
    const token = nanoid(24);
    let resolve!: (outcome: CallbackOutcome) => void;
    const arrived = new Promise<CallbackOutcome>((r) => (resolve = r));
    const entry: Entry = { jobId: undefined, resolve };
    this.#entries.set(token, entry);
    if (this.#entries.size === 1) this.#server?.ref();
    return {
      token,
      url: `${this.#baseURL}${PATH_PREFIX}${token}`,
      arrived,
      setJobId: (jobId) => {
        entry.jobId = jobId;
      },
      dispose: () => {
        this.#forget(token);
      },
    };
  }

  /** A token is done with (answered, given up): the last one lets the process exit again. */
  #forget(token: string): void {
    this.#entries.delete(token);
    if (this.#entries.size === 0) this.#server?.unref();
  }

  async close(): Promise<void> {
    this.#entries.clear();
    const server = this.#server;
    this.#server = undefined;
    this.#starting = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #reply(res: http.ServerResponse, status: number, message: string, close = false): void {
    res.writeHead(status, { 'content-type': 'application/json', ...(close ? { connection: 'close' } : {}) });
    res.end(JSON.stringify({ ok: status < 300, message }));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    const token = url.startsWith(PATH_PREFIX) ? url.slice(PATH_PREFIX.length).split('?')[0]! : '';
    const entry = token ? this.#entries.get(token) : undefined;
    if (req.method !== 'POST' || !entry) {
      this.stats.unknownToken++;
      // Do not read what we will not use; close so an unread body cannot desync the socket.
      this.#reply(res, req.method !== 'POST' ? 405 : 404, 'unknown callback', true);
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.#maxBodyBytes) {
      this.stats.tooLarge++;
      this.#reply(res, 413, 'body too large', true);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > this.#maxBodyBytes) {
        refused = true;
        this.stats.tooLarge++;
        this.#reply(res, 413, 'body too large', true);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      this.#accept(token, entry, Buffer.concat(chunks).toString('utf8'), res);
    });
    req.on('error', () => {
      refused = true;
    });
  }

  #accept(token: string, entry: Entry, body: string, res: http.ServerResponse): void {
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      this.stats.badJson++;
      this.#reply(res, 400, 'body is not JSON');
      return;
    }
    let state: JobState | undefined;
    try {
      const envelope = parseEnvelope(payload);
      if (envelope.ok) state = parseJobData(envelope.data);
    } catch (error) {
      if (!(error instanceof PayloadMismatch)) throw error;
      try {
        state = parseJobData(payload); // the bare `data` object, without an envelope
      } catch {
        state = undefined;
      }
    }
    if (state === undefined || (state.state !== 'pending' && state.jobId === undefined)) {
      // JSON from someone holding the token, but not a shape we can trust, or a result that
      // does not say which job it is for: confirm by query.
      this.stats.hints++;
      this.#forget(token);
      entry.resolve({ kind: 'hint' });
      this.#reply(res, 202, 'accepted as a hint; the job will be confirmed by query');
      return;
    }
    const bodyJobId = state.state === 'pending' ? undefined : state.jobId;
    if (bodyJobId !== undefined && entry.jobId !== undefined && bodyJobId !== entry.jobId) {
      this.stats.wrongJob++;
      this.#reply(res, 409, 'callback is for another job');
      return;
    }
    if (state.state === 'pending') {
      this.stats.pending++;
      this.#reply(res, 202, 'job still pending');
      return;
    }
    this.stats.accepted++;
    this.#forget(token);
    entry.resolve({ kind: 'state', state });
    this.#reply(res, 200, 'ok');
  }
}
