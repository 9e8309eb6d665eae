import { describe, expect, it } from 'vitest';
import { type ParsedResponse, ResponseParseError, ResponseParser } from '../src/http/response-parser.js';

const MiB = 1024 * 1024;

/** Feeds `wire` in pieces cut at `cuts`; returns the answer and how many pushes completed it (one, at the last). */
function feed(wire: Buffer, cuts: readonly number[], max = MiB): ParsedResponse | undefined {
  const parser = new ResponseParser(max);
  let answer: ParsedResponse | undefined;
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    if (to <= from) continue;
    const got = parser.push(wire.subarray(from, to));
    if (got !== undefined) {
      expect(answer, 'completed twice').toBeUndefined();
      expect(to, 'completed before its last byte').toBe(wire.length);
      answer = got;
    }
    from = to;
  }
  return answer;
}

/** What an answer says, headers included (they are made when read). */
const seen = (answer: ParsedResponse | undefined) =>
  answer && { status: answer.status, headers: { ...answer.headers }, body: answer.body, keepAlive: answer.keepAlive, keepAliveMs: answer.keepAliveMs };

/** Every way of cutting `wire` in two, and byte by byte: the same answer each time. */
function everySplit(text: string): ParsedResponse {
  const wire = Buffer.from(text, 'utf8');
  const whole = feed(wire, []);
  expect(whole).toBeDefined();
  for (let at = 1; at < wire.length; at++) expect(seen(feed(wire, [at]))).toEqual(seen(whole));
  const byteByByte = Array.from({ length: wire.length }, (_, i) => i + 1);
  expect(seen(feed(wire, byteByByte))).toEqual(seen(whole));
  return whole!;
}

describe('ResponseParser: what a JSON API answers', () => {
  it('reads a Content-Length answer cut anywhere, UTF-8 split across pieces included', () => {
    const body = '{"label":"café ✓"}';
    const answer = everySplit(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    expect(seen(answer)).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json', 'content-length': '21' },
      body,
      keepAlive: true,
      keepAliveMs: undefined,
    });
  });

  it('reads a chunked answer with extensions and trailers, cut anywhere', () => {
    const answer = everySplit(
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{"a"\r\n6\r\n:"bé"\r\nA\r\n, "c": 12}\r\n0\r\nX-Trailer: yes\r\n\r\n',
    );
    expect(answer.status).toBe(201);
    expect(answer.body).toBe('{"a":"bé", "c": 12}');
    expect(answer.keepAlive).toBe(true);
  });

  it('reads an answer framed by the close, and the connection is not reused', () => {
    const parser = new ResponseParser(MiB);
    expect(parser.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n{"a":'))).toBeUndefined();
    expect(parser.push(Buffer.from('1}'))).toBeUndefined();
    expect(parser.end()).toMatchObject({ status: 200, body: '{"a":1}', keepAlive: false });
  });

  it('skips informational heads, and reads 204 without a body', () => {
    expect(
      everySplit('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'),
    ).toMatchObject({
      status: 200,
      body: '{}',
    });
    expect(everySplit('HTTP/1.1 204 No Content\r\n\r\n')).toMatchObject({ status: 204, body: '', keepAlive: true });
  });

  it('reads how long the server keeps an idle connection (Keep-Alive: timeout=N)', () => {
    expect(everySplit('HTTP/1.1 200 OK\r\nKeep-Alive: max=100, timeout=7\r\nContent-Length: 0\r\n\r\n').keepAliveMs).toBe(7000);
  });

  it('keeps set-cookie as a list, joins other repeated headers, and honours Connection: close and HTTP/1.0', () => {
    const answer = everySplit(
      'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nVary: x\r\nVary:  y \r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n',
    );
    expect(answer.headers).toEqual({ 'set-cookie': ['a=1', 'b=2'], vary: 'x, y', connection: 'keep-alive, close', 'content-length': '0' });
    expect(answer.keepAlive).toBe(false);
    expect(everySplit('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
  });

  it('keeps an answer followed by stray bytes, and does not reuse its connection; bytes in a later piece are refused', () => {
    const parser = new ResponseParser(MiB);
    expect(parser.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}\r\n'))).toMatchObject({ status: 200, body: '{}', keepAlive: false });
    expect(() => parser.push(Buffer.from('x'))).toThrow(/after the answer was complete/);
  });

  it('reads chunked beside Content-Length (the coding wins) but does not reuse the connection', () => {
    expect(everySplit('HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n')).toMatchObject({
      body: '{}',
      keepAlive: false,
    });
  });

  it('takes headers named after Object.prototype members as headers', () => {
    const answer = everySplit('HTTP/1.1 200 OK\r\n__proto__: x\r\nconstructor: y\r\nContent-Length: 0\r\n\r\n');
    expect(Object.getOwnPropertyDescriptor(answer.headers, '__proto__')?.value).toBe('x');
    expect(answer.headers.constructor).toBe('y');
  });

  it('says when the connection closed short of the answer', () => {
    const parser = new ResponseParser(MiB);
    expect(parser.started).toBe(false);
    parser.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"a"'));
    expect(parser.started).toBe(true);
    expect(parser.end()).toBeUndefined();
  });
});

describe('ResponseParser: what it refuses', () => {
  const refused = (wire: string | Buffer, max = MiB) => {
    const parser = new ResponseParser(max);
    try {
      parser.push(typeof wire === 'string' ? Buffer.from(wire) : wire);
    } catch (error) {
      expect(error).toBeInstanceOf(ResponseParseError);
      return error as ResponseParseError;
    }
    throw new Error('not refused');
  };

  it.each([
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n', /not an HTTP\/1.x status line/],
    ['a malformed header', 'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /malformed header line/],
    ['folded header lines', 'HTTP/1.1 200 OK\r\nA: 1\r\n  folded\r\n\r\n', /malformed header line/],
    ['two Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /two different Content-Length/],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /invalid Content-Length/],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /invalid chunk size/],
    ['a chunk without its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc', /not followed by CRLF/],
    ['an upgrade', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', /switched protocols/],
    ['a status under 100', 'HTTP/1.1 099 Odd\r\n\r\n', /status 99 is not an HTTP status/],
    ['a coding other than chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /transfer coding other than chunked/],
    ['Transfer-Encoding in HTTP/1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', /Transfer-Encoding in an HTTP\/1.0 answer/],
    ['a bare LF in a header', 'HTTP/1.1 200 OK\r\nA: 1\nB: 2\r\n\r\n', /malformed header line/],
  ])('%s', (_name, wire, message) => {
    const error = refused(wire);
    expect(error.message).toMatch(message);
    expect(error.tooLarge).toBe(false);
  });

  it('a head over 16 KiB, with or without its end', () => {
    expect(refused(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17_000)}`).message).toMatch(/head is larger than 16384 bytes/);
    expect(refused(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17_000)}\r\n\r\n`).message).toMatch(/head is larger/);
  });

  it('a body over the limit: from its Content-Length before it arrives, and as chunks arrive', () => {
    expect(refused('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n', 10).tooLarge).toBe(true);
    expect(refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n', 10).tooLarge).toBe(true);
    const parser = new ResponseParser(10);
    parser.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\nabcdef'));
    expect(() => parser.push(Buffer.from('ghijk'))).toThrow(/answer larger than 10 bytes/);
  });
});
