#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { type LatencySpec, startShortApiEmulator } from './emulator.js';
import { startOpenAICompatibleServer } from './openai-compatible-server.js';

/** `shoal-emulator --port 8787 --latency 300-800 --seed 1 --rate-limit 0.05 ...`: prints its URL and key, runs until killed. */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    latency: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string' },
    key: { type: 'string' },
    'rate-limit': { type: 'string' },
    'retry-after': { type: 'string' },
    'server-error': { type: 'string' },
    'drop-query': { type: 'string' },
    'invalid-json': { type: 'string' },
    'fail-job': { type: 'string' },
    json: { type: 'boolean', default: false },
    openai: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'shoal-emulator: a ShortAPI job-protocol emulator on 127.0.0.1\n' +
      '  --port N            (0 = any free port)\n  --latency MS | MIN-MAX   job duration\n  --seed N\n  --concurrency N     jobs running at once\n' +
      '  --key KEY           require this bearer key\n  --rate-limit P --retry-after S --server-error P --drop-query P --invalid-json P --fail-job P   fault shares (0..1)\n' +
      '  --json              print {"url","apiKey"} as one JSON line\n' +
      '  --openai            serve OpenAI chat completions (POST /v1/chat/completions) instead of the job API\n',
  );
  process.exit(0);
}

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const latency: LatencySpec = values.latency.includes('-')
  ? { min: Number(values.latency.split('-')[0]), max: Number(values.latency.split('-')[1]) }
  : Number(values.latency);

if (values.openai) {
  const server = await startOpenAICompatibleServer({
    port: Number(values.port),
    ...(values.latency.includes('-') ? {} : { latencyMs: Number(values.latency) }),
    seed: Number(values.seed),
    ...(values.key ? { apiKey: values.key } : {}),
  });
  if (values.json) process.stdout.write(`${JSON.stringify({ url: server.url, apiKey: values.key ?? '' })}\n`);
  else process.stdout.write(`shoal-emulator (OpenAI chat completions) listening on ${server.url}\n`);
  const stopServer = async () => {
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', stopServer);
  process.on('SIGTERM', stopServer);
} else {
  const emulator = await startShortApiEmulator({
    port: Number(values.port),
    latencyMs: latency,
    seed: Number(values.seed),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    ...(values.key ? { apiKey: values.key } : {}),
    faults: {
      rateLimit: num(values['rate-limit']),
      retryAfterSeconds: num(values['retry-after']),
      serverError: num(values['server-error']),
      dropQuery: num(values['drop-query']),
      invalidJson: num(values['invalid-json']),
      failJob: num(values['fail-job']),
    },
  });
  if (values.json) process.stdout.write(`${JSON.stringify({ url: emulator.url, apiKey: emulator.apiKey })}\n`);
  else process.stdout.write(`shoal-emulator listening on ${emulator.url} (accepts key ${values.key ? '(the one given)' : emulator.apiKey})\n`);

  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
