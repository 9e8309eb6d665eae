import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ShoalConfigError } from '../src/errors.js';
import { HttpClient, HttpFailure } from '../src/http/http-client.js';
import { cleanups, listen, tls } from './http-fixtures.js';

/** A raw TCP server: `onData` sees each connection's bytes and answers as it likes. */
async function rawServer(onData: (socket: net.Socket, data: string, connection: number) => void) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const { port } = await listen(
    net.createServer((socket) => {
      const n = ++connections;
      sockets.add(socket);
      socket.on('data', (d) => onData(socket, d.toString('latin1'), n));
      socket.on('error', () => {});
    }),
  );
  cleanups.unshift(() => {
    for (const s of sockets) s.destroy();
  });
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

function client(url: string, options: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) {
  const c = new HttpClient({ baseURL: url, env: {}, ...options });
  cleanups.push(() => c.close());
  return c;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(HttpFailure);
      return error as HttpFailure;
    },
  );

describe('HttpClient: the wire', () => {
  it('sends one well-formed request (head and body in one write) and reads a chunked answer from node:http', async () => {
    let seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    const { port } = await listen(
      http.createServer((req, res) => {
        let body = '';
        req.on('data', (d) => {
          body += d;
        });
        req.on('end', () => {
          seen = { method: req.method, url: req.url, headers: req.headers, body };
          res.write('{"a":');
          res.end('"é"}');
        });
      }),
    );
    const c = client(`http://127.0.0.1:${port}/v1/`, { headers: { authorization: 'Bearer k', 'X-Extra': 'yes' } });
    const answer = await c.send({ method: 'POST', path: '/jobs?x=1', body: '{"q":"ü"}', headers: { 'idempotency-key': 'abc' } });
    expect(answer).toMatchObject({ status: 200, body: '{"a":"é"}' });
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect(seen).toMatchObject({ method: 'POST', url: '/v1/jobs?x=1', body: '{"q":"ü"}' });
    expect(seen.headers).toMatchObject({
      host: `127.0.0.1:${port}`,
      authorization: 'Bearer k',
      'x-extra': 'yes',
      'idempotency-key': 'abc',
      'content-type': 'application/json',
      'content-length': '10',
    });
  });

  it('keeps one connection alive across requests, and opens a new one after Connection: close', async () => {
    const s = await rawServer((socket, data) => {
      const close = data.includes('/close');
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${close ? 'Connection: close\r\n' : ''}\r\n{}`);
      if (close) socket.end();
    });
    const c = client(s.url);
    for (let i = 0; i < 3; i++) await c.send({ method: 'GET', path: '/a' });
    expect(s.connections()).toBe(1);
    await c.send({ method: 'GET', path: '/close' });
    await c.send({ method: 'GET', path: '/a' });
    expect(s.connections()).toBe(2);
  });

  it('holds requests past maxSockets until a connection is free, and answers them all', async () => {
    const waiting: net.Socket[] = [];
    const s = await rawServer((socket) => {
      waiting.push(socket);
      if (waiting.length === 2) for (const w of waiting.splice(0)) w.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
    });
    const c = client(s.url, { maxSockets: 2 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => c.send({ method: 'GET', path: '/' })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(s.connections()).toBe(2);
  });

  it('aborts a request in flight by closing its connection, and one still queued without sending it', async () => {
    const closed: number[] = [];
    const requests: number[] = [];
    const s = await rawServer((socket, _data, n) => {
      requests.push(n);
      socket.on('close', () => closed.push(n));
    });
    const c = client(s.url, { maxSockets: 1 });
    const first = new AbortController();
    const second = new AbortController();
    const inFlight = failure(c.send({ method: 'POST', path: '/', body: '{}', signal: first.signal }));
    const queued = failure(c.send({ method: 'POST', path: '/', body: '{}', signal: second.signal }));
    while (requests.length === 0) await new Promise((r) => setImmediate(r));
    second.abort();
    expect((await queued).kind).toBe('aborted');
    first.abort();
    expect((await inFlight).kind).toBe('aborted');
    while (closed.length === 0) await new Promise((r) => setImmediate(r));
    expect(requests).toEqual([1]);
  });

  it('one signal shared by queued requests: its abort sends none of those still waiting', async () => {
    const requests: number[] = [];
    const s = await rawServer((_socket, _data, n) => requests.push(n));
    const c = client(s.url, { maxSockets: 2 });
    const shared = new AbortController();
    const calls = Array.from({ length: 5 }, () => failure(c.send({ method: 'POST', path: '/', body: '{}', signal: shared.signal })));
    while (requests.length < 2) await new Promise((r) => setImmediate(r));
    shared.abort();
    expect((await Promise.all(calls)).map((e) => e.kind)).toEqual(['aborted', 'aborted', 'aborted', 'aborted', 'aborted']);
    // Two more turns of the server's loop: anything written after the abort would have arrived by now.
    await c.send({ method: 'GET', path: '/' }).catch(() => {});
    expect(s.connections()).toBe(3);
  });

  it('close() fails the requests still waiting for a connection without sending them', async () => {
    const requests: number[] = [];
    const s = await rawServer((_socket, _data, n) => requests.push(n));
    const c = client(s.url, { maxSockets: 1 });
    const calls = Array.from({ length: 3 }, () => failure(c.send({ method: 'POST', path: '/', body: '{}' })));
    while (requests.length < 1) await new Promise((r) => setImmediate(r));
    c.close();
    expect((await Promise.all(calls)).map((e) => e.kind)).toEqual(['answer-lost', 'not-sent', 'not-sent']);
    expect(s.connections()).toBe(1);
  });

  it('a create whose deadline passed while it waited for a connection is failed unsent, never written late', async () => {
    const requests: string[] = [];
    const s = await rawServer((_socket, data) => requests.push(data.split(' ')[1]!));
    const c = client(s.url, { maxSockets: 1, timeoutMs: 50 });
    const first = failure(c.send({ method: 'POST', path: '/first', body: '{}' }));
    const second = failure(c.send({ method: 'POST', path: '/second', body: '{}' }));
    expect(await first).toMatchObject({ kind: 'answer-lost', errorCode: 'ETIMEDOUT' });
    expect(await second).toMatchObject({ kind: 'not-sent', errorCode: 'ETIMEDOUT' });
    await c.send({ method: 'GET', path: '/after' }).catch(() => {});
    expect(requests).not.toContain('/second');
  });

  it('quotes none of a malformed answer in its error: a server echoing the key leaks nothing', async () => {
    const key = 'sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const s = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\n authorization: Bearer ${key}\r\n\r\n`));
    const error = await failure(client(s.url, { headers: { authorization: `Bearer ${key}` } }).send({ method: 'POST', path: '/', body: '{}' }));
    expect(error.kind).toBe('answer-lost');
    expect(`${error.message} ${String((error.cause as Error | undefined)?.message)}`).not.toMatch(/sk-proj|ABCDEF/);
  });

  it('a malformed answer is a lost answer; one over maxBodyBytes is too-large; neither connection is reused', async () => {
    const s = await rawServer((socket, data) => {
      socket.write(data.includes('/garbage') ? 'HTTP/1.1 2OO OK\r\n\r\n' : 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
    });
    const c = client(s.url, { maxBodyBytes: 50 });
    const garbage = await failure(c.send({ method: 'POST', path: '/garbage', body: '{}' }));
    expect(garbage).toMatchObject({ kind: 'answer-lost', errorCode: 'HPE_INVALID' });
    expect(garbage.message).toMatch(/POST failed: not an HTTP\/1.x status line/);
    expect((await failure(c.send({ method: 'GET', path: '/big' }))).kind).toBe('too-large');
    expect(s.connections()).toBe(2);
  });

  it('a server that closes an idle kept-alive connection costs nothing: the next request takes a new one', async () => {
    let closes = 0;
    const s = await rawServer((socket) => {
      socket.on('close', () => closes++);
      // Answered as keep-alive, then closed at once: the client must drop the connection from its pool.
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
    });
    const c = client(s.url);
    await c.send({ method: 'GET', path: '/' });
    // The server's socket closes only once the client has closed its end too, i.e. has seen the close.
    while (closes === 0) await new Promise((r) => setImmediate(r));
    expect((await c.send({ method: 'POST', path: '/', body: '{}' })).status).toBe(200);
    expect(s.connections()).toBe(2);
  });

  it('a connection refused is not-sent', async () => {
    const { port, server } = await listen(net.createServer());
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await failure(client(`http://127.0.0.1:${port}`).send({ method: 'POST', path: '/', body: '{}' }));
    expect(error).toMatchObject({ kind: 'not-sent', errorCode: 'ECONNREFUSED' });
  });

  it('refuses a header that could split the request, or that it writes itself, before anything is sent', () => {
    expect(() => new HttpClient({ baseURL: 'http://127.0.0.1:9', headers: { 'x-a': 'v\r\nInjected: 1' } })).toThrow(ShoalConfigError);
    expect(() => new HttpClient({ baseURL: 'http://127.0.0.1:9', headers: { 'x-a': 'sk-secret\n' } })).toThrow(/must be a string of printable characters/);
    expect(() => new HttpClient({ baseURL: 'http://127.0.0.1:9', headers: { 'x-a': 'bell\u0007' } })).toThrow(ShoalConfigError);
    expect(() => new HttpClient({ baseURL: 'http://127.0.0.1:9', headers: { 'x-a': 'snow \u2603' } })).toThrow(ShoalConfigError);
    expect(() => new HttpClient({ baseURL: 'http://127.0.0.1:9', headers: { 'x-a': 'tab\tand café' } })).not.toThrow();
    expect(() => new HttpClient({ baseURL: 'http://127.0.0.1:9', headers: { 'x-a': 'sk-secret\n' } })).not.toThrow(/sk-secret/);
    expect(() => new HttpClient({ baseURL: 'http://127.0.0.1:9', headers: { 'bad name': 'v' } })).toThrow(/not a valid HTTP header name/);
    expect(() => new HttpClient({ baseURL: 'http://127.0.0.1:9', headers: { 'Content-Length': '5' } })).toThrow(/set by shoal itself/);
  });
});

describe('HttpClient: TLS', () => {
  it('speaks HTTPS to a server whose certificate it is given, and refuses one it is not (not-sent)', async () => {
    let connections = 0;
    const { port, server } = await listen(https.createServer(tls, (_req, res) => res.end('{"ok":true}')));
    server.on('secureConnection', () => connections++);
    const trusted = client(`https://localhost:${port}`, { ca: tls.cert });
    for (let i = 0; i < 2; i++) expect(await trusted.send({ method: 'POST', path: '/', body: '{}' })).toMatchObject({ status: 200, body: '{"ok":true}' });
    expect(connections).toBe(1);
    const error = await failure(client(`https://127.0.0.1:${port}`).send({ method: 'POST', path: '/', body: '{}' }));
    expect(error.kind).toBe('not-sent');
    expect(error.errorCode).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });
});
