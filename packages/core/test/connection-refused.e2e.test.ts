import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NetworkError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { openAICompatible } from '../src/providers/openai-compatible.js';
import { shortApi } from '../src/providers/shortapi/shortapi.js';

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a server that is not there', () => {
  it('is named in the error, by origin only (no path, no key), with what to check', async () => {
    const port = await closedPort();
    for (const provider of [
      shortApi({ apiKey: 'sk-secret-connection-test', baseURL: `http://127.0.0.1:${port}/api/v1` }),
      openAICompatible({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', apiKey: 'sk-secret-connection-test' }),
    ]) {
      const executor = createExecutor({ provider, retry: { maxAttempts: 1 } });
      const error = await executor.complete({ prompt: 'hello' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(NetworkError.isInstance(error)).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain(`could not be sent to http://127.0.0.1:${port} (`);
      expect(message).toMatch(/Check that it is running there and that the base URL is right\.$/);
      expect(message).not.toContain('sk-secret-connection-test');
      await executor.close();
    }
  });
});
