/**
 * The opening of a Lua script that works on time: `now`, in ms on Redis's own clock (TIME),
 * so that processes on machines whose clocks differ agree on it.
 */
export const LUA_NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;
