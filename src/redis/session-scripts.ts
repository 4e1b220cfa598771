/**
 * The session scripts of `latchkey/redis` (conventions in redis/lua): create, read a batch, update
 * (a touch never resurrects a deleted session, SEC-34, and never moves backwards, R-06), delete,
 * list and delete a user's sessions through the user's index.
 *
 * @module redis/session-scripts
 */
import { EXPIRES_AT, SESSION_FIELDS, USER_ID } from '../session-record.ts';
import { script } from './lua.ts';

/**
 * A session's values in session-record's order, by `HMGET` (false for a missing field), for
 * the scripts that return sessions: one `cjson.encode` of them is one string for the client to
 * decode, by position, where the hash's field/value pairs were twice as many strings, each read
 * by name (the client's decoding of the reply was a measurable share of a protected request).
 */
const RECORD = `
local SESSION_FIELDS = { ${SESSION_FIELDS.map((name) => `'${name}'`).join(', ')} }
local function record(key) return redis.call('HMGET', key, unpack(SESSION_FIELDS)) end
`;

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

// KEYS: sessions. ARGV: now, then their ids in the same order. Returns one JSON array with, for
// each, its record (see RECORD) or false. Several sessions at once because the store coalesces the
// reads of one turn of the event loop (lib/read-batch). An expired session is deleted as it is
// found (SEC-28). A hash without expiresAt is returned as it is, for the client to refuse.
const getSessions = script('getSessions', `${RECORD}
local now = clock(ARGV[1])
local found = {}
for i, key in ipairs(KEYS) do
  local id = ARGV[i + 1]
  local values = record(key)
  local expires = tonumber(values[${EXPIRES_AT + 1}])
  found[i] = false
  if expires and now >= expires then
    redis.call('DEL', key)
    redis.call('ZREM', base(key, 's:' .. id) .. 'u:' .. values[${USER_ID + 1}], id)
  elseif expires or values[1] then
    found[i] = values
  end
end
return cjson.encode(found)
`);

// KEYS: session. ARGV: now, id, idleTimeout or '', fresh ('' | '0' | '1'),
// identifier mode ('' | 'null' | 'set'), identifier. Only a live session changes (SEC-34); the
// touch is monotonic and capped at the absolute expiry (R-06). Returns its record (see RECORD) as JSON, or nil.
const updateSession = script('updateSession', `${RECORD}
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
return cjson.encode(record(KEYS[1]))
`);

// KEYS: session. ARGV: now, id. Returns 1 if the session was live, else 0.
const deleteSession = script('deleteSession', `
return deleteRecord(KEYS[1], base(KEYS[1], 's:' .. ARGV[2]), 'u:', ARGV[2], clock(ARGV[1]))
`);

// KEYS: user index. ARGV: now, userId. Returns the live sessions' records (see RECORD), unordered,
// as one JSON array.
const listUserSessions = script('listUserSessions', `${RECORD}
local now = clock(ARGV[1])
local prefix = base(KEYS[1], 'u:' .. ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. int(now), '+inf')
local sessions = {}
for _, id in ipairs(ids) do
  local values = record(prefix .. 's:' .. id)
  local expires = tonumber(values[${EXPIRES_AT + 1}])
  if expires and now < expires then sessions[#sessions + 1] = values end
end
-- cjson writes an empty table as {}
if #sessions == 0 then return '[]' end
return cjson.encode(sessions)
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
