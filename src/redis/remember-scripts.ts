/**
 * The remember-me scripts of `latchkey/redis` (conventions in redis/lua): create a series, use it
 * (the read, the decision and the rotation in one atomic step, so two racing requests never both
 * rotate, R-05, SEC-39), delete one and delete a user's.
 *
 * @module redis/remember-scripts
 */
import { script } from './lua.ts';

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
// Returns { decision, userId, expiresAt } for a series that exists (the store maps the decision to
// its answer with rememberUseOf), or nil. `decide` mirrors decideRememberUse (src/remember-decision.ts)
// line for line, so that this store decides as the other three do: change one, change both; the
// store conformance suite checks every store against that function, case by case. Rotation keeps
// the key's TTL: it never extends the series (SEC-36).
const useRememberToken = script('useRememberToken', `
local function decide(validator, previous, rotatedAt, expiresAt, presented, now, grace)
  if not validator then return 'unknown' end
  if now >= expiresAt then return 'expired' end
  if same(validator, presented) then return 'rotate' end
  local inGrace = rotatedAt ~= nil and now < rotatedAt + grace
  if inGrace and previous and same(previous, presented) then return 'grace' end
  return 'theft'
end
local now = clock(ARGV[1])
local prefix = base(KEYS[1], 'r:' .. ARGV[2])
local current = redis.call('HMGET', KEYS[1], 'validatorHash', 'previousHash', 'rotatedAt', 'userId', 'expiresAt')
local expires = tonumber(current[5])
local decision = decide(current[1], current[2], tonumber(current[3]), expires, ARGV[3], now, tonumber(ARGV[5]))
if decision == 'unknown' then return false end
if decision == 'rotate' then
  redis.call('HSET', KEYS[1], 'validatorHash', ARGV[4], 'previousHash', current[1], 'rotatedAt', int(now), 'lastUsedAt', int(now))
elseif decision == 'expired' or decision == 'theft' then
  local index = prefix .. 'ru:' .. current[4]
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', index, ARGV[2])
  reindex(index, now)
end
return { decision, current[4], int(expires) }
`);

// KEYS: series. ARGV: now, series. Returns 1 if the series was live, else 0.
const deleteRememberToken = script('deleteRememberToken', `
return deleteRecord(KEYS[1], base(KEYS[1], 'r:' .. ARGV[2]), 'ru:', ARGV[2], clock(ARGV[1]))
`);

// KEYS: user index. ARGV: now, userId, '1' if there is an exception, the excepted series.
// Returns how many of the deleted series were live.
const deleteUserRememberTokens = script('deleteUserRememberTokens', `
local except = nil
if ARGV[3] == '1' then except = ARGV[4] end
return deleteIndexed(KEYS[1], base(KEYS[1], 'ru:' .. ARGV[2]) .. 'r:', clock(ARGV[1]), except)
`);

/** The remember-me scripts, by operation. */
export const REMEMBER_SCRIPTS = Object.freeze({ createRememberToken, useRememberToken, deleteRememberToken, deleteUserRememberTokens });
