import { LUA_NOW } from './lua-now.js';

/**
 * The Lua scripts of the shared limit: one bucket per queue in Redis (a hash), on Redis's
 * own clock (TIME), so workers on machines whose clocks differ share it.
 *
 * The hash: `r`, `t` (requests and tokens in the bucket), `at` (last refill), `pausedUntil`
 * (a Retry-After any worker got holds every worker), `learned` and `cutAt` (the request
 * rate learnt from 429s, and when it was last cut), `g`, `gp`, `gs` (requests granted in
 * the current and the previous second, and the current second's number: what went out,
 * for the first estimate of the server's rate).
 */

/** The request rate in force: the configured one, or the learnt one when lower (climbing back 2% a second since the cut). */
const RATE = `
local function rateAt(now, rps, learned, cutAt)
  if not learned then return rps end
  local climbed = learned * math.pow(1.02, math.max(0, now - (cutAt or now)) / 1000)
  if rps > 0 then return math.min(rps, climbed) end
  return climbed
end
${LUA_NOW}`;

/**
 * Takes up to ARGV[3] requests (at least one, or none) and ARGV[4] tokens, refilled at the
 * rate in force and ARGV[2] tokens a second (0: no limit of that kind), holding one
 * second's worth at most (and at least one request). Returns: requests granted, tokens
 * granted, ms to wait before asking again, the learnt rate in thousandths (-1: none).
 */
export const LEASE = `${RATE}
local rps, tps = tonumber(ARGV[1]), tonumber(ARGV[2])
local wantR, wantT = tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'r', 't', 'at', 'pausedUntil', 'learned', 'cutAt', 'g', 'gs', 'gp')
local learned = tonumber(s[5])
local rate = rateAt(now, rps, learned, tonumber(s[6]))
local learnedMilli = -1
if learned then learnedMilli = math.floor(rate * 1000) end
local paused = tonumber(s[4]) or 0
if paused > now then return {0, 0, paused - now, learnedMilli} end
local at = tonumber(s[3]) or now
local elapsed = math.max(0, now - at) / 1000
local capR = math.max(1, rate)
local r = math.min(capR, (tonumber(s[1]) or capR) + elapsed * rate)
local tk = math.min(tps, (tonumber(s[2]) or tps) + elapsed * tps)
-- Requests and their tokens are granted together, or neither is (with the wait until both are there).
local gotR, gotT, wait = wantR, 0, 0
if rate > 0 then
  gotR = math.min(wantR, math.floor(r))
  if gotR < 1 then
    gotR = 0
    wait = math.ceil((1 - r) / rate * 1000)
  end
end
if tps > 0 then
  local need = math.min(wantT, tps)
  if tk < need then
    wait = math.max(wait, math.ceil((need - tk) / tps * 1000))
    gotR = 0
  elseif gotR > 0 then
    gotT = need
  end
end
if rate > 0 then r = r - gotR end
if tps > 0 then tk = tk - gotT end
local second = math.floor(now / 1000)
local gs = tonumber(s[8]) or second
local g, gp = tonumber(s[7]) or 0, tonumber(s[9]) or 0
if gs ~= second then
  if gs == second - 1 then gp = g else gp = 0 end
  g = 0
end
g = g + gotR
redis.call('HSET', KEYS[1], 'r', r, 't', tk, 'at', now, 'g', g, 'gs', second, 'gp', gp)
redis.call('PEXPIRE', KEYS[1], 600000)
return {gotR, gotT, wait, learnedMilli}
`;

/**
 * A worker saw a burst of 429s: cuts the request rate for every worker, at most once a
 * second (the 429s of one burst reach several workers). The first cut sets it just under
 * what the server took in the last second (the requests granted times ARGV[2], the share
 * of answers that were not 429, in thousandths); later ones take 20% off. The bucket keeps
 * no more than the new rate's second. Returns the new rate in thousandths, or 0 when
 * another worker cut it within the last second.
 */
export const CUT = `${RATE}
local rps, acceptedMilli = tonumber(ARGV[1]), tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 'learned', 'cutAt', 'g', 'gs', 'gp', 'r')
local learned, cutAt = tonumber(s[1]), tonumber(s[2]) or 0
if now - cutAt < 1000 then return 0 end
local nextRate
if learned then
  nextRate = rateAt(now, rps, learned, cutAt) * 0.8
else
  local second = math.floor(now / 1000)
  local gs = tonumber(s[4]) or -10
  local sent = 0
  if gs == second then sent = tonumber(s[5]) or 0 elseif gs == second - 1 then sent = tonumber(s[3]) or 0 end
  if sent > 0 then nextRate = sent * acceptedMilli / 1000 * 0.9 else nextRate = rps * 0.8 end
  if rps > 0 then nextRate = math.min(nextRate, rps * 0.9) end
end
nextRate = math.max(0.1, nextRate)
local r = tonumber(s[6]) or nextRate
redis.call('HSET', KEYS[1], 'learned', nextRate, 'cutAt', now, 'r', math.min(r, math.max(1, nextRate)))
redis.call('PEXPIRE', KEYS[1], 600000)
return math.floor(nextRate * 1000)
`;

/** Holds every worker of the queue for a server's Retry-After (the pause lasts at least as long as the longest). */
export const PAUSE = `${LUA_NOW}local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'pausedUntil')) or 0
if untilMs > current then redis.call('HSET', KEYS[1], 'pausedUntil', untilMs) end
redis.call('PEXPIRE', KEYS[1], 600000)
return 1
`;
