import { ShoalConfigError } from '../errors.js';
import { type ModelPrices, type Pricing, providerPrices, resolvePrices, unpricedBudgetError } from '../providers/prices.js';
import type { CompletionRequest, ModelProvider } from '../providers/types.js';
import { type Clock, systemClock } from '../util/clock.js';
import { describeValue } from '../util/describe.js';
import {
  type Check,
  checkOptions,
  expectNumber,
  isAbortSignal,
  isPlainObject,
  type NumberRule,
  option,
  optionError,
  unknownOptionError,
} from '../util/options.js';
import { type CacheStore, MemoryCacheStore } from './cache.js';
import type { CallOptions, ExecutorOptions } from './executor.js';
import { checkDurableStore, type DurableStore } from './journal.js';
import type { Limiter } from './limiter.js';
import { type CallQueueFactory, heapQueue } from './queue.js';
import { RateLimiter, type RateLimitOptions } from './rate-limiter.js';
import { DEFAULT_RETRY, type RetryOptions } from './retry-policy.js';

/** createExecutor()'s options as the executor uses them: checked, with the defaults filled in. */
export interface ResolvedExecutorOptions {
  readonly provider: ModelProvider;
  readonly concurrency: number;
  readonly adaptiveConcurrency: boolean;
  /** As given (checked); undefined when not given. */
  readonly rateLimit: RateLimitOptions | undefined;
  readonly reservedOutputTokens: number;
  readonly retry: Required<RetryOptions>;
  /** The result cache: the store's when there is a store, undefined when off. */
  readonly cache: CacheStore | undefined;
  readonly store: DurableStore | undefined;
  readonly dedupe: boolean;
  readonly budgetUsd: number | undefined;
  /** The model's prices: `pricing` over the provider's, else its known ones; undefined when unknown. */
  readonly prices: Required<ModelPrices> | undefined;
  readonly timeoutMs: number | undefined;
  readonly random: () => number;
  readonly clock: Clock;
  readonly queue: CallQueueFactory;
  /** The limiter given, or the in-process one built from `rateLimit`; undefined when nothing limits requests. */
  readonly limiter: Limiter | undefined;
}

const NOT_NEGATIVE: NumberRule = { min: 0 };
const TIMEOUT: NumberRule = { min: 1, allowInfinity: true, note: 'Infinity for none' };

const PROVIDER: Check = (name, value) => {
  const provider = value as Partial<ModelProvider> | null;
  if (typeof provider !== 'object' || provider === null || typeof provider.doComplete !== 'function' || provider.specificationVersion !== 'shoal.provider.v1') {
    throw optionError(name, 'a shoal provider such as `shortApi()` or `openAICompatible({...})`', value);
  }
  return value;
};

const RATE_LIMIT = option.object('createExecutor({ rateLimit })', {
  requestsPerMinute: option.number({ min: 1 }),
  tokensPerMinute: option.number({ min: 1 }),
  requestBurst: option.number({ above: 0 }),
  tokenBurst: option.number({ above: 0 }),
  reservedOutputTokens: option.number(NOT_NEGATIVE),
  adaptive: option.boolean(),
} satisfies Record<keyof RateLimitOptions, Check>);

const RETRY = option.object('createExecutor({ retry })', {
  maxAttempts: option.number({ min: 1, integer: true }),
  baseDelayMs: option.number(NOT_NEGATIVE),
  maxDelayMs: option.number(NOT_NEGATIVE),
  maxRetryAfterMs: option.number(NOT_NEGATIVE),
  ambiguousCreates: option.boolean(),
} satisfies Record<keyof RetryOptions, Check>);

const PRICING = option.object('createExecutor({ pricing })', {
  inputPerMillionUsd: option.number(NOT_NEGATIVE),
  cachedInputPerMillionUsd: option.number(NOT_NEGATIVE),
  outputPerMillionUsd: option.number(NOT_NEGATIVE),
} satisfies Record<keyof Pricing, Check>);

/**
 * The prices the ledger uses: `pricing` over what the provider states (its `pricing`, else
 * the known prices of its model). Unknown prices and a budget cannot go together: the budget
 * could not be kept, so that is refused here, before anything is sent.
 */
function executorPrices(options: ExecutorOptions): Required<ModelPrices> | undefined {
  const { provider } = options;
  const stated = providerPrices(`the ${provider.name} provider`, provider.pricing, provider.model);
  const prices = options.pricing === undefined ? stated : resolvePrices('createExecutor()', options.pricing, stated, provider.model);
  if (prices === undefined && options.budgetUsd !== undefined) throw unpricedBudgetError('createExecutor({ budgetUsd })', provider.model);
  return prices;
}

