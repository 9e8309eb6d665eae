/**
 * An HTTP/1.1 answer read from the bytes of one connection, as they arrive: the status line,
 * the headers, then a body framed by Content-Length, by chunked transfer coding, or by the
 * connection's close. Only what a client of JSON APIs meets is accepted; anything else is
 * a `ResponseParseError`, never a guess. Its messages never quote the bytes: a server may
 * echo the request's headers, the key among them, and a cut quote would escape redaction.
 */

/** Response headers, names in lower case; `set-cookie` is the one list, others repeated are joined with `, `. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface ParsedResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: string;
  /** Whether the connection may carry another request. */
  readonly keepAlive: boolean;
  /** How long the server keeps the connection while idle (`Keep-Alive: timeout=N`), if it says. */
  readonly keepAliveMs: number | undefined;
}

/** A malformed or unacceptable answer. `tooLarge`: over the client's limit. */
export class ResponseParseError extends Error {
  constructor(
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/** As Node's own client: a head over 16 KiB is refused. */
const MAX_HEAD_BYTES = 16 * 1024;
const CRLF = 0x0a0d; // "\r\n" read little-endian
const STATUS_LINE = /^HTTP\/1\.[01] \d{3}(?: [^\r\n\0]*)?$/;
/** The characters of a header name (RFC 9110's token), by char code. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN[c.charCodeAt(0)] = 1;

/** Whether `text` from `start` to `end` is a header name. */
function isToken(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN[c] === 0) return false;
  }
  return true;
}

/** `text` from `start` to `end` without the spaces and tabs around it. */
function trimmed(text: string, start: number, end: number): string {
  let a = start;
  let b = end;
  while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
  return text.slice(a, b);
}

/** Repeated header lines, joined as one value. */
function joined(prior: string | undefined, value: string): string {
  return prior === undefined ? value : `${prior}, ${value}`;
}

/** Whether `text` from `start` to `end` holds no CR, LF or NUL (the rest of a header line's value is taken as it is). */
function isFieldValue(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return false;
  }
  return true;
}

/** The header lines of a head already checked (from `from`, past the status line) as an object. */
function parseHeaders(text: string, from: number): ResponseHeaders {
  // No prototype: a header named `__proto__` or `constructor` is a header like any other.
  const headers: ResponseHeaders = Object.create(null) as ResponseHeaders;
  for (let at = from, eol = from - 2; at < text.length; at = eol + 2) {
    eol = text.indexOf('\r\n', at);
    if (eol < 0) eol = text.length;
    const colon = text.indexOf(':', at);
    const name = text.slice(at, colon).toLowerCase();
    const value = trimmed(text, colon + 1, eol);
    const prior = headers[name];
    if (name === 'set-cookie') headers[name] = prior === undefined ? [value] : [...(prior as string[]), value];
    else if (prior === undefined) headers[name] = value;
    else if (name !== 'content-length') headers[name] = `${prior}, ${value}`;
  }
  return headers;
}

/** A complete answer; its headers are made into an object only when read (most answers are read for their body alone). */
class Answer implements ParsedResponse {
  #headers: ResponseHeaders | undefined;
  readonly #head: string;
  readonly #from: number;
  constructor(
    readonly status: number,
    readonly body: string,
    readonly keepAlive: boolean,
    readonly keepAliveMs: number | undefined,
    head: string,
    from: number,
  ) {
    this.#head = head;
    this.#from = from;
  }

  get headers(): ResponseHeaders {
    this.#headers ??= parseHeaders(this.#head, this.#from);
    return this.#headers;
  }
}

type Framing = 'length' | 'chunked' | 'close';

