import { BudgetExceededError } from '@shoal/core';
import { picoToUsd, usdToPico } from '@shoal/core/internal';
import type { Redis } from 'ioredis';
import { LUA_NOW } from './lua-now.js';

/**
 * A producer's budget, kept in Redis so that every worker of the queue spends from it: one
 * hash per budget with the limit, what was charged (`spent`, integer pico-dollars), how
 * many charges and the largest, and one field per call admitted whose job has no charge yet
 * (`r:<BullMQ job id>` = "<estimate>:<expires at, ms on Redis's clock>").
 *
 * The admission rule is core's SpendProjection, over every worker at once: nothing starts
 * once the spend reaches the limit; until a charge is known the first call runs alone; after
 * that a call starts only while spent + the reservations + its estimate (the largest charge
 * seen) <= limit, and always when nothing else is in flight. So the limit is passed by at
 * most about one call, whatever the number of workers, as long as no call costs much more
 * than the largest charge so far.
 *
 * A reservation is keyed by the BullMQ job's id: a call taken over from a worker that died
 * overwrites it; one that is never taken up again expires (`RESERVATION_TTL_MS`), so a dead
 * worker holds no room for ever. The sums are Lua numbers (doubles): exact to $9,000 spent,
 * a few pico-dollars off beyond (the booking itself, HINCRBY, stays exact).
 */

/** How long a reservation holds room without a charge or a release: its call is taken over, or it ends, well before. */
const RESERVATION_TTL_MS = 10 * 60_000;
/** How long an admission is remembered for a call that does not end (its worker died, it was handed back): a day. */
const ADMITTED_TTL_MS = 24 * 3_600_000;
/** How long a budget's record lives without a charge (every booking and every producer read renews it). */
const RECORD_TTL_MS = 30 * 24 * 3_600_000;
/** More than any bill: a limit too large to be an amount ($1e28 and up, Infinity) stands for none, as in core. */
const NO_LIMIT_PICO = 10n ** 40n;

function budgetKey(queue: string, id: string): string {
  return `shoal:${queue}:budget:${id}`;
}

/** Where workers hear that a budget of the queue changed (a charge, a release): the message is the budget's id. */
function budgetChannel(queue: string): string {
  return `shoal:${queue}:budget-changes`;
}

/**
 * KEYS[1] the budget; ARGV: the call's token (its BullMQ job id), the reservation's time to
 * live in ms. A call admitted before (`a:<token>`, kept until the call ends for good:
 * its worker died or handed it back, and its job may be made and paid already) is let
 * through whatever is spent. Returns {status, spent, limit}: 1 admitted (room reserved),
 * 0 wait for room, -1 spent, -2 no such budget.
 */
const ADMIT = /* lua */ `${LUA_NOW}
local b = redis.call('HMGET', KEYS[1], 'limit', 'spent', 'largest', 'charges')
if not b[1] then return {-2, '0', '0'} end
local spentText = b[2] or '0'
local limit, spent = tonumber(b[1]), tonumber(spentText)
local largest = b[3] or '0'
local before = tonumber(redis.call('HGET', KEYS[1], 'a:' .. ARGV[1]) or '0')
local force = before > now
if spent >= limit and not force then return {-1, spentText, b[1]} end
local fields = redis.call('HGETALL', KEYS[1])
local calls, reserved = 0, 0
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 2) == 'a:' and tonumber(fields[i + 1]) <= now then
    redis.call('HDEL', KEYS[1], name)
  elseif string.sub(name, 1, 2) == 'r:' then
    local amount, expires = string.match(fields[i + 1], '^(%d+):(%d+)$')
    if tonumber(expires) <= now then
      redis.call('HDEL', KEYS[1], name)
    elseif name ~= 'r:' .. ARGV[1] then
      calls = calls + 1
      reserved = reserved + tonumber(amount)
    end
  end
end
if not force and calls > 0 then
  local known = tonumber(b[4] or '0') > 0
  if not known or spent + reserved + tonumber(largest) > limit then return {0, spentText, b[1]} end
end
redis.call('HSET', KEYS[1], 'r:' .. ARGV[1], largest .. ':' .. string.format('%d', now + tonumber(ARGV[2])))
redis.call('HSET', KEYS[1], 'a:' .. ARGV[1], string.format('%d', now + ${ADMITTED_TTL_MS}))
return {1, spentText, b[1]}
`;

/**
 * KEYS[1] the budget; ARGV: token, a charge in pico-dollars, release ('1': the charge takes
 * the place of the call's reservation), the channel, the budget's id, the record's TTL.
 */
