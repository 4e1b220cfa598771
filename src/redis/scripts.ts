/**
 * The Lua scripts of `latchkey/redis`. Every operation that reads before it writes, or writes more
 * than one key, is one script, so it runs atomically on the server: two racing requests never both
 * rotate a remember-me validator (R-05, SEC-39), a touch never resurrects a deleted session
 * (SEC-34), and parallel failures are never lost (SEC-51).
 *
 * Conventions of every script:
 * - `ARGV[1]` is the clock: the caller's ms as a decimal string (tests inject one), or `''` for the
 *   Redis server's `TIME`, so that app instances with skewed clocks agree. Redis 5 and later
 *   replicate scripts by their effects, which is what lets a script call `TIME` and then write.
 * - Records are hashes that keep their own `expiresAt`; a record is live while `now < expiresAt`
 *   (SEC-29). The key's TTL (`PEXPIRE expiresAt − now`) only collects the garbage: the field
 *   decides, which is what keeps the boundary exact and lets an injected clock work.
 * - A user's index (`u:`, `ru:`) is a sorted set of ids scored by their record's `expiresAt`: dead
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
 * @module redis/scripts
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
local function field(record, name)
  for i = 1, #record, 2 do if record[i] == name then return record[i + 1] end end
  return nil
end
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

function script(name: string, body: string): RedisScript {
  const source = `-- latchkey ${name}\n${HELPERS}\n${body.trim()}\n`;
  return Object.freeze({ name, source, sha1: createHash('sha1').update(source).digest('hex') });
}

// KEYS: session, user index. ARGV: now, id, idleTimeout, absoluteTimeout, the inherited
// authenticatedAt and absoluteExpiresAt of a rotation (or '' and '' for a login), field/value pairs.
// Returns { createdAt, expiresAt, absoluteExpiresAt, authenticatedAt }, or nil when the id is taken.
// An inherited absolute expiry already past gives a session born expired: PEXPIRE deletes it.
const createSession = script('createSession', `
local now = clock(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local absolute = now + tonumber(ARGV[4])
if ARGV[6] ~= '' then absolute = math.min(absolute, tonumber(ARGV[6])) end
local authenticated = now
if ARGV[5] ~= '' then authenticated = tonumber(ARGV[5]) end
local expires = math.min(now + tonumber(ARGV[3]), absolute)
redis.call('HSET', KEYS[1], 'createdAt', int(now), 'authenticatedAt', int(authenticated), 'lastSeenAt', int(now),
  'expiresAt', int(expires), 'absoluteExpiresAt', int(absolute), unpack(ARGV, 7))
redis.call('PEXPIRE', KEYS[1], int(expires - now))
redis.call('ZADD', KEYS[2], int(expires), ARGV[2])
reindex(KEYS[2], now)
return { int(now), int(expires), int(absolute), int(authenticated) }
`);

// KEYS: sessions. ARGV: now, then their ids in the same order. Returns, for each, the hash's
// field/value pairs as one JSON array, or nil: one string to decode instead of ~26 (the client's
// reply decoding was ~15 % of a protected request's CPU on the Redis store). Several sessions at
// once because the store coalesces the reads of one turn of the event loop (lib/read-batch). An
// expired session is deleted as it is found (SEC-28).
const getSessions = script('getSessions', `
local now = clock(ARGV[1])
local found = {}
for i, key in ipairs(KEYS) do
  local id = ARGV[i + 1]
  local record = redis.call('HGETALL', key)
  found[i] = false
  if #record > 0 then
    if now < tonumber(field(record, 'expiresAt')) then
      found[i] = cjson.encode(record)
    else
      redis.call('DEL', key)
      redis.call('ZREM', base(key, 's:' .. id) .. 'u:' .. field(record, 'userId'), id)
    end
  end
end
return found
`);

// KEYS: session. ARGV: now, id, idleTimeout or '', fresh ('' | '0' | '1'),
// identifier mode ('' | 'null' | 'set'), identifier. Only a live session changes (SEC-34); the
// touch is monotonic and capped at the absolute expiry. Returns the hash as getSessions does (JSON), or nil.
const updateSession = script('updateSession', `
local now = clock(ARGV[1])
local prefix = base(KEYS[1], 's:' .. ARGV[2])
local current = redis.call('HMGET', KEYS[1], 'expiresAt', 'lastSeenAt', 'absoluteExpiresAt', 'userId')
local expires = tonumber(current[1])
if not expires or now >= expires then return false end
local changes = {}
if ARGV[4] ~= '' then changes[#changes + 1] = 'fresh'; changes[#changes + 1] = ARGV[4] end
if ARGV[5] == 'set' then changes[#changes + 1] = 'identifier'; changes[#changes + 1] = ARGV[6] end
local touched = expires
if ARGV[3] ~= '' then
  touched = math.max(expires, math.min(now + tonumber(ARGV[3]), tonumber(current[3])))
  changes[#changes + 1] = 'lastSeenAt'; changes[#changes + 1] = int(math.max(tonumber(current[2]), now))
  changes[#changes + 1] = 'expiresAt'; changes[#changes + 1] = int(touched)
end
if #changes > 0 then redis.call('HSET', KEYS[1], unpack(changes)) end
if ARGV[5] == 'null' then redis.call('HDEL', KEYS[1], 'identifier') end
if touched ~= expires then
  redis.call('PEXPIRE', KEYS[1], int(touched - now))
  local index = prefix .. 'u:' .. current[4]
  redis.call('ZADD', index, int(touched), ARGV[2])
  reindex(index, now)
end
return cjson.encode(redis.call('HGETALL', KEYS[1]))
`);

// KEYS: session. ARGV: now, id. Returns 1 if the session was live, else 0.
const deleteSession = script('deleteSession', `
local now = clock(ARGV[1])
local prefix = base(KEYS[1], 's:' .. ARGV[2])
local current = redis.call('HMGET', KEYS[1], 'expiresAt', 'userId')
if not current[1] then return 0 end
redis.call('DEL', KEYS[1])
local index = prefix .. 'u:' .. current[2]
redis.call('ZREM', index, ARGV[2])
reindex(index, now)
if now < tonumber(current[1]) then return 1 end
return 0
`);

// KEYS: user index. ARGV: now, userId. Returns the live sessions' hashes, unordered.
const listUserSessions = script('listUserSessions', `
local now = clock(ARGV[1])
local prefix = base(KEYS[1], 'u:' .. ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. int(now), '+inf')
local sessions = {}
for _, id in ipairs(ids) do
  local record = redis.call('HGETALL', prefix .. 's:' .. id)
  if #record > 0 and now < tonumber(field(record, 'expiresAt')) then sessions[#sessions + 1] = record end
end
return sessions
`);

// KEYS: user index. ARGV: now, userId, '1' if there is an exception, the excepted id.
// Returns how many of the deleted sessions were live.
const deleteUserSessions = script('deleteUserSessions', `
local except = nil
if ARGV[3] == '1' then except = ARGV[4] end
return deleteIndexed(KEYS[1], base(KEYS[1], 'u:' .. ARGV[2]) .. 's:', clock(ARGV[1]), except)
`);

// KEYS: series, user index. ARGV: now, series, lifetime, validatorHash, userId.
// Returns expiresAt, or nil when the series is taken.
const createRememberToken = script('createRememberToken', `
local now = clock(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local expires = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'series', ARGV[2], 'validatorHash', ARGV[4], 'userId', ARGV[5],
  'createdAt', int(now), 'expiresAt', int(expires))
redis.call('PEXPIRE', KEYS[1], int(expires - now))
redis.call('ZADD', KEYS[2], int(expires), ARGV[2])
reindex(KEYS[2], now)
return int(expires)
`);

// KEYS: series. ARGV: now, series, validatorHash, nextValidatorHash, grace.
// Returns { 'valid' | 'grace', userId, expiresAt }, { 'stolen', userId }, or nil. Rotation keeps
// the key's TTL: it never extends the series (SEC-36).
const useRememberToken = script('useRememberToken', `
local now = clock(ARGV[1])
local prefix = base(KEYS[1], 'r:' .. ARGV[2])
local current = redis.call('HMGET', KEYS[1], 'validatorHash', 'previousHash', 'rotatedAt', 'userId', 'expiresAt')
if not current[1] then return false end
local index = prefix .. 'ru:' .. current[4]
local expires = tonumber(current[5])
if now >= expires then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', index, ARGV[2])
  reindex(index, now)
  return false
end
if same(current[1], ARGV[3]) then
  redis.call('HSET', KEYS[1], 'validatorHash', ARGV[4], 'previousHash', current[1], 'rotatedAt', int(now), 'lastUsedAt', int(now))
  return { 'valid', current[4], int(expires) }
end
if current[3] and now < tonumber(current[3]) + tonumber(ARGV[5]) and same(current[2], ARGV[3]) then
  return { 'grace', current[4], int(expires) }
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', index, ARGV[2])
reindex(index, now)
return { 'stolen', current[4] }
`);

// KEYS: series. ARGV: now, series. Returns 1 if the series was live, else 0.
const deleteRememberToken = script('deleteRememberToken', `
local now = clock(ARGV[1])
local prefix = base(KEYS[1], 'r:' .. ARGV[2])
local current = redis.call('HMGET', KEYS[1], 'expiresAt', 'userId')
if not current[1] then return 0 end
redis.call('DEL', KEYS[1])
local index = prefix .. 'ru:' .. current[2]
redis.call('ZREM', index, ARGV[2])
reindex(index, now)
if now < tonumber(current[1]) then return 1 end
return 0
`);

// KEYS: user index. ARGV: now, userId, '1' if there is an exception, the excepted series.
// Returns how many of the deleted series were live.
const deleteUserRememberTokens = script('deleteUserRememberTokens', `
local except = nil
if ARGV[3] == '1' then except = ARGV[4] end
return deleteIndexed(KEYS[1], base(KEYS[1], 'ru:' .. ARGV[2]) .. 'r:', clock(ARGV[1]), except)
`);

// KEYS: counter. ARGV: now, ttl. Returns { count, firstAt, lastAt }. A live counter counts on;
// an absent or expired one starts again at 1; the expiry slides and, like lastAt, never moves back.
const recordFailure = script('recordFailure', `
local now = clock(ARGV[1])
local current = redis.call('HMGET', KEYS[1], 'count', 'firstAt', 'lastAt', 'expiresAt')
local expires = tonumber(current[4])
local count, first, last, expiry = 1, now, now, now + tonumber(ARGV[2])
if expires and now < expires then
  count = tonumber(current[1]) + 1
  first = tonumber(current[2])
  last = math.max(tonumber(current[3]), now)
  expiry = math.max(expires, expiry)
end
redis.call('HSET', KEYS[1], 'count', int(count), 'firstAt', int(first), 'lastAt', int(last), 'expiresAt', int(expiry))
redis.call('PEXPIRE', KEYS[1], int(expiry - now))
return { int(count), int(first), int(last) }
`);

// KEYS: counter. ARGV: now. Takes one failure back from a live counter: returns { count, firstAt,
// lastAt } after it, or nil when it was absent or expired, or reached 0 and was deleted.
const forgiveFailure = script('forgiveFailure', `
local now = clock(ARGV[1])
local current = redis.call('HMGET', KEYS[1], 'count', 'firstAt', 'lastAt', 'expiresAt')
if not current[4] or now >= tonumber(current[4]) then return false end
local count = tonumber(current[1]) - 1
if count <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('HSET', KEYS[1], 'count', int(count))
return { int(count), current[2], current[3] }
`);

// KEYS: counter. ARGV: now. Returns { count, firstAt, lastAt }, or nil; an expired one is deleted.
const getCounter = script('getCounter', `
local now = clock(ARGV[1])
local current = redis.call('HMGET', KEYS[1], 'count', 'firstAt', 'lastAt', 'expiresAt')
if not current[4] then return false end
if now < tonumber(current[4]) then return { current[1], current[2], current[3] } end
redis.call('DEL', KEYS[1])
return false
`);

/** Every script, by operation. */
export const SCRIPTS = Object.freeze({
  createSession,
  getSessions,
  updateSession,
  deleteSession,
  listUserSessions,
  deleteUserSessions,
  createRememberToken,
  useRememberToken,
  deleteRememberToken,
  deleteUserRememberTokens,
  recordFailure,
  forgiveFailure,
  getCounter,
});
