import { createExecutor, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';

const emulator = await startShortApiEmulator({ latencyMs: { min: 300, max: 800 } });
const provider = shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url });
const executor = createExecutor({ provider });

const { text, jobId } = await executor.complete({ prompt: 'Say hi' });
console.log(`${jobId}: ${text}`); // the offline simulator's answer: it fits the schema a prompt carries, and judges nothing
console.log(`${emulator.stats().creates} job(s) created on ${emulator.url}`);
await executor.close();
await emulator.close();