export class ResponseParser {
  readonly #maxBodyBytes: number;
  /** Bytes received and not yet consumed. */
  #pending: Buffer | undefined;
  #started = false;
  #status = 0;
  /** The answer's head, and where its header lines start. */
  #headText = '';
  #headersFrom = 0;
  #keepAlive = false;
  #keepAliveMs: number | undefined;
  #framing: Framing | undefined;
  /** Body bytes still expected (length framing), or left in the current chunk (chunked). */
  #remaining = 0;
  #body: Buffer[] = [];
  #bodyBytes = 0;
  /** Chunked framing: after a chunk's data, its CRLF is still due. */
  #chunkEnd = false;
  /** Chunked framing: the last chunk came; trailer lines until an empty one. */
  #trailers = false;
  #done: ParsedResponse | undefined;

  constructor(maxBodyBytes: number) {
    this.#maxBodyBytes = maxBodyBytes;
  }

  /** Whether any byte of an answer has arrived. */
  get started(): boolean {
    return this.#started;
  }

  /** Takes the next bytes; returns the answer once it is complete. Bytes after that are refused (no pipelining here). */
  push(chunk: Buffer): ParsedResponse | undefined {
    if (this.#done) throw new ResponseParseError('bytes arrived after the answer was complete');
    this.#started = true;
    let data = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    while (this.#framing === undefined) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        if (data.length > MAX_HEAD_BYTES) throw new ResponseParseError(`the answer's head is larger than ${MAX_HEAD_BYTES} bytes`);
        this.#pending = data;
        return undefined;
      }
      if (end > MAX_HEAD_BYTES) throw new ResponseParseError(`the answer's head is larger than ${MAX_HEAD_BYTES} bytes`);
      const informational = this.#head(data.toString('latin1', 0, end));
      data = data.subarray(end + 4);
      if (informational) continue;
      if (this.#framing === 'length' && this.#remaining === 0) return this.#finish(data);
    }
    if (this.#framing === 'length') {
      if (data.length < this.#remaining) {
        this.#take(data);
        this.#remaining -= data.length;
        return undefined;
      }
      this.#take(data.subarray(0, this.#remaining));
      const rest = data.subarray(this.#remaining);
      this.#remaining = 0;
      return this.#finish(rest);
    }
    if (this.#framing === 'close') {
      this.#take(data);
      return undefined;
    }
    return this.#chunked(data);
  }

  /** The connection ended: the answer, when its framing is the close; else undefined (it was cut short). */
  end(): ParsedResponse | undefined {
    if (this.#done || this.#framing !== 'close') return undefined;
    this.#keepAlive = false;
    return this.#finish(undefined);
  }

  /** Reads a head; returns true for an informational (1xx) one, which another head follows. (By hand: this runs on every answer.) */
  #head(text: string): boolean {
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = text.length;
    const statusLine = text.slice(0, eol);
    if (!STATUS_LINE.test(statusLine)) throw new ResponseParseError('not an HTTP/1.x status line');
    const code = Number(statusLine.slice(9, 12));
    // Every line is checked now; only the headers that frame the answer are read now (the rest when asked for).
    const from = eol + 2;
    let length: string | undefined;
    let coding: string | undefined;
    let connection: string | undefined;
    let keepAlive: string | undefined;
    for (let at = from; at < text.length; at = eol + 2) {
      eol = text.indexOf('\r\n', at);
      if (eol < 0) eol = text.length;
      const colon = text.indexOf(':', at);
      // No name, a name with other characters (folded lines start with a space), a bare CR or LF or NUL in the value.
      if (colon < 0 || colon > eol || !isToken(text, at, colon) || !isFieldValue(text, colon + 1, eol)) throw new ResponseParseError('a malformed header line');
      const size = colon - at;
      if (size !== 14 && size !== 17 && size !== 10) continue;
      const name = text.slice(at, colon).toLowerCase();
      if (name === 'content-length') {
        const value = trimmed(text, colon + 1, eol);
        if (length !== undefined && length !== value) throw new ResponseParseError('two different Content-Length headers');
        length = value;
      } else if (name === 'transfer-encoding') coding = joined(coding, trimmed(text, colon + 1, eol));
      else if (name === 'connection') connection = joined(connection, trimmed(text, colon + 1, eol));
      else if (name === 'keep-alive') keepAlive = joined(keepAlive, trimmed(text, colon + 1, eol));
    }
    if (code < 100) throw new ResponseParseError(`status ${code} is not an HTTP status`);
    if (code < 200) {
      if (code === 101) throw new ResponseParseError('the server switched protocols, which was not asked for');
      return true;
    }
    this.#status = code;
    this.#headText = text;
    this.#headersFrom = from;
    if (keepAlive !== undefined) {
      const timeout = /(?:^|[\s,;])timeout=(\d+)/i.exec(keepAlive);
      if (timeout) this.#keepAliveMs = Number(timeout[1]) * 1000;
    }
    this.#keepAlive = statusLine.charCodeAt(7) === 49 /* HTTP/1.1 */ && !(connection !== undefined && /(?:^|,)\s*close\s*(?:,|$)/i.test(connection));
    if (code === 204 || code === 304) {
      this.#framing = 'length';
      this.#remaining = 0;
    } else if (coding !== undefined) {
      // No Accept-Encoding is sent, so chunked is the one coding to expect; anything else would be read undecoded.
      if (statusLine.charCodeAt(7) !== 49) throw new ResponseParseError('Transfer-Encoding in an HTTP/1.0 answer');
      if (!/^\s*chunked\s*$/i.test(coding)) throw new ResponseParseError('a transfer coding other than chunked');
      this.#framing = 'chunked';
      // Beside Content-Length, the coding wins but the connection is not trusted again (RFC 9112, 6.3).
      if (length !== undefined) this.#keepAlive = false;
    } else if (length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) throw new ResponseParseError('an invalid Content-Length');
      this.#framing = 'length';
      this.#remaining = Number(length);
      this.#checkSize(this.#remaining);
    } else this.#framing = 'close';
    if (this.#framing === 'close') this.#keepAlive = false;
    return false;
  }

  #chunked(input: Buffer): ParsedResponse | undefined {
    let data = input;
    for (;;) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, data.length);
        this.#take(data.subarray(0, n));
        this.#remaining -= n;
        data = data.subarray(n);
        if (this.#remaining > 0) return undefined;
        this.#chunkEnd = true;
      }
      if (data.length < 2) break;
      if (this.#chunkEnd) {
        if (data.readUInt16LE(0) !== CRLF) throw new ResponseParseError('a chunk not followed by CRLF');
        this.#chunkEnd = false;
        data = data.subarray(2);
        continue;
      }
      const eol = data.indexOf('\r\n');
      if (eol < 0) {
        if (data.length > 1024) throw new ResponseParseError('a chunk size line longer than 1024 bytes');
        break;
      }
      const line = data.toString('latin1', 0, eol);
      data = data.subarray(eol + 2);
      if (this.#trailers) {
        if (line === '') return this.#finish(data);
        continue;
      }
      const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line);
      if (size === null) throw new ResponseParseError('an invalid chunk size line');
      this.#remaining = Number.parseInt(size[1]!, 16);
      if (this.#remaining === 0) this.#trailers = true;
      else this.#checkSize(this.#bodyBytes + this.#remaining);
    }
    this.#pending = data.length > 0 ? data : undefined;
    return undefined;
  }

  #take(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#bodyBytes += bytes.length;
    this.#checkSize(this.#bodyBytes);
    this.#body.push(bytes);
  }

  #checkSize(bytes: number): void {
    if (bytes > this.#maxBodyBytes) throw new ResponseParseError(`answer larger than ${this.#maxBodyBytes} bytes`, true);
  }

  #finish(rest: Buffer | undefined): ParsedResponse {
    // Bytes past a complete answer (no pipelining here): the answer stands (a create's answer is never thrown away),
    // but the connection can no longer be trusted to frame the next one.
    if (rest !== undefined && rest.length > 0) this.#keepAlive = false;
    const parts = this.#body;
    const body = parts.length === 0 ? '' : parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts).toString('utf8');
    this.#done = new Answer(this.#status, body, this.#keepAlive, this.#keepAliveMs, this.#headText, this.#headersFrom);
    return this.#done;
  }
}