const CACHE_FORMS = 'true, false, { maxEntries } or a cache store with get() and set()';
const CACHE_SIZE = option.object('createExecutor({ cache })', { maxEntries: option.number({ min: 1, integer: true }) });
const CACHE: Check = (name, value) => {
  if (typeof value === 'boolean') return value;
  if (!isPlainObject(value)) throw optionError(name, CACHE_FORMS, value);
  if ('get' in value || 'set' in value) {
    // Your own store.
    if (typeof value.get !== 'function' || typeof value.set !== 'function') throw optionError(name, CACHE_FORMS, value);
    return value;
  }
  CACHE_SIZE(name, value);
  // Required here, unlike the other options: an object without it means nothing.
  return expectNumber(`${name}.maxEntries`, value.maxEntries, { min: 1, integer: true });
};

/** An object with these methods (a seam's implementation). */
function methods(expected: string, names: readonly string[]): Check {
  return (name, value) => {
    if (typeof value !== 'object' || value === null || names.some((method) => typeof (value as Record<string, unknown>)[method] !== 'function')) {
      throw optionError(name, expected, value);
    }
    return value;
  };
}

const EXECUTOR_OPTIONS = {
  provider: PROVIDER,
  concurrency: option.number({ min: 1, integer: true }),
  rateLimit: RATE_LIMIT,
  retry: RETRY,
  cache: CACHE,
  store: (_name: string, value: unknown) => checkDurableStore(value),
  dedupe: option.boolean(),
  budgetUsd: option.number(NOT_NEGATIVE),
  pricing: PRICING,
  timeoutMs: option.number(TIMEOUT),
  adaptiveConcurrency: option.boolean(),
  random: option.function('a function returning a uniform number in [0, 1), such as Math.random'),
  clock: methods('a clock { now(), setTimeout(), clearTimeout() }, such as manualClock() from @shoal/core/testing', ['now', 'setTimeout', 'clearTimeout']),
  queue: option.function('a function returning a queue { size, enqueue(), peek(), take(), cancel(), drain() }'),
  limiter: methods('a limiter { waitMs(), take(), refund(), settle(), onRateLimited(), onAccepted() }', [
    'waitMs',
    'take',
    'refund',
    'settle',
    'onRateLimited',
    'onAccepted',
  ]),
} satisfies Record<keyof ExecutorOptions, Check>;

/** Checks every option of createExecutor() (unknown keys, types, ranges) and fills in the defaults. */
export function resolveExecutorOptions(options: ExecutorOptions): ResolvedExecutorOptions {
  if (!isPlainObject(options as unknown)) {
    throw new ShoalConfigError(`createExecutor() takes one options object with at least \`provider\`, got ${describeValue(options)}.`);
  }
  checkOptions('createExecutor()', options, EXECUTOR_OPTIONS);
  if (options.provider === undefined) PROVIDER('provider', undefined);
  if (options.store !== undefined && options.cache !== undefined) {
    throw new ShoalConfigError('Give `store` or `cache`, not both: a store brings its own result cache.');
  }
  const rateLimit = options.rateLimit;
  if (rateLimit?.requestBurst !== undefined && rateLimit.requestsPerMinute === undefined) {
    throw new ShoalConfigError(
      '`rateLimit.requestBurst` sizes the bucket of `rateLimit.requestsPerMinute`, which is not set: set both, or leave the burst out.',
    );
  }
  if (rateLimit?.tokenBurst !== undefined && rateLimit.tokensPerMinute === undefined) {
    throw new ShoalConfigError('`rateLimit.tokenBurst` sizes the bucket of `rateLimit.tokensPerMinute`, which is not set: set both, or leave the burst out.');
  }
  if (options.limiter !== undefined && rateLimit !== undefined) {
    throw new ShoalConfigError('Give `limiter` or `rateLimit`, not both: `rateLimit` configures the built-in limiter, which `limiter` replaces.');
  }
  const clock = options.clock ?? systemClock;
  // Every request passes the limiter: configured buckets, and the rate learnt from 429s (unless `adaptive: false`).
  const limiter =
    options.limiter ??
    (rateLimit?.requestsPerMinute || rateLimit?.tokensPerMinute || rateLimit?.adaptive !== false
      ? new RateLimiter(rateLimit ?? {}, () => clock.now())
      : undefined);
  const retry: Required<RetryOptions> = { ...DEFAULT_RETRY };
  for (const [key, value] of Object.entries(options.retry ?? {})) {
    if (value !== undefined) (retry as Record<string, unknown>)[key] = value;
  }
  const store = options.store;
  const cache = options.cache ?? true;
  return {
    provider: options.provider,
    concurrency: options.concurrency ?? 16,
    adaptiveConcurrency: options.adaptiveConcurrency ?? true,
    rateLimit,
    reservedOutputTokens: rateLimit?.reservedOutputTokens ?? 256,
    retry,
    cache: store
      ? store.cache
      : cache === false
        ? undefined
        : cache === true
          ? new MemoryCacheStore()
          : 'get' in cache
            ? cache
            : new MemoryCacheStore(cache.maxEntries),
    store,
    dedupe: options.dedupe ?? true,
    budgetUsd: options.budgetUsd,
    prices: executorPrices(options),
    timeoutMs: options.timeoutMs,
    random: options.random ?? Math.random,
    clock,
    queue: options.queue ?? heapQueue,
    limiter,
  };
}

