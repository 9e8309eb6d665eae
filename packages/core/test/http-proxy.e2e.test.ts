import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ShoalConfigError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { HttpClient, HttpFailure } from '../src/http/http-client.js';
import { openAICompatible } from '../src/providers/openai-compatible.js';
import { startOpenAICompatibleServer } from '../src/testing/openai-compatible-server.js';
import { cleanups, listen, tls } from './http-fixtures.js';

/**
 * A forward proxy on 127.0.0.1: CONNECT tunnels and absolute-form requests, with an optional user:password. Loopback
 * is never proxied, so the targets are named `shoal.test`, which this proxy (alone) takes to 127.0.0.1. `silent`: it
 * answers CONNECT with 200, then says nothing.
 */
async function proxy(credentials?: string, silent = false) {
  const seen: { method: string; target: string; auth: string | undefined }[] = [];
  const tunnels = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const auth = req.headers['proxy-authorization'];
    seen.push({ method: req.method!, target: req.url!, auth });
    if (credentials && auth !== `Basic ${Buffer.from(credentials).toString('base64')}`) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic' }).end();
      return;
    }
    const { 'proxy-authorization': _, ...headers } = req.headers;
    const upstream = http.request(req.url!.replace('//shoal.test:', '//127.0.0.1:'), { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    const auth = req.headers['proxy-authorization'];
    seen.push({ method: 'CONNECT', target: req.url!, auth });
    socket.on('error', () => {});
    if (credentials && auth !== `Basic ${Buffer.from(credentials).toString('base64')}`) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (silent) {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      tunnels.add(socket);
      return;
    }
    const [host, port] = req.url!.split(':');
    const upstream = net.connect(Number(port), host === 'shoal.test' ? '127.0.0.1' : host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(socket).pipe(upstream);
    });
    tunnels.add(upstream).add(socket);
    upstream.on('error', () => socket.destroy());
  });
  cleanups.push(() => {
    for (const s of tunnels) s.destroy();
  });
  const { port } = await listen(server);
  return { port, seen };
}

async function target(secure: boolean) {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) =>
    res.end(JSON.stringify({ path: req.url, auth: req.headers['proxy-authorization'] ?? null }));
  const server = secure ? https.createServer(tls, handler) : http.createServer(handler);
  return (await listen(server)).port;
}

function client(baseURL: string, env: Record<string, string>) {
  const c = new HttpClient({ baseURL, env, ca: tls.cert });
  cleanups.push(() => c.close());
  return c;
}

