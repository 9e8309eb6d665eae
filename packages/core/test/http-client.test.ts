import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AmbiguousCreateError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { HttpClient, HttpFailure } from '../src/http/http-client.js';
import { shortApi } from '../src/providers/shortapi/shortapi.js';

/** A server on 127.0.0.1 that counts its connections and hands each request to `handler`. */
async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
  let requests = 0;
  let connections = 0;
  const s = http.createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => handler(req, res, requests));
  });
  s.keepAliveTimeout = 60_000; // the server never closes an idle socket itself here
  s.on('connection', () => connections++);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      }),
  };
}

/**
 * Lets a keep-alive socket sit idle past the client's one-second mark, on fake time: the client reads a socket's idle
 * time from performance.now(), which these tests move forward instead of waiting. (If the client stops reading that
 * clock, the first test fails: its second create would reuse the socket.)
 */
let skewMs = 0;
const realNow = performance.now.bind(performance);
beforeEach(() => {
  skewMs = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => realNow() + skewMs);
});
afterEach(() => {
  vi.restoreAllMocks();
});
const idle = () => {
  skewMs += 1100;
};

describe('HttpClient: creates and idle keep-alive sockets', () => {
  it('never sends a create on a socket idle for a second or more: that socket is retired unwritten', async () => {
    const s = await server((_req, res) => res.end('{}'));
    const client = new HttpClient({ baseURL: s.url });
    try {
      await client.send({ method: 'POST', path: '/create', body: '{}' });
      idle();
      expect((await client.send({ method: 'POST', path: '/create', body: '{}' })).status).toBe(200);
      expect(s.requests).toBe(2);
      expect(s.connections).toBe(2); // the second create went on a new connection
      // A poll, free to repeat, still takes the idle socket.
      idle();
      await client.send({ method: 'GET', path: '/query' });
      expect(s.connections).toBe(2);
    } finally {
      client.close();
      await s.close();
    }
  });

  it('believes a server that says it closes idle connections sooner (Keep-Alive: timeout=1)', async () => {
    const s = await server((_req, res) => res.setHeader('keep-alive', 'timeout=1').end('{}'));
    const client = new HttpClient({ baseURL: s.url });
    try {
      await client.send({ method: 'POST', path: '/create', body: '{}' });
      skewMs += 600; // past half the server's second: no create there
      await client.send({ method: 'POST', path: '/create', body: '{}' });
      expect(s.connections).toBe(2);
      skewMs += 600; // a poll may still go, under the second
      await client.send({ method: 'GET', path: '/query' });
      expect(s.connections).toBe(2);
      skewMs += 1100; // past it: not even a poll
      await client.send({ method: 'GET', path: '/query' });
      expect(s.connections).toBe(3);
    } finally {
      client.close();
      await s.close();
    }
  });

  it('reports a create reset right after it was read, on a keep-alive socket, as answer-lost', async () => {
    // The server reads the create and drops the connection at once (on loopback, within a
    // millisecond of the write): the job may exist, so this is never taken for "not sent".
    const s = await server((req, res, n) => (n === 1 ? res.end('{}') : req.socket.destroy()));
    const client = new HttpClient({ baseURL: s.url });
    try {
      await client.send({ method: 'POST', path: '/create', body: '{}' });
      const error = await client.send({ method: 'POST', path: '/create', body: '{}' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpFailure);
      expect((error as HttpFailure).kind).toBe('answer-lost');
    } finally {
      client.close();
      await s.close();
    }
  });

  it('creates no job twice when a create after an idle spell loses its answer', async () => {
    let creates = 0;
    const s = await server((req, res) => {
      if (req.url!.startsWith('/api/v1/job/create')) {
        creates++;
        if (creates > 1) return req.socket.destroy(); // the job is made, its answer lost
        return res.end(JSON.stringify({ code: 0, data: { job_id: 'job-1', amount: '0.001' } }));
      }
      res.end(JSON.stringify({ code: 0, data: { status: 2, result: { text: 'done' } } }));
    });
    const executor = createExecutor({
      provider: shortApi({ apiKey: 'sk-test-0123456789', baseURL: s.url, poll: { initialDelayMs: 1 } }),
      retry: { baseDelayMs: 1 },
    });
    try {
      expect((await executor.complete({ prompt: 'first' })).text).toBe('done');
      idle();
      const error = await executor.complete({ prompt: 'second' }).catch((e: unknown) => e);
      expect(AmbiguousCreateError.isInstance(error)).toBe(true);
      expect(creates).toBe(2);
    } finally {
      await executor.close();
      await s.close();
    }
  });
});
