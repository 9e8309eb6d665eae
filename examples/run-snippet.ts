/**
 * Runs one of the README's snippets (`examples/snippets/*.ts`) as it is written. A snippet
 * reads its key and base URL from the environment, as `shortApi()` does: with SHORTAPI_KEY
 * set it runs on ShortAPI; without, this starts the emulator in this process, points
 * SHORTAPI_BASE_URL and SHORTAPI_KEY at it, and says so first. The AI SDK snippet reads
 * LOCAL_LLM_URL (a chat-completions server): without it, the loopback server stands in.
 *
 *   npx -y pnpm@12.4.2 snippet examples/snippets/coordinator.ts
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type OpenAICompatibleServer, type ShortApiEmulator, startOpenAICompatibleServer, startShortApiEmulator } from '@shoal/core/testing';

const file = process.argv[2];
if (!file) {
  console.error('Which snippet? Name its file: pnpm snippet examples/snippets/coordinator.ts');
  process.exit(2);
}

let emulator: ShortApiEmulator | undefined;
let chatServer: OpenAICompatibleServer | undefined;
if (/ai-sdk\.ts$/.test(file) && !process.env.LOCAL_LLM_URL) {
  // The AI SDK snippet talks to a local chat-completions server: without one named, the loopback server stands in.
  chatServer = await startOpenAICompatibleServer({ seed: 42 });
  process.env.LOCAL_LLM_URL = chatServer.url;
  console.log(
    `LOCAL_LLM_URL is not set: running ${file} against the loopback chat-completions server in this process (${chatServer.url}); answers come from its offline simulator, not a model: they fit the schemas but judge nothing.`,
  );
} else if (!process.env.SHORTAPI_KEY) {
  emulator = await startShortApiEmulator({ latencyMs: { min: 50, max: 250 }, seed: 42 });
  process.env.SHORTAPI_BASE_URL = emulator.url;
  process.env.SHORTAPI_KEY = emulator.apiKey;
  console.log(
    `SHORTAPI_KEY is not set: running ${file} against the ShortAPI emulator in this process (${emulator.url}); answers come from its offline simulator, not a model: they fit the schemas but judge nothing.`,
  );
}
try {
  await import(pathToFileURL(resolve(file)).href);
} finally {
  await emulator?.close();
  await chatServer?.close();
}