// ---- per call: on the hot path, so a plain loop and no allocation while the options are valid ----

const CALL_OPTIONS = ['priority', 'signal', 'timeoutMs', 'tags', 'cache', 'spanId'] as const satisfies readonly (keyof CallOptions)[];
const REQUEST_KEYS = ['prompt', 'args', 'output'] as const satisfies readonly (keyof CompletionRequest)[];
/** A test, not trim(): trimming copies a prompt that ends in a newline. */
const NOT_BLANK = /\S/;

/** The error for complete()'s second argument, or undefined when it is valid (or absent). */
export function checkCallOptions(options: unknown): ShoalConfigError | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return new ShoalConfigError(
      `complete() takes its call options as an object ({ priority, signal, timeoutMs, tags, cache, spanId }), got ${describeValue(options)}.`,
    );
  }
  const o = options as Record<string, unknown>;
  for (const key in o) {
    const value = o[key];
    if (value === undefined) continue;
    switch (key) {
      case 'priority':
        if (typeof value !== 'number' || !Number.isFinite(value)) return optionError('priority', 'a finite number', value);
        break;
      case 'signal':
        if (!isAbortSignal(value)) return optionError('signal', 'an AbortSignal (from an AbortController)', value);
        break;
      case 'timeoutMs':
        if (typeof value !== 'number' || !(value >= 1)) return optionError('timeoutMs', 'a number from 1 and up (Infinity for none)', value);
        break;
      case 'tags':
        if (!Array.isArray(value)) return optionError('tags', 'an array of strings', value);
        for (let i = 0; i < value.length; i++) {
          if (typeof value[i] !== 'string') return optionError(`tags[${i}]`, 'a string (`tags` is an array of strings)', value[i]);
        }
        break;
      case 'cache':
        if (typeof value !== 'boolean' && value !== 'refresh') {
          return optionError('cache', 'true, false or "refresh"', value, value === 'true' || value === 'false' ? `Write ${value} without quotes.` : '');
        }
        break;
      case 'spanId':
        if (typeof value !== 'string') return optionError('spanId', 'a string', value);
        break;
      default:
        if (!Object.hasOwn(o, key)) break; // inherited: not the caller's option
        return unknownOptionError('complete()', key, CALL_OPTIONS);
    }
  }
  return undefined;
}

/** The error for complete()'s request, or undefined when it is valid. */
export function checkRequest(request: unknown): ShoalConfigError | undefined {
  if (typeof request !== 'object' || request === null || typeof (request as CompletionRequest).prompt !== 'string') {
    return new ShoalConfigError(`complete() takes { prompt: string, args? }, got ${describeValue(request)}.`);
  }
  const r = request as Record<string, unknown>;
  for (const key in r) {
    const value = r[key];
    if (value === undefined) continue;
    switch (key) {
      case 'prompt':
        if (!NOT_BLANK.test(value as string)) {
          return new ShoalConfigError(
            'complete() got an empty prompt: there is nothing to ask, and the job would still be paid for. Pass the text to send as `prompt`.',
          );
        }
        break;
      case 'args':
        // Spread into the job's args, a string or an array would be sent (and paid for) mangled.
        if (!isPlainObject(value)) return optionError('args', 'an object of model arguments', value);
        break;
      case 'output':
        if (!isPlainObject(value) || typeof value.name !== 'string' || !isPlainObject(value.schema)) {
          return optionError('output', 'an object { name: string, schema: JSON Schema object }', value);
        }
        break;
      default:
        if (!Object.hasOwn(r, key)) break;
        return unknownOptionError("complete()'s request", key, REQUEST_KEYS, 'Model arguments (temperature, ...) go in `args`.');
    }
  }
  return undefined;
}

const CLOSE_OPTIONS = { drain: option.boolean() };

/** The error for close()'s options (`{ drain }`), or undefined when they are valid. */
export function checkCloseOptions(options: unknown): ShoalConfigError | undefined {
  if (options === undefined) return undefined;
  try {
    checkOptions('close()', options, CLOSE_OPTIONS);
    return undefined;
  } catch (error) {
    return error as ShoalConfigError;
  }
}
