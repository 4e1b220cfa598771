/**
 * The login throttle: slows password guessing on one account and caps attempts from one client,
 * without sleeping and without revealing whether an account exists (SEC-17, SEC-51,
 * SEC-52, SEC-53, §0.1). Per account, the first `freeFailures` (5) consecutive failures cost
 * nothing; then each attempt must wait `baseDelay × 2^(failures − freeFailures)` (1 s, 2 s, 4 s …,
 * at most `maxDelay`, 15 min) after the latest failure; at `hardLimit` (100, the most NIST SP
 * 800-63B §3.2.2 allows) the account is locked until a success clears it (a password reset, the
 * app's `unlock` command). Per client IP (IPv6 grouped by /64, since one host usually owns a whole
 * /64), `maxFailures` (50) failures with no `window` (15 min) of quiet between them refuse further
 * attempts until the window has passed.
 *
 * **No lockout DoS (SEC-52).** Every successful login gets a trusted-device token (a signed value
 * for the account, `device.lifetime` long, see device-token.ts). An attempt that presents a valid
 * one for its account skips the per-account delay and lock: strangers' failures cannot keep the
 * owner's browser out. Its failures count against the token instead, and after
 * `device.maxFailures` (10) the token exempts no more. The per-IP cap still applies.
 *
 * The throttle never waits: a refused attempt gets `retryAfter` seconds at once, for a 429 with
 * `Retry-After`, so a slow request ties up no server resources. It is given an account key, whether
 * or not such an account exists, and behaves the same either way (SEC-17); the answer to the client
 * must not say which limit was hit (`reason` is for logs and SEC-56 events). Counters live in a
 * {@link CounterStore} under keyed hashes (HMAC-SHA-256), never raw emails or IPs (SEC-69). A store
 * failure rejects with the store's coded {@link StoreUnavailableError}: the caller answers 503,
 * never lets the attempt through (SEC-55).
 *
 * **Call order for a login:** `reserve` → (if ok) verify the password → the reservation's `fail`
 * or `succeed`. `reserve` counts the attempt against the IP *before* the password is hashed, in
 * one atomic increment, and refuses the attempts that take the count past the cap, so that a burst
 * from one client, on any number of instances, never reaches the hasher more than `maxFailures`
 * times (finding 4, SEC-12); `succeed` gives the attempt back (`forgiveFailure`), so that the
 * successes of many users behind one address do not use its cap up. The per-account delay is
 * checked by reading: attempts on one account that are in flight together all pass it, so cap
 * concurrent verifications per account where bursts matter (the accounts module queues them).
 * `check`, `recordFailure` and `recordSuccess` are the same steps one by one, unreserved.
 *
 * The throttle compares `lastAt`, stamped by the store's clock, with its own `now`: give both the
 * same clock (SQLite on one host does, by default). Skew shifts a delay by the skew; the lock and
 * the per-IP refusal follow the store's own expiry, so skew never lifts them early (R-08).
 *
 * The contract (attempt, verdict, reservation) is login-throttle.ts, the options throttle-options.ts,
 * the IP groups lib/ip.ts.
 *
 * @module throttle
 */
import type { CounterState } from './counter-store.ts';
import { issueDeviceToken, readDeviceToken } from './device-token.ts';
import { hmacSha256 } from './lib/encoding.ts';
import { createDeadlineGuard } from './lib/guarded-store.ts';
import { ipGroup } from './lib/ip.ts';
import type { FailureCounts, LoginThrottle, ThrottleAttempt, ThrottleReservation, ThrottleVerdict } from './login-throttle.ts';
import { resolveThrottleOptions, type LoginThrottleOptions, type ResolvedThrottleOptions } from './throttle-options.ts';

const OK: ThrottleVerdict = Object.freeze({ ok: true });

/** The counter keys of one attempt (keyed hashes, SEC-69) and the account's hash that device tokens carry. */
interface Keys {
  readonly account: string;
  readonly accountMac: string;
  readonly ip: string | null;
  /** The counter of the attempt's device token, when the token is valid for this account. */
  readonly device: string | null;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1_000));
}

