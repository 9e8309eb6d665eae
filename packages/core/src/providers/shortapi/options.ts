import { ShoalConfigError } from '../../errors.js';
import { type Check, checkOptions, expectHttpUrl, expectNumber, isPlainObject, option, optionError } from '../../util/options.js';
import { withoutSecrets } from '../../util/redact.js';
import { type ModelPrices, providerPrices } from '../prices.js';
import type { PollScheduleOptions } from './poll-schedule.js';
import { DEFAULT_BASE_URL, DEFAULT_MODEL } from './protocol.js';
import type { ShortApiCallbackOptions, ShortApiOptions } from './shortapi.js';

/** shortApi()'s options as the provider uses them: checked, with the defaults filled in. */
export interface ResolvedShortApiOptions {
  readonly apiKey: string;
  readonly baseURL: string;
  readonly model: string;
  readonly pricing: Required<ModelPrices> | undefined;
  readonly args: Readonly<Record<string, unknown>>;
  /** Undefined when callbacks are off. */
  readonly callback: ShortApiCallbackOptions | undefined;
  readonly poll: PollScheduleOptions;
  readonly requestTimeoutMs: number;
  readonly maxJobWaitMs: number;
  readonly maxSockets: number;
}

const KEY_ADVICE = 'Pass the key as `apiKey` to shortApi(), or set the SHORTAPI_KEY environment variable.';
const MIN_POLL_DELAY_MS = 2;

const POLL_SPEC = {
  initialDelayMs: option.number({ min: 0 }),
  minDelayMs: option.number({ min: 1 }),
  // Checked below, against minDelayMs.
  maxDelayMs: option.any(),
  targetQuantile: option.number({ above: 0, below: 1 }),
  retryFraction: option.number({ above: 0 }),
  backoff: option.number({ min: 1 }),
  jitter: option.number({ min: 0, below: 1 }),
} satisfies Record<keyof PollScheduleOptions, Check>;

/** Checks the options of adaptive polling (known keys, ranges); `maxDelayMs` must not be below `minDelayMs`. */
export function checkPollOptions(poll: unknown, name = 'poll'): PollScheduleOptions {
  const checked = checkOptions<PollScheduleOptions>('shortApi({ poll })', poll, POLL_SPEC, name);
  const minDelayMs = checked.minDelayMs ?? MIN_POLL_DELAY_MS;
  if (checked.maxDelayMs !== undefined) {
    expectNumber(`${name}.maxDelayMs`, checked.maxDelayMs, {
      min: minDelayMs,
      note: `at least \`${name}.minDelayMs\`${checked.minDelayMs === undefined ? `, ${MIN_POLL_DELAY_MS} by default` : ''}`,
      hint: 'It caps every wait between polls: a cap of 0 would poll in a busy loop, thousands of queries for one job.',
    });
  }
  return checked;
}

const CALLBACK_SPEC = (apiKey: string) =>
  ({
    host: option.string({ nonEmpty: true, example: '127.0.0.1' }),
    port: option.number({ min: 0, max: 65535, integer: true, note: '0 for any free port' }),
    publicUrl: (name: string, value: unknown) =>
      expectHttpUrl(name, value, [apiKey], 'A callback URL needs no credential: shoal adds an unguessable token to it for every job.'),
    maxBodyBytes: option.number({ min: 1, integer: true }),
    deadlineMs: option.number({ min: 1 }),
  }) satisfies Record<keyof ShortApiCallbackOptions, Check>;

const SPEC = {
  apiKey: option.string({ nonEmpty: true, secret: true }),
  // Checked below, with the key to keep out of the message.
  baseURL: option.any(),
  model: option.string({ nonEmpty: true, example: DEFAULT_MODEL }),
  args: option.plainObject('an object of model arguments sent with every job, such as { temperature: 0 }'),
  callback: option.any(),
  poll: option.any(),
  requestTimeoutMs: option.number({ min: 1 }),
  maxJobWaitMs: option.number({ min: 1 }),
  maxSockets: option.number({ min: 1, integer: true }),
  // Checked below, against the model's known prices.
  pricing: option.any(),
} satisfies Record<keyof ShortApiOptions, Check>;

/**
 * Checks every option of shortApi() and fills in the defaults (the key from SHORTAPI_KEY,
 * the base URL from SHORTAPI_BASE_URL). No message ever shows the key.
 */
export function resolveShortApiOptions(options: ShortApiOptions): ResolvedShortApiOptions {
  if (!isPlainObject(options as unknown)) throw new ShoalConfigError('shortApi() takes one options object.');
  const apiKey = resolveKey(options);
  try {
    checkOptions('shortApi()', options, SPEC);
    const fromEnv = options.baseURL === undefined && process.env.SHORTAPI_BASE_URL !== undefined;
    const baseURL = expectHttpUrl(
      fromEnv ? 'SHORTAPI_BASE_URL' : 'baseURL',
      options.baseURL ?? process.env.SHORTAPI_BASE_URL ?? DEFAULT_BASE_URL,
      [apiKey],
      KEY_ADVICE,
    );
    return {
      apiKey,
      baseURL,
      model: options.model ?? DEFAULT_MODEL,
      pricing: providerPrices('shortApi()', options.pricing, options.model ?? DEFAULT_MODEL),
      args: options.args ?? {},
      callback: resolveCallback(options.callback, apiKey),
      poll: options.poll === undefined ? {} : checkPollOptions(options.poll),
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      maxJobWaitMs: options.maxJobWaitMs ?? 30 * 60_000,
      maxSockets: options.maxSockets ?? 256,
    };
  } catch (error) {
    // A key put in the wrong option (a model name, a host) must not be quoted back.
    if (ShoalConfigError.isInstance(error) && error.message.includes(apiKey)) throw new ShoalConfigError(withoutSecrets(error.message, [apiKey]));
    throw error;
  }
}

function resolveKey(options: ShortApiOptions): string {
  const apiKey: unknown = options.apiKey ?? process.env.SHORTAPI_KEY;
  if (apiKey === undefined || apiKey === '' || (typeof apiKey === 'string' && apiKey.trim() === '')) {
    throw new ShoalConfigError(
      'No ShortAPI key: pass `apiKey` to shortApi() or set the SHORTAPI_KEY environment variable. (For local runs without a key, start the emulator from `@shoal/core/testing` and pass its url and key.)',
    );
  }
  if (typeof apiKey !== 'string') SPEC.apiKey('apiKey', apiKey);
  if (/\s/.test(apiKey as string)) throw new ShoalConfigError('The ShortAPI key contains white space: check how SHORTAPI_KEY was set.');
  return apiKey as string;
}

function resolveCallback(callback: ShortApiOptions['callback'], apiKey: string): ShortApiCallbackOptions | undefined {
  if (callback === undefined || callback === false) return undefined;
  if (callback === true) return {};
  if (!isPlainObject(callback))
    throw optionError('callback', 'true, false or an object of callback options ({ host, port, publicUrl, maxBodyBytes, deadlineMs })', callback);
  return checkOptions<ShortApiCallbackOptions>('shortApi({ callback })', callback, CALLBACK_SPEC(apiKey), 'callback');
}