const BOOK = `
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'charges', 1)
local largest = redis.call('HGET', KEYS[1], 'largest')
if not largest or tonumber(ARGV[2]) > tonumber(largest) then redis.call('HSET', KEYS[1], 'largest', ARGV[2]) end
if ARGV[3] == '1' then redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

/**
 * KEYS[1] the budget; ARGV: token, the channel, the budget's id, ended ('1': the call ended for
 * good, so its admission is forgotten too). A call ended (or its job was another's) without a
 * charge of its own.
 */
const RELEASE = `
if ARGV[4] == '1' then redis.call('HDEL', KEYS[1], 'a:' .. ARGV[1]) end
if redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1
`;

export type Admission = { readonly status: 'admitted' | 'wait' | 'missing' } | { readonly status: 'spent'; readonly error: BudgetExceededError };

type Scripted = Redis & {
  shoalBudgetAdmit(key: string, token: string, ttlMs: number): Promise<[number, string, string]>;
  shoalBudgetBook(key: string, token: string, pico: string, release: string, channel: string, id: string, ttlMs: number): Promise<number>;
  shoalBudgetRelease(key: string, token: string, channel: string, id: string, ended: string): Promise<number>;
};

/** The budgets of one queue in Redis: what producers write and workers spend from. */
export class BudgetRecords {
  readonly #redis: Scripted;
  readonly #queue: string;
  readonly #channel: string;

  constructor(redis: Redis, queue: string) {
    redis.defineCommand('shoalBudgetAdmit', { numberOfKeys: 1, lua: ADMIT });
    redis.defineCommand('shoalBudgetBook', { numberOfKeys: 1, lua: BOOK });
    redis.defineCommand('shoalBudgetRelease', { numberOfKeys: 1, lua: RELEASE });
    this.#redis = redis as Scripted;
    this.#queue = queue;
    this.#channel = budgetChannel(queue);
  }

  get channel(): string {
    return this.#channel;
  }

  /** A new budget of `limitUsd`, nothing spent. */
  async create(id: string, limitUsd: number): Promise<void> {
    const limitPico = usdToPico(limitUsd) ?? NO_LIMIT_PICO;
    await this.#redis
      .multi()
      .hset(budgetKey(this.#queue, id), 'limit', limitPico.toString(), 'spent', '0')
      .pexpire(budgetKey(this.#queue, id), RECORD_TTL_MS)
      .exec();
  }

  /** What is spent, in pico-dollars (undefined when the record is gone); renews the record. */
  async spentPico(id: string): Promise<bigint | undefined> {
    const key = budgetKey(this.#queue, id);
    const [[, spent], [, limit]] = (await this.#redis.multi().hget(key, 'spent').hget(key, 'limit').pexpire(key, RECORD_TTL_MS).exec()) as [
      [unknown, string | null],
      [unknown, string | null],
    ];
    return limit === null ? undefined : BigInt(spent ?? '0');
  }

  /** Asks for room for one call (`token`: its BullMQ job id); a call admitted before (taken over, handed back) is let through. */
  async admit(id: string, token: string, ttlMs = RESERVATION_TTL_MS): Promise<Admission> {
    const [status, spent, limit] = await this.#redis.shoalBudgetAdmit(budgetKey(this.#queue, id), token, ttlMs);
    if (status === 1) return { status: 'admitted' };
    if (status === 0) return { status: 'wait' };
    if (status === -2) return { status: 'missing' };
    return { status: 'spent', error: exceeded(BigInt(limit), BigInt(spent)) };
  }

  /** Books one job's charge; with `release`, it takes the place of the call's reservation. */
  async book(id: string, token: string, pico: bigint, release: boolean): Promise<void> {
    await this.#redis.shoalBudgetBook(budgetKey(this.#queue, id), token, pico.toString(), release ? '1' : '0', this.#channel, id, RECORD_TTL_MS);
  }

  /** Hands a call's reservation back: it ended without a job of its own, or its job was charged elsewhere; `ended`: for good. */
  async release(id: string, token: string, ended: boolean): Promise<void> {
    await this.#redis.shoalBudgetRelease(budgetKey(this.#queue, id), token, this.#channel, id, ended ? '1' : '0');
  }
}

/** core's error for a spent budget, from the record's integer amounts. */
export function exceeded(limitPico: bigint, spentPico: bigint): BudgetExceededError {
  return new BudgetExceededError(limitPico >= NO_LIMIT_PICO ? Number.POSITIVE_INFINITY : picoToUsd(limitPico), picoToUsd(spentPico));
}