/**
 * Creates a login throttle (SEC-51, SEC-52, SEC-53) on a shared counter store.
 *
 * @example
 * ```ts
 * import { createLoginThrottle } from 'latchkey';
 *
 * const throttle = createLoginThrottle({ store, secret: process.env.THROTTLE_SECRET! });
 * const attempt = await throttle.reserve({ account: `id:${user.id}`, ip, device: cookies.device });
 * if (!attempt.ok) return new Response('Too many attempts', { status: 429, headers: { 'retry-after': String(attempt.retryAfter) } });
 * if (await verifyPassword(user, password)) setDeviceCookie((await attempt.succeed()).device);
 * else await attempt.fail();
 * ```
 */
export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const o: ResolvedThrottleOptions = resolveThrottleOptions(options);
  const { store } = o;
  // A counter store that accepts connections and never answers must not hang logins (R-03).
  const guarded = createDeadlineGuard(o.storeTimeout, 'throttle: store');

  function ipKeyOf(ip: unknown): string | null {
    if (ip !== null && typeof ip !== 'string') throw new TypeError('throttle: ip must be a string, or null when unknown');
    return ip === null ? null : `throttle:${o.scope}:ip:${hmacSha256(o.key, `ip\0${ipGroup(ip)}`)}`;
  }

  /** The counter keys of an attempt; `device` is the key of its token's counter when the token is valid for the account. */
  function keysOf(attempt: unknown, withIp: boolean): Keys {
    if (typeof attempt !== 'object' || attempt === null) throw new TypeError('throttle: pass { account, ip }');
    const { account, ip, device } = attempt as { account?: unknown; ip?: unknown; device?: unknown };
    if (typeof account !== 'string') throw new TypeError('throttle: account must be the account key, a string');
    if (device !== undefined && device !== null && typeof device !== 'string') throw new TypeError('throttle: device must be a string, or null');
    // The purpose inside the MAC keeps an account named like an IP group from sharing its counter.
    const accountMac = hmacSha256(o.key, `account\0${account}`);
    const id = readDeviceToken(o.deviceKey, device, accountMac, o.now(), o.deviceLifetime);
    return {
      account: `throttle:${o.scope}:account:${accountMac}`,
      accountMac,
      ip: withIp ? ipKeyOf(ip) : null,
      device: id === null ? null : `throttle:${o.scope}:device:${hmacSha256(o.key, `device\0${id}`)}`,
    };
  }

  /** ms to wait after the latest of `count` consecutive failures. */
  function accountDelay(count: number): number {
    if (count < o.freeFailures) return 0;
    const exponent = count - o.freeFailures;
    return exponent >= 52 ? o.maxDelay : Math.min(o.baseDelay * 2 ** exponent, o.maxDelay);
  }

  function refused(ms: number, reason: 'account' | 'ip' | 'locked'): Extract<ThrottleVerdict, { ok: false }> {
    return Object.freeze({ ok: false, retryAfter: seconds(ms), reason });
  }

  /** ms until an IP counter at the cap stops refusing: the store's expiry decides (R-08). */
  function ipWait(ip: CounterState, now: number): number {
    return Math.max(1, ip.lastAt + o.window - now);
  }

  /** A valid token for the account exempts while its own counter is under its limit (SEC-52). */
  function isTrusted(keys: Keys, device: CounterState | null): boolean {
    return keys.device !== null && (device === null || device.count < o.deviceMaxFailures);
  }

  const read = (key: string | null) => (key === null ? null : guarded('getCounter', () => store.getCounter(key)));

  /** Reads the counters of an attempt: whether it may go ahead, and whether its device token exempts it. */
  async function evaluate(keys: Keys): Promise<{ verdict: ThrottleVerdict; trusted: boolean }> {
    const [account, ip, device] = await Promise.all([read(keys.account), read(keys.ip), read(keys.device)]);
    const trusted = isTrusted(keys, device);
    // Locked until a reset, however long ago the last failure was (NIST: "until reset"), but for a trusted device.
    if (!trusted && account !== null && account.count >= o.hardLimit) return { verdict: refused(o.maxDelay, 'locked'), trusted };
    const now = o.now();
    let wait = 0;
    let reason: 'account' | 'ip' = 'account';
    if (!trusted && account !== null) wait = account.lastAt + accountDelay(account.count) - now;
    if (ip !== null && ip.count >= o.maxFailures && ipWait(ip, now) > wait) [wait, reason] = [ipWait(ip, now), 'ip'];
    return { verdict: wait > 0 ? refused(wait, reason) : OK, trusted };
  }

  /**
   * Counts one attempt against an IP before any work is done for it: the count the atomic
   * increment returns decides, so parallel attempts on any number of instances cannot all slip
   * under the cap (finding 4). One that takes the count past the cap is given back and refused.
   */
  async function reserveIp(key: string): Promise<{ count: number } | Extract<ThrottleVerdict, { ok: false }>> {
    const counted = await guarded('recordFailure', () => store.recordFailure(key, o.window));
    if (counted.count <= o.maxFailures) return { count: counted.count };
    await guarded('forgiveFailure', () => store.forgiveFailure(key));
    return refused(ipWait(counted, o.now()), 'ip');
  }

  async function check(attempt: ThrottleAttempt): Promise<ThrottleVerdict> {
    return (await evaluate(keysOf(attempt, true))).verdict;
  }

  async function countFailure(keys: Keys, trusted: boolean): Promise<number> {
    const [key, ttl] = trusted ? [keys.device as string, o.deviceLifetime] : [keys.account, o.ttl];
    return (await guarded('recordFailure', () => store.recordFailure(key, ttl))).count;
  }

  async function reserve(attempt: ThrottleAttempt): Promise<ThrottleReservation> {
    const keys = keysOf(attempt, true);
    const { verdict, trusted } = await evaluate(keys);
    if (!verdict.ok) return verdict;
    let ipFailures: number | null = null;
    if (keys.ip !== null) {
      const reserved = await reserveIp(keys.ip);
      if ('ok' in reserved) return reserved;
      ipFailures = reserved.count;
    }
    let settled = false;
    const settle = () => {
      if (settled) throw new TypeError('throttle: a reservation is settled once, by fail() or succeed()');
      settled = true;
    };
    return Object.freeze({
      ok: true as const,
      trusted,
      async fail(): Promise<FailureCounts> {
        settle();
        const count = await countFailure(keys, trusted);
        return Object.freeze({ accountFailures: trusted ? null : count, ipFailures, deviceFailures: trusted ? count : null });
      },
      async succeed(): Promise<{ readonly device: string }> {
        settle();
        await Promise.all([
          guarded('clearCounter', () => store.clearCounter(keys.account)),
          keys.ip === null ? null : guarded('forgiveFailure', () => store.forgiveFailure(keys.ip as string)),
        ]);
        return Object.freeze({ device: issueDeviceToken(o.deviceKey, keys.accountMac, o.now()) });
      },
    });
  }

  async function countRequest(attempt: { readonly ip: string | null }): Promise<ThrottleVerdict> {
    if (typeof attempt !== 'object' || attempt === null) throw new TypeError('throttle: pass { ip }');
    const key = ipKeyOf(attempt.ip);
    if (key === null) return OK;
    const ip = await guarded('getCounter', () => store.getCounter(key));
    // Refused requests are not counted: the refusal ends `window` after the last counted one.
    if (ip !== null && ip.count >= o.maxFailures) return refused(ipWait(ip, o.now()), 'ip');
    const reserved = await reserveIp(key);
    return 'ok' in reserved ? reserved : OK;
  }

  async function recordFailure(attempt: ThrottleAttempt): Promise<FailureCounts> {
    const keys = keysOf(attempt, true);
    const trusted = isTrusted(keys, await read(keys.device));
    const [count, ip] = await Promise.all([
      countFailure(keys, trusted),
      keys.ip === null ? null : guarded('recordFailure', () => store.recordFailure(keys.ip as string, o.window)),
    ]);
    return Object.freeze({ accountFailures: trusted ? null : count, ipFailures: ip?.count ?? null, deviceFailures: trusted ? count : null });
  }

  async function recordSuccess(attempt: { readonly account: string }): Promise<void> {
    const keys = keysOf(attempt, false);
    await guarded('clearCounter', () => store.clearCounter(keys.account));
  }

  return Object.freeze({ reserve, countRequest, check, recordFailure, recordSuccess });
}
