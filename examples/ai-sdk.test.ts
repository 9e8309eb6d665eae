import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { startOpenAICompatibleServer } from '@shoal/core/testing';
import { expect, it } from 'vitest';
import { aiSdkExample, triage } from './ai-sdk.js';

it('examples/ai-sdk.ts runs offline: every ticket sorted through @ai-sdk/openai-compatible on the loopback server, its dollars booked', async () => {
  await using server = await startOpenAICompatibleServer();
  const model = createOpenAICompatible({ name: 'loopback', baseURL: server.url, supportsStructuredOutputs: true })('loopback-model');
  const { runs, metrics } = await aiSdkExample(model, { inputPerMillionUsd: 0.15, outputPerMillionUsd: 0.6 });
  expect(runs).toHaveLength(4);
  for (const run of runs) expect(triage.output.parse(run.output)).toEqual(run.output);
  expect(server.requests.map((r) => r.responseFormat?.type)).toEqual(['json_schema', 'json_schema', 'json_schema', 'json_schema']);
  expect(metrics.totals).toMatchObject({ calls: 4, unpricedCalls: 0 });
  expect(metrics.costUsd).toBeCloseTo(
    runs.reduce((sum, run) => sum + run.costUsd, 0),
    15,
  );
  expect(metrics.costUsd).toBeGreaterThan(0);
});
