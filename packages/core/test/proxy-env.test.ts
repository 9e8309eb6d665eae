import { describe, expect, it } from 'vitest';
import { ShoalConfigError } from '../src/errors.js';
import { proxyFor } from '../src/http/proxy.js';

const via = (url: string, env: Record<string, string>) => proxyFor(new URL(url), env)?.origin;

describe('proxyFor: the proxy the environment names for a base URL', () => {
  it('takes HTTPS_PROXY for https (HTTP_PROXY when unset), HTTP_PROXY for http, upper or lower case', () => {
    expect(via('https://api.example.com/v1', { HTTPS_PROXY: 'http://p1:3128', HTTP_PROXY: 'http://p2:3128' })).toBe('http://p1:3128');
    expect(via('https://api.example.com/v1', { HTTP_PROXY: 'http://p2:3128' })).toBe('http://p2:3128');
    expect(via('http://api.example.com/v1', { https_proxy: 'http://p1:3128', http_proxy: 'p2:8080' })).toBe('http://p2:8080');
    expect(via('http://api.example.com/v1', { HTTPS_PROXY: 'http://p1:3128' })).toBeUndefined();
  });

  it('never proxies loopback: localhost, *.localhost, 127.0.0.0/8, ::1', () => {
    for (const url of ['http://localhost:8000', 'http://app.localhost', 'http://127.0.0.1:1', 'http://127.3.4.5', 'http://[::1]:8000'])
      expect(via(url, { HTTP_PROXY: 'http://p:3128' }), url).toBeUndefined();
    expect(via('http://128.0.0.1', { HTTP_PROXY: 'http://p:3128' })).toBe('http://p:3128');
  });

  it.each([
    ['example.com', 'http://example.com', true],
    ['example.com', 'http://api.example.com', true],
    ['.example.com', 'http://api.example.com', true],
    ['*.example.com', 'http://api.example.com', true],
    ['example.com', 'http://notexample.com', false],
    ['example.com:8080', 'http://example.com:8080', true],
    ['example.com:8080', 'http://example.com', false],
    ['example.com:80', 'http://example.com', true],
    ['EXAMPLE.com', 'https://api.example.COM', true],
    ['2001:db8::1', 'http://[2001:db8::1]:8000', true],
    ['[2001:db8::1]', 'http://[2001:db8::1]', true],
    ['[2001:db8::1]:8000', 'http://[2001:db8::1]:8000', true],
    ['[2001:db8::1]:9000', 'http://[2001:db8::1]:8000', false],
    ['other.org, example.com', 'http://example.com', true],
    ['*', 'http://anything.net', true],
  ])('NO_PROXY %s for %s: direct %s', (noProxy, url, direct) => {
    expect(via(url, { HTTP_PROXY: 'http://p:3128', NO_PROXY: noProxy }) === undefined).toBe(direct);
  });

  it('reads credentials from the URL, %-escapes decoded, and never names them', () => {
    const proxy = proxyFor(new URL('https://x.example'), { HTTPS_PROXY: 'http://me:p%40ss@p:3128' })!;
    expect(proxy.authorization).toBe(`Basic ${Buffer.from('me:p@ss').toString('base64')}`);
    expect(proxy.origin).toBe('http://p:3128');
    expect(() => proxyFor(new URL('https://x.example'), { HTTPS_PROXY: 'http://me:50%zz@p:3128' })).toThrow(ShoalConfigError);
  });
});