describe('HttpClient: proxies from the environment', () => {
  it('tunnels https through HTTPS_PROXY with CONNECT, credentials from the proxy URL, and reuses the tunnel', async () => {
    const p = await proxy('me:p@ss');
    const port = await target(true);
    const c = client(`https://shoal.test:${port}/v1`, { HTTPS_PROXY: `http://me:p%40ss@127.0.0.1:${p.port}` });
    for (let i = 0; i < 2; i++) expect(JSON.parse((await c.send({ method: 'POST', path: '/x', body: '{}' })).body)).toEqual({ path: '/v1/x', auth: null });
    expect(p.seen).toEqual([{ method: 'CONNECT', target: `shoal.test:${port}`, auth: `Basic ${Buffer.from('me:p@ss').toString('base64')}` }]);
  });

  it('asks HTTP_PROXY for an http target in absolute form; the target never sees the proxy credentials', async () => {
    const p = await proxy('u:pw');
    const port = await target(false);
    const c = client(`http://shoal.test:${port}/v1`, { http_proxy: `http://u:pw@127.0.0.1:${p.port}` });
    expect(JSON.parse((await c.send({ method: 'GET', path: '/jobs/1' })).body)).toEqual({ path: '/v1/jobs/1', auth: null });
    expect(p.seen).toEqual([{ method: 'GET', target: `http://shoal.test:${port}/v1/jobs/1`, auth: `Basic ${Buffer.from('u:pw').toString('base64')}` }]);
  });

  it('never proxies loopback, and goes direct to hosts in NO_PROXY', async () => {
    const p = await proxy();
    const port = await target(false);
    for (const host of ['127.0.0.1', 'localhost']) {
      const answer = await client(`http://${host}:${port}`, { HTTP_PROXY: `http://127.0.0.1:${p.port}` }).send({ method: 'GET', path: '/' });
      expect(answer.status).toBe(200);
    }
    expect(p.seen).toEqual([]);
    // shoal.test resolves nowhere but through this proxy: reached directly, it fails before anything is sent.
    const direct = await client(`http://shoal.test:${port}`, { HTTP_PROXY: `http://127.0.0.1:${p.port}`, NO_PROXY: '.test' })
      .send({ method: 'POST', path: '/', body: '{}' })
      .then(
        () => undefined,
        (e: HttpFailure) => e,
      );
    expect(direct?.kind).toBe('not-sent');
    expect(p.seen).toEqual([]);
  });

  it('a proxy that refuses the tunnel is a not-sent failure that says what to do and names no credentials', async () => {
    const p = await proxy('right:secret-pass');
    const port = await target(true);
    const error = await client(`https://shoal.test:${port}`, { HTTPS_PROXY: `http://wrong:guess-pass@127.0.0.1:${p.port}` })
      .send({ method: 'POST', path: '/', body: '{}' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(HttpFailure);
    expect(error).toMatchObject({ kind: 'not-sent', errorCode: 'EPROXYAUTH' });
    expect((error as Error).message).toContain(`the proxy http://127.0.0.1:${p.port} refused the tunnel to shoal.test:${port} with status 407`);
    expect((error as Error).message).toContain('it refused the credentials in the proxy URL');
    expect((error as Error).message).not.toMatch(/guess-pass|wrong/);
  });

  it('refuses a proxy setting it cannot use when the client is made, without quoting it', () => {
    expect(() => new HttpClient({ baseURL: 'https://shoal.test:1', env: { HTTPS_PROXY: 'http://user:sec ret@[bad' } })).toThrow(ShoalConfigError);
    expect(() => new HttpClient({ baseURL: 'https://shoal.test:1', env: { HTTPS_PROXY: 'http://user:sec ret@[bad' } })).not.toThrow(/sec ret/);
    expect(() => new HttpClient({ baseURL: 'https://shoal.test:1', env: { HTTPS_PROXY: 'socks5://127.0.0.1:1080' } })).toThrow(
      /socks5: proxy is not supported/,
    );
    expect(() => new HttpClient({ baseURL: 'https://shoal.test:1', env: { HTTPS_PROXY: 'http://me:50%zz@127.0.0.1:3128' } })).toThrow(/malformed %-escape/);
  });

  it('a client closed while its proxy tunnel sets up fails the request as not sent, at once', async () => {
    const p = await proxy(undefined, true);
    const c = client(`https://shoal.test:1`, { HTTPS_PROXY: `http://127.0.0.1:${p.port}` });
    const pending = c.send({ method: 'POST', path: '/', body: '{}' }).then(
      () => undefined,
      (e: HttpFailure) => e,
    );
    while (p.seen.length === 0) await new Promise((r) => setImmediate(r));
    c.close();
    expect(await pending).toMatchObject({ kind: 'not-sent' });
  });

  it('an agent call through a provider goes through the proxy the environment names', async () => {
    const p = await proxy();
    const server = await startOpenAICompatibleServer({ rules: [{ match: 'hi', reply: '{"ok":true}' }] });
    cleanups.push(() => server.close());
    const saved = process.env.HTTP_PROXY;
    process.env.HTTP_PROXY = `http://127.0.0.1:${p.port}`;
    let provider: ReturnType<typeof openAICompatible>;
    try {
      provider = openAICompatible({ baseURL: server.url.replace('//127.0.0.1:', '//shoal.test:'), model: 'gpt-4.1-nano' });
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
    }
    const executor = createExecutor({ provider, cache: false });
    cleanups.push(() => executor.shutdown());
    expect((await executor.complete({ prompt: 'hi' })).text).toBe('{"ok":true}');
    expect(p.seen.map((s) => s.method)).toEqual(['POST']);
  });
});
