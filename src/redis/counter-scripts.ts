/**
 * The throttle counter scripts of `latchkey/redis` (conventions in redis/lua): each a read and a
 * write in one atomic step, so parallel failures are never lost (R-05, SEC-51).
 *
 * @module redis/counter-scripts
 */
import { script } from './lua.ts';

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

/** The counter scripts, by operation. */
export const COUNTER_SCRIPTS = Object.freeze({ recordFailure, forgiveFailure, getCounter });
