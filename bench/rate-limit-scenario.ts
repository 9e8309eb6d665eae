/**
 * The red team's rate-limit scenario, end to end on the emulator: a server that takes N
 * requests per second per key (creates and polls together, sliding window, 429 with
 * Retry-After), 60 calls at concurrency 32, jobs of 1 s. Prints how many calls got their
 * result, the 429s, and the share of 429s once the limiter has learnt the rate (after the
 * first half of the calls ended). `node --import tsx bench/rate-limit-scenario.ts [rps] [rpm]`
 */
import { createExecutor, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';

export interface RateLimitFigures {
  readonly serverRps: number;
  readonly configuredRpm: number | undefined;
  readonly ok: number;
  readonly failed: number;
  /** Error codes of the calls that failed, with counts. */
  readonly failures: Readonly<Record<string, number>>;
  readonly requests: number;
  readonly rateLimited: number;
  readonly shareAfterLearning: number;
  readonly learnedRpm: number | undefined;
  readonly wallS: number;
  readonly duplicateCreates: number;
}

export async function rateLimitScenario(serverRps: number, configuredRpm?: number, calls = 60, jobMs = 1000): Promise<RateLimitFigures> {
  const emulator = await startShortApiEmulator({ rpsLimit: serverRps, latencyMs: jobMs, rules: [{ match: 'item ', reply: (p) => `done ${p}` }] });
  const executor = createExecutor({
    provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url }),
    concurrency: 32,
    cache: false,
    ...(configuredRpm ? { rateLimit: { requestsPerMinute: configuredRpm } } : {}),
  });
  let ended = 0;
  let midway = { requests: 0, rateLimited: 0 };
  const onEnd = () => {
    if (++ended === calls / 2) midway = { requests: executor.metrics().requests, rateLimited: executor.metrics().rateLimited };
  };
  executor.events.on('call-end', onEnd);
  executor.events.on('call-error', onEnd);
  const started = performance.now();
  const outcomes = await Promise.allSettled(Array.from({ length: calls }, (_, i) => executor.complete({ prompt: `item ${i}` })));
  const wallS = (performance.now() - started) / 1000;
  const m = executor.metrics();
  await executor.close();
  const stats = emulator.stats();
  await emulator.close();
  const later = { requests: m.requests - midway.requests, rateLimited: m.rateLimited - midway.rateLimited };
  return {
    serverRps,
    configuredRpm,
    ok: outcomes.filter((o) => o.status === 'fulfilled').length,
    failed: outcomes.filter((o) => o.status === 'rejected').length,
    failures: outcomes.reduce<Record<string, number>>((acc, o) => {
      if (o.status === 'rejected') {
        const code = (o.reason as { code?: string }).code ?? 'unknown';
        acc[code] = (acc[code] ?? 0) + 1;
      }
      return acc;
    }, {}),
    requests: m.requests,
    rateLimited: m.rateLimited,
    shareAfterLearning: later.requests === 0 ? 0 : later.rateLimited / later.requests,
    learnedRpm: m.learnedRequestsPerMinute,
    wallS,
    duplicateCreates: stats.duplicateCreates,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rps = Number(process.argv[2] ?? 3);
  const rpm = process.argv[3] ? Number(process.argv[3]) : undefined;
  console.log(await rateLimitScenario(rps, rpm));
}
