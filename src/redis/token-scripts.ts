/**
 * The one-time token scripts of `latchkey/redis` (conventions in redis/lua): a token is a hash at
 * `t:<hash>` (its SHA-256, never the token, SEC-57) whose key expires with it (`PEXPIRE` = its
 * lifetime, on Redis's clock, R-09), and a member of its user's index `tu:<userId>`, scored by its
 * expiry, for deleteUserTokens. The consumption reads, checks the purpose and expiry, and deletes
 * in one script, so of parallel consumptions exactly one gets the token.
 *
 * @module redis/token-scripts
 */
import { script } from './lua.ts';

/** Shared by the scripts below: the token's fields, and its deletion with its index entry. */
const TOKEN_HELPERS = `
local function readToken(key)
  return redis.call('HMGET', key, 'userId', 'purpose', 'email', 'createdAt', 'expiresAt')
end
local function dropToken(key, hash, userId, now)
  redis.call('DEL', key)
  local index = base(key, 't:' .. hash) .. 'tu:' .. userId
  redis.call('ZREM', index, hash)
  reindex(index, now)
end
`;

// KEYS: token, user index. ARGV: now, hash, lifetime, userId, purpose, '1' and the email, or '0'.
// Returns { createdAt, expiresAt }, or nil when a live token has this hash (a bug; an expired one
// is taken over).
const createToken = script('createToken', `${TOKEN_HELPERS}
local now = clock(ARGV[1])
local current = redis.call('HGET', KEYS[1], 'expiresAt')
if current and now < tonumber(current) then return false end
local expires = now + tonumber(ARGV[3])
local fields = { 'userId', ARGV[4], 'purpose', ARGV[5], 'createdAt', int(now), 'expiresAt', int(expires) }
if ARGV[6] == '1' then fields[#fields + 1] = 'email'; fields[#fields + 1] = ARGV[7] end
redis.call('HSET', KEYS[1], unpack(fields))
if ARGV[6] ~= '1' then redis.call('HDEL', KEYS[1], 'email') end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], int(expires), ARGV[2])
reindex(KEYS[2], now)
return { int(now), int(expires) }
`);

// KEYS: token. ARGV: now, hash, purpose, '1' to consume. Returns { userId, createdAt, expiresAt,
// email or nil } of the live token with this purpose, or nil; an expired token is deleted as it
// is found, and a consumed one in the same step as it is read.
const takeToken = script('takeToken', `${TOKEN_HELPERS}
local now = clock(ARGV[1])
local token = readToken(KEYS[1])
if not token[5] then return false end
if now >= tonumber(token[5]) then
  dropToken(KEYS[1], ARGV[2], token[1], now)
  return false
end
if token[2] ~= ARGV[3] then return false end
if ARGV[4] == '1' then dropToken(KEYS[1], ARGV[2], token[1], now) end
return { token[1], token[4], token[5], token[3] }
`);

// KEYS: user index. ARGV: now, userId, purpose or ''. Deletes the user's tokens (of that purpose)
// and returns how many of them were live.
const deleteUserTokens = script('deleteUserTokens', `${TOKEN_HELPERS}
local now = clock(ARGV[1])
local prefix = base(KEYS[1], 'tu:' .. ARGV[2]) .. 't:'
local live = 0
for _, hash in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local token = readToken(prefix .. hash)
  if not token[5] then
    redis.call('ZREM', KEYS[1], hash)
  elseif ARGV[3] == '' or token[2] == ARGV[3] then
    redis.call('DEL', prefix .. hash)
    redis.call('ZREM', KEYS[1], hash)
    if now < tonumber(token[5]) then live = live + 1 end
  end
end
reindex(KEYS[1], now)
return live
`);

/** The one-time token scripts, by operation. */
export const TOKEN_SCRIPTS = Object.freeze({ createToken, takeToken, deleteUserTokens });
