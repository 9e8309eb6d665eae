import net from 'node:net';
import tls from 'node:tls';
import { ShoalConfigError } from '../errors.js';
import { HttpFailure } from './http-failure.js';

/**
 * Proxies from the environment, as curl and undici read them: `HTTPS_PROXY` for https
 * targets (`HTTP_PROXY` when it is unset), `HTTP_PROXY` for http ones, lower-case names
 * too; `NO_PROXY` lists hosts (with subdomains, an optional port, or `*` for all) that are
 * reached directly. An https target goes through a CONNECT tunnel; an http one is asked of
 * the proxy in absolute form.
 */
export interface Proxy {
  /** The proxy's origin, without credentials: what errors may name. */
  readonly origin: string;
  /** Where it listens (the host without IPv6 brackets), and whether it speaks TLS. */
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** `Proxy-Authorization`, from the proxy URL's user and password. */
  readonly authorization: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

export function proxyFor(target: URL, env: Env): Proxy | undefined {
  const secure = target.protocol === 'https:';
  const http = env.HTTP_PROXY || env.http_proxy;
  const raw = secure ? env.HTTPS_PROXY || env.https_proxy || http : http;
  if (!raw || isLoopback(bare(target.hostname)) || bypassed(target, env.NO_PROXY ?? env.no_proxy ?? '')) return undefined;
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    // Not quoted: it may hold credentials.
    throw new ShoalConfigError('The proxy in the environment (HTTPS_PROXY or HTTP_PROXY) is not a URL: set it to http://host:port.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ShoalConfigError(`A ${url.protocol} proxy is not supported: set HTTPS_PROXY or HTTP_PROXY to an http:// or https:// proxy.`);
  let authorization: string | undefined;
  if (url.username || url.password) {
    try {
      authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    } catch {
      throw new ShoalConfigError('The proxy URL in the environment has a malformed %-escape in its user or password: escape % as %25.');
    }
  }
  const tls = url.protocol === 'https:';
  return { origin: `${url.protocol}//${url.host}`, host: bare(url.hostname), port: Number(url.port) || (tls ? 443 : 80), secure: tls, authorization };
}

/** A host name without the brackets of an IPv6 literal, in lower case. */
export function bare(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * Loopback is never proxied (as Go's net/http does): a proxy would see a local server's
 * key in clear text, and resolve `localhost` on its own machine.
 */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
}

/** `NO_PROXY` entries: `host`, `.domain` or `*.domain`, `host:port`, an IPv6 literal bare or `[v6]:port`, or `*`. */
function bypassed(target: URL, noProxy: string): boolean {
  const host = bare(target.hostname);
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const entry of noProxy.split(/[\s,]+/)) {
    if (entry === '') continue;
    if (entry === '*') return true;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    // Two colons or more, unbracketed: an IPv6 literal without a port.
    const [name, entryPort] = v6 ? [v6[1]!, v6[2]] : (entry.match(/:/g)?.length ?? 0) > 1 ? [entry, undefined] : entry.split(':');
    if (entryPort !== undefined && entryPort !== port) continue;
    const domain = bare(name!).replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** Where a connection goes, and how. */
export interface Target {
  readonly secure: boolean;
  /** Without brackets for IPv6. */
  readonly hostname: string;
  readonly port: number;
  readonly proxy: Proxy | undefined;
  /** Certificates to trust instead of the default ones (tests). */
  readonly ca: string | undefined;
}

/** TLS sessions to resume, one per target (a new socket then skips the full handshake). */
const sessions = new WeakMap<Target, Buffer>();

function tlsOptions(target: Target): tls.ConnectionOptions {
  return {
    ...(net.isIP(target.hostname) ? {} : { servername: target.hostname }),
    ALPNProtocols: ['http/1.1'],
    ...(target.ca !== undefined ? { ca: target.ca } : {}),
    ...(sessions.has(target) ? { session: sessions.get(target) } : {}),
  };
}

function remember(target: Target, socket: tls.TLSSocket): void {
  socket.on('session', (session: Buffer) => sessions.set(target, session));
}

/** A proxy tunnel being set up: its socket once open, or what gives up on it. */
export interface Tunnel {
  readonly ready: Promise<net.Socket>;
  cancel(): void;
}

/**
 * A socket to the target, or a tunnel while a proxy sets one up. A direct socket is
 * returned at once: what is written before it connects waits in its buffer.
 */
export function openSocket(target: Target): net.Socket | Tunnel {
  const proxy = target.proxy;
  if (proxy !== undefined) return target.secure ? tunnel(target, proxy) : connectToProxy(proxy, target.ca); // an http target is asked of the proxy in absolute form
  const host = target.hostname;
  const port = target.port;
  if (!target.secure) return net.connect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
  const socket = tls.connect({ host, port, ...tlsOptions(target) });
  socket.setNoDelay(true).setKeepAlive(true, 1000);
  remember(target, socket);
  return socket;
}

/** A socket to the proxy itself, TLS when its URL is https. */
function connectToProxy(proxy: Proxy, ca: string | undefined): net.Socket {
  const { host, port } = proxy;
  if (!proxy.secure) return net.connect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
  const socket = tls.connect({ host, port, ALPNProtocols: ['http/1.1'], ...(net.isIP(host) ? {} : { servername: host }), ...(ca !== undefined ? { ca } : {}) });
  return socket.setNoDelay(true).setKeepAlive(true, 1000);
}

/** CONNECT through the proxy, then TLS to the target inside the tunnel. */
function tunnel(target: Target, proxy: Proxy): Tunnel {
  const toProxy = connectToProxy(proxy, target.ca);
  const authority = `${target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname}:${target.port}`;
  toProxy.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n${proxy.authorization ? `proxy-authorization: ${proxy.authorization}\r\n` : ''}\r\n`);
  let inner: tls.TLSSocket | undefined;
  let reject!: (failure: HttpFailure) => void;
  // Settles once, whichever comes first: the tunnel open, a failure, or a cancel (a close or an abort meanwhile).
  const cancel = () => {
    toProxy.destroy();
    inner?.destroy();
    reject(new HttpFailure('not-sent', `the connection was closed before the proxy ${proxy.origin} had opened its tunnel`, 'ECANCELED'));
  };
  const ready = new Promise<net.Socket>((resolve, rejectReady) => {
    reject = rejectReady;
    let head = Buffer.alloc(0);
    const fail = (message: string, code: string) => {
      toProxy.destroy();
      reject(new HttpFailure('not-sent', `the proxy ${proxy.origin} ${message}`, code));
    };
    const onError = (error: NodeJS.ErrnoException) => fail(`could not be reached (${error.code ?? error.message})`, error.code ?? 'EPROXY');
    const onClose = () => fail('closed the connection before the tunnel was open', 'EPROXY');
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 16 * 1024) fail('sent an answer to CONNECT over 16 KiB long', 'EPROXY');
        return;
      }
      toProxy.off('data', onData);
      toProxy.off('error', onError);
      toProxy.off('close', onClose);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, end));
      const code = status ? Number(status[1]) : 0;
      if (code < 200 || code > 299) {
        const hint =
          code === 407
            ? proxy.authorization
              ? ': it refused the credentials in the proxy URL'
              : ': it wants credentials, given as http://user:password@host:port in HTTPS_PROXY'
            : '';
        fail(`refused the tunnel to ${authority} with status ${code || 'unreadable'}${hint}`, code === 407 ? 'EPROXYAUTH' : 'EPROXY');
        return;
      }
      if (end + 4 < head.length) {
        fail('sent bytes after its answer to CONNECT', 'EPROXY');
        return;
      }
      const socket = tls.connect({ socket: toProxy, ...tlsOptions(target) });
      inner = socket;
      remember(target, socket);
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', (error: NodeJS.ErrnoException) => {
        if (!socket.destroyed) socket.destroy();
        reject(new HttpFailure('not-sent', `TLS to ${authority} through the proxy failed: ${error.code ?? error.message}`, error.code));
      });
      socket.once('close', () => reject(new HttpFailure('not-sent', `TLS to ${authority} through the proxy ended before it was set up`, 'ECONNRESET')));
    };
    toProxy.on('data', onData);
    toProxy.on('error', onError);
    toProxy.on('close', onClose);
  });
  return { ready, cancel };
}
