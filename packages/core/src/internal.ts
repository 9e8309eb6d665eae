/**
 * `@shoal/core/internal`: helpers that shoal's own sibling packages (`@shoal/agents`,
 * `@shoal/store-sqlite`) share with core. NOT covered by semver: anything here may change
 * or go in any release, minor and patch included. Applications and plugins use the root
 * entry (`@shoal/core`); a test pins this list as it pins the root's.
 */

// Budget admission for a group of agent calls (the ready-made agents' CallScope).
export { BudgetGate } from './agent/budget-gate.js';
export type { SpentResult } from './budget/tally.js';
// The one integer tally of usage and cost (the agents' spend per operation).
export { Tally } from './budget/tally.js';
export type { AbortWording } from './errors.js';
// Errors made from something else: an aborted signal, an unexpected throw.
export { abortError, toShoalError } from './errors.js';
export { requestKey } from './executor/cache.js';
// A call's own journal entry (its queued job's id), for executors whose calls are jobs of a queue elsewhere (`@shoal/bullmq`'s workers).
export { JOURNAL_KEY, type JournaledCallOptions } from './executor/journal.js';
// A call's request checked as complete() checks it, and its key (a SHA-256 of model and request): for executors
// that live elsewhere (`@shoal/bullmq`'s producer).
export { checkCallOptions, checkRequest } from './executor/options.js';
// The executor's default limiter (buckets, Retry-After pause, the rate learnt from 429s), for limiters that add to it.
export { RateLimiter } from './executor/rate-limiter.js';
// The HTTP outcome of a request as a shoal error (status → typed error, Retry-After; a failure before any answer →
// NetworkError or AmbiguousCreateError), for providers in sibling packages that meet HTTP through another client (`@shoal/ai-sdk`).
export { HttpFailure } from './http/http-failure.js';
export { failureError, type RequestContext, throwForStatus } from './providers/http-errors.js';
// A provider factory's prices: its `pricing` option over the model's known prices (for providers in sibling packages, `@shoal/ai-sdk`).
export { providerPrices, refuseUnpricedBudget } from './providers/prices.js';
// ShortAPI's default model, for what a run on shortApi() would use without making one (the CLI's dry run).
export { DEFAULT_MODEL as SHORTAPI_DEFAULT_MODEL } from './providers/shortapi/protocol.js';
// The vendor's prefix-cache rule (1,024 tokens, then steps of 128), for the CLI's dry run as for the emulator.
export { PrefixCache } from './testing/prefix-cache.js';
// The one tokenizer of the process: o200k when gpt-tokenizer is installed, else the estimate (said once, as a warning), for the agents' chunking and cutting.
export { loadTokenizer, type Tokenizer } from './tokens.js';
export { describeValue, joinOr, listValues } from './util/describe.js';
export { closestName } from './util/did-you-mean.js';
// One rule for a listener that throws (to `listener-error`, else thrown on its own), for emitters elsewhere (the bullmq producer's).
export { reportListenerError } from './util/listener-error.js';
// Money in the ledger's unit: integer pico-dollars, float USD only at the edges.
export { parseUsdToPico, picoToUsd, usdToPico } from './util/money.js';
// Option checks in core's wording (p-queue's), for the siblings' own options.
export { describeNumberRule, expectNumber, isPlainObject, optionError, rejectUnknownKeys } from './util/options.js';
// Keys out of text that is quoted back (a server's error body, a model's answer).
export { rawForError, withoutSecrets } from './util/redact.js';
