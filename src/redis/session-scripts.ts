/**
 * The session scripts of `latchkey/redis` (conventions in redis/lua): create, read a batch, update
 * (a touch never resurrects a deleted session, SEC-34, and never moves backwards, R-06), delete,
 * list and delete a user's sessions through the user's index.
 *
 * @module redis/session-scripts
 */
import { script } from './lua.ts';

// KEYS: session, user index. ARGV: now, id, idleTimeout, absoluteTimeout, the inherited
// authenticatedAt and absoluteExpiresAt of a rotation (or '' and '' for a login), field/value pairs
// (redis/commands' sessionFields, with `methods` as JSON).
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
return deleteRecord(KEYS[1], base(KEYS[1], 's:' .. ARGV[2]), 'u:', ARGV[2], clock(ARGV[1]))
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

/** The session scripts, by operation. */
export const SESSION_SCRIPTS = Object.freeze({ createSession, getSessions, updateSession, deleteSession, listUserSessions, deleteUserSessions });
