/**
 * The start-up check of R-10: latchkey's Redis must not evict. Every key latchkey
 * writes has a TTL, so the `volatile-*` policies, which evict only keys with a TTL, can evict any
 * of them, as the `allkeys-*` ones can: only `noeviction` (Redis's default) is safe. Under it, a full
 * Redis refuses writes, which the store reports as 503s; under any other, it drops keys without a
 * word, and what goes first may be a throttle counter (the lock on an account lifts) or a user's
 * session index ("log out everywhere" and a password change no longer find, so no longer end,
 * those sessions): a silent fail-open. It only reads (`CONFIG GET`), never sets.
 *
 * @module redis/eviction
 */
import type { RedisCommander } from './commands.ts';

/** The outcome of {@link checkEvictionPolicy}: `policy` is `'unknown'` when it could not be read. */
export type EvictionCheck = { readonly ok: true } | { readonly ok: false; readonly policy: string; readonly message: string };

const RISK =
  'when Redis reaches maxmemory it will evict keys, and every key latchkey writes has a TTL, so sessions, ' +
  "the per-user indexes that revoke them ('log out everywhere', password changes) and login throttle " +
  'counters can silently vanish: a revocation misses sessions and an account lock lifts. ' +
  'Set maxmemory-policy to noeviction: an evicted session or counter would silently log users out or lift a throttle (R-10).';

/** The value of `CONFIG GET <name>`: an array `[name, value]` (RESP2), or a map or object (RESP3). */
function configValue(reply: unknown, name: string): string | null {
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      if (String(reply[i]) === name) return String(reply[i + 1]);
    }
    return null;
  }
  if (reply instanceof Map) return reply.has(name) ? String(reply.get(name)) : null;
  if (typeof reply === 'object' && reply !== null && Object.hasOwn(reply, name)) {
    return String((reply as Record<string, unknown>)[name]);
  }
  return null;
}

/**
 * Reads Redis's `maxmemory-policy` and says whether latchkey can rely on it: `ok` only for
 * `noeviction`. Never throws: when `CONFIG` is refused (managed Redis services rename or forbid
 * it, ACLs deny it) or Redis cannot be reached, it resolves not ok with `policy: 'unknown'` and a
 * message saying so; check the setting in the provider's console then. Call it at start, and refuse
 * to start, or at least log the message loudly.
 *
 * @example
 * ```ts
 * const check = await checkEvictionPolicy(client);
 * if (!check.ok) throw new Error(check.message);
 * ```
 */
export async function checkEvictionPolicy(client: RedisCommander): Promise<EvictionCheck> {
  if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function') {
    throw new TypeError('checkEvictionPolicy: client must have sendCommand(args)');
  }
  let policy: string | null;
  try {
    policy = configValue(await client.sendCommand(['CONFIG', 'GET', 'maxmemory-policy']), 'maxmemory-policy');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return Object.freeze({
      ok: false,
      policy: 'unknown',
      message: `Could not check Redis's maxmemory-policy (CONFIG GET failed: ${reason}). Make sure it is noeviction: ${RISK}`,
    });
  }
  if (policy === 'noeviction') return Object.freeze({ ok: true });
  if (policy === null) {
    return Object.freeze({
      ok: false,
      policy: 'unknown',
      message: `Could not check Redis's maxmemory-policy (CONFIG GET did not return it). Make sure it is noeviction: ${RISK}`,
    });
  }
  return Object.freeze({ ok: false, policy, message: `Redis's maxmemory-policy is ${policy}: ${RISK}` });
}
