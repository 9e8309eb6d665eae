import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import { afterEach } from 'vitest';

/** The fixture certificate for `localhost` and 127.0.0.1 (fixtures/tls/README.md), and its key. */
export const tls = {
  key: readFileSync(new URL('./fixtures/tls/key.pem', import.meta.url), 'utf8'),
  cert: readFileSync(new URL('./fixtures/tls/cert.pem', import.meta.url), 'utf8'),
};

/** What each test started, undone after it, last first. */
export const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Listens on a free port of 127.0.0.1, closed (connections too) after the test. */
export async function listen<T extends net.Server>(server: T): Promise<{ server: T; port: number }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        (server as unknown as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  return { server, port: (server.address() as net.AddressInfo).port };
}
