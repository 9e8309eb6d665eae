import { parseArgs } from 'node:util';
import { closestName } from '../util/did-you-mean.js';
import { type LatencySpec, startShortApiEmulator } from './emulator.js';
import { startOpenAICompatibleServer } from './openai-compatible-server.js';

const OPTIONS = {
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
} as const;

const HELP = (name: string) =>
  `${name}: a ShortAPI job-protocol emulator on 127.0.0.1 (answers from an offline simulator)\n` +
  '  --port N            (0 = any free port)\n  --latency MS | MIN-MAX   job duration in ms\n  --seed N\n  --concurrency N     jobs running at once\n' +
  '  --key KEY           require this bearer key\n  --rate-limit P --retry-after S --server-error P --drop-query P --invalid-json P --fail-job P   fault shares (0..1)\n' +
  '  --json              print {"url","apiKey"} as one JSON line\n' +
  '  --openai            serve OpenAI chat completions (POST /v1/chat/completions) instead of the job API\n';

/** A bad argument: said in one line with what was expected, and the exit code 2. */
class UsageError extends Error {}

/**
 * The emulator's command line (`shoal-emulator`, and `shoal emulator` in @shoal/cli): checks
 * every argument (an unknown option gets "did you mean"; a number that is not one, or out of
 * range, is refused), starts the server, prints its URL and key, and stops on SIGINT or
 * SIGTERM. Returns an exit code when it will not serve (help: 0, a bad argument: 2); while
 * serving it does not return until the process is stopped.
 */
export async function emulatorMain(argv: readonly string[], name = 'shoal-emulator'): Promise<number | undefined> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message} (--help lists the options)\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP(name));
    return 0;
  }
  let settings: ReturnType<typeof check>;
  try {
    settings = check(values);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    return 2;
  }
  const { port, latency, seed } = settings;
  let close: () => Promise<void>;
  if (values.openai) {
    const server = await startOpenAICompatibleServer({
      port,
      ...(typeof latency === 'number' ? { latencyMs: latency } : {}),
      seed,
      ...(values.key ? { apiKey: values.key } : {}),
    });
    if (values.json) process.stdout.write(`${JSON.stringify({ url: server.url, apiKey: values.key ?? '' })}\n`);
    else process.stdout.write(`${name} (OpenAI chat completions) listening on ${server.url}\n`);
    close = () => server.close();
  } else {
    const emulator = await startShortApiEmulator({
      port,
      latencyMs: latency,
      seed,
      ...(settings.concurrency === undefined ? {} : { concurrency: settings.concurrency }),
      ...(values.key ? { apiKey: values.key } : {}),
      faults: settings.faults,
    });
    if (values.json) process.stdout.write(`${JSON.stringify({ url: emulator.url, apiKey: emulator.apiKey })}\n`);
    else process.stdout.write(`${name} listening on ${emulator.url} (accepts key ${values.key ? '(the one given)' : emulator.apiKey})\n`);
    close = () => emulator.close();
  }
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return undefined;
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec((error as Error).message)?.[1];
    if (unknown) {
      const suggestion = closestName(unknown.replace(/^-+/, ''), Object.keys(OPTIONS));
      throw new Error(`unknown option ${unknown}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`);
    }
    // parseArgs' own wording (a missing value, an unexpected argument), without its error code.
    throw new Error((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

function check(values: ReturnType<typeof parse>) {
  const int = (option: string, value: string, min: number, max: number) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`--${option} expects a whole number from ${min} to ${max}, got "${value}".`);
    return n;
  };
  const share = (option: keyof typeof OPTIONS) => {
    const value = values[option];
    if (value === undefined || typeof value !== 'string') return undefined;
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${option} expects a share from 0 to 1, got "${value}".`);
    return n;
  };
  const ms = (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new UsageError(`--latency expects milliseconds (e.g. 300) or a range MIN-MAX (e.g. 300-800), got "${values.latency}".`);
    return n;
  };
  const range = /^([^-]+)-([^-]+)$/.exec(values.latency);
  const latency: LatencySpec = range ? { min: ms(range[1]!), max: ms(range[2]!) } : ms(values.latency);
  if (typeof latency === 'object' && latency.min > latency.max) throw new UsageError(`--latency ${values.latency}: the minimum is above the maximum.`);
  const retryAfter = values['retry-after'];
  if (retryAfter !== undefined && !(Number(retryAfter) >= 0)) throw new UsageError(`--retry-after expects seconds (0 or more), got "${retryAfter}".`);
  return {
    port: int('port', values.port, 0, 65535),
    seed: int('seed', values.seed, 0, Number.MAX_SAFE_INTEGER),
    latency,
    concurrency: values.concurrency === undefined ? undefined : int('concurrency', values.concurrency, 1, 1_000_000),
    faults: {
      rateLimit: share('rate-limit'),
      retryAfterSeconds: retryAfter === undefined ? undefined : Number(retryAfter),
      serverError: share('server-error'),
      dropQuery: share('drop-query'),
      invalidJson: share('invalid-json'),
      failJob: share('fail-job'),
    },
  };
}
