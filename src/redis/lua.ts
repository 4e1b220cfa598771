/**
 * How the Lua scripts of `latchkey/redis` are written, and the helpers they share. Every
 * operation that reads before it writes, or writes more than one key, is one script, so it runs
 * atomically on the server: two racing requests never both rotate a remember-me validator (R-05,
 * SEC-39), a touch never resurrects a deleted session (SEC-34), and parallel failures are never
 * lost (SEC-51).
 *
 * Conventions of every script:
 * - `ARGV[1]` is the clock: the caller's ms as a decimal string (tests inject one), or `''` for the
 *   Redis server's `TIME`, so that app instances with skewed clocks agree. Redis 5 and later
 *   replicate scripts by their effects, which is what lets a script call `TIME` and then write.
 * - Records are hashes that keep their own `expiresAt`; a record is live while `now < expiresAt`
 *   (SEC-29). The key's TTL (`PEXPIRE expiresAt − now`) only collects the garbage: the field
 *   decides, which is what keeps the boundary exact and lets an injected clock work.
 * - A user's index (`u:`, `ru:`, `tu:`) is a sorted set of ids scored by their record's `expiresAt`: dead
 *   members are trimmed on every write to it, and its TTL outlives its longest-lived member.
 * - Numbers leave Lua through `string.format('%d')`: `tostring` would print 14 significant digits.
 * - No `#!lua` shebang, so that Redis 6 runs them too. Without flags, Redis refuses the first
 *   memory-growing write (HSET, ZADD…) of a script once `maxmemory` is reached under `noeviction`;
 *   every script that adds data makes that write before any other, so it fails whole, having
 *   changed nothing, and the store rejects. Deletes still run: they free memory.
 *
 * Records reached through an index (a user's sessions) have their keys built in Lua, from the
 * prefix of a declared key (so a client-side `keyPrefix` applies to them too); every key of a
 * store must therefore live on one server or, on Redis Cluster, in one hash slot.
 *
 * The scripts themselves are in redis/session-scripts, redis/remember-scripts,
 * redis/counter-scripts and redis/token-scripts; redis/scripts lists them by operation.
 *
 * @module redis/lua
 */
import { createHash } from 'node:crypto';

/** A script with its SHA-1, for `EVALSHA` (and `EVAL` when the server answers NOSCRIPT). */
export interface RedisScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

const HELPERS = `
local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
-- Constant-time equality of two digests (SEC-04): every byte is compared whatever the first difference.
local function same(a, b)
  if not a or not b or #a ~= #b then return false end
  local difference = 0
  for i = 1, #a do difference = bit.bor(difference, bit.bxor(string.byte(a, i), string.byte(b, i))) end
  return difference == 0
end
-- The prefix of every key, taken from a declared key that ends in a known suffix, so that keys built
-- here get whatever the client added to the declared ones (a client-side keyPrefix) as well.
local function base(key, suffix)
  if string.sub(key, -#suffix) ~= suffix then error({ err = 'ERR latchkey: a key does not end in its id' }) end
  return string.sub(key, 1, #key - #suffix)
end
-- Trims dead members (score = expiresAt <= now) and makes the index outlive its last member.
-- An index left empty is deleted by Redis itself.
local function reindex(index, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', int(now))
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIRE', index, int(tonumber(last[2]) - now)) end
end
-- Deletes every record of a user's index (a session or remember-me series per member, at
-- record prefix .. member) except \`except\` (or none when nil); returns how many of them were live.
-- Deletes one record (a session, a remember-me series) at \`key\`, whose id is \`id\`, and its entry in
-- its user's index (prefix .. indexKind .. userId); returns 1 if it was live, else 0.
local function deleteRecord(key, prefix, indexKind, id, now)
  local current = redis.call('HMGET', key, 'expiresAt', 'userId')
  if not current[1] then return 0 end
  redis.call('DEL', key)
  local index = prefix .. indexKind .. current[2]
  redis.call('ZREM', index, id)
  reindex(index, now)
  if now < tonumber(current[1]) then return 1 end
  return 0
end
local function deleteIndexed(index, recordPrefix, now, except)
  local live = 0
  for _, member in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if member ~= except then
      local key = recordPrefix .. member
      local expires = tonumber(redis.call('HGET', key, 'expiresAt'))
      if expires then
        redis.call('DEL', key)
        if now < expires then live = live + 1 end
      end
      redis.call('ZREM', index, member)
    end
  end
  reindex(index, now)
  return live
end
`;

/** A script named `name`: the shared helpers, then `body`. */
export function script(name: string, body: string): RedisScript {
  const source = `-- latchkey ${name}\n${HELPERS}\n${body.trim()}\n`;
  return Object.freeze({ name, source, sha1: createHash('sha1').update(source).digest('hex') });
}
