import { createExecutor, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
for (const faults of [{ dropCreate: 0.05 }, { queryServerError: 0.05 }]) {
  const emulator = await startShortApiEmulator({ latencyMs: { min: 1, max: 15 }, seed: 2026, faults });
  const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseUrl: emulator.url, poll: { initialDelayMs: 5 } }), concurrency: 64, retry: { maxAttempts: 6, baseDelayMs: 2, maxDelayMs: 50 }, cache: false });
  const t = setTimeout(() => { console.log('stuck', JSON.stringify(faults), executor.metrics().queued, executor.metrics().running, executor.metrics().done, executor.metrics().failed); process.exit(1); }, 15000);
  const out = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => executor.complete({ prompt: `c${i}` })));
  clearTimeout(t);
  console.log(JSON.stringify(faults), out.filter((o) => o.status === 'rejected').map((o: any) => o.reason.code).join(','));
  await executor.close(); await emulator.close();
}
