/**
 * The login throttle: slows password guessing on one account and caps attempts from one client,
 * without sleeping and without revealing whether an account exists (security.md SEC-17, SEC-51,
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
 * @module throttle
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { CounterState, CounterStore } from './counter-store.ts';
import { requireDuration } from './duration.ts';
import { issueDeviceToken, readDeviceToken } from './device-token.ts';
import { createDeadlineGuard } from './lib/guarded-store.ts';
import { hmacSha256 } from './lib/encoding.ts';

/** What {@link createLoginThrottle} takes. Durations are `'1s'`, `'15m'`, `'30d'` or ms. */
export interface LoginThrottleOptions {
  /** Where the counters live: `SqliteStore`, or a PostgreSQL/Redis store shared by every instance (R-07). */
  readonly store: CounterStore;
  /** ≥ 32 bytes of secret, for the keyed hashes of identifiers and IPs (SEC-69). */
  readonly secret: Uint8Array | string;
  /** The clock, ms since the epoch; must be the store's (see the module doc). Default `Date.now`. */
  readonly now?: () => number;
  /** A counter-store call that takes longer fails with `ERR_LATCHKEY_STORE_TIMEOUT` (a 503, R-03). Default `'2s'`. */
  readonly storeTimeout?: string | number;
  /** Keeps counters of different endpoints apart (`'login'`, `'reset'`…, SEC-53). Default `'login'`. */
  readonly scope?: string;
  readonly account?: {
    /** Consecutive failures allowed without delay. Default 5. */
    readonly freeFailures?: number;
    /** Delay after the first failure past `freeFailures`; doubles with each further one. Default `'1s'`. */
    readonly baseDelay?: string | number;
    /** Longest delay between attempts. Default `'15m'`. */
    readonly maxDelay?: string | number;
    /** Consecutive failures that lock the account until a reset; 1 to 100 (NIST SP 800-63B §3.2.2). Default 100. */
    readonly hardLimit?: number;
    /** How long an account's failures are remembered after the latest one; ≥ maxDelay. Default `'30d'`. */
    readonly ttl?: string | number;
  };
  readonly ip?: {
    /**
     * Failures from one IP (IPv6: one /64) that refuse further attempts; with {@link LoginThrottle.countRequest},
     * requests (every one counts, as for registrations, SEC-53). Default 50.
     */
    readonly maxFailures?: number;
    /** Quiet time after which an IP's failures are forgotten and its refusal ends. Default `'15m'`. */
    readonly window?: string | number;
  };
  /** Trusted-device tokens (SEC-52). */
  readonly device?: {
    /** How long a token exempts its browser from the per-account delay and lock. Default `'365d'`. */
    readonly lifetime?: string | number;
    /** Failures with one token after which it exempts no more (SEC-52's "own small limit"). Default 10. */
    readonly maxFailures?: number;
  };
}

/**
 * One login attempt: the account key (one per account whatever identifier was typed, and the
 * canonical identifier for one that matches no account, SEC-17), the client IP if known, and the
 * trusted-device token the browser presented, if any.
 */
export interface ThrottleAttempt {
  readonly account: string;
  /** From the trusted-proxy configuration only (SEC-53); null when unknown, which skips the per-IP limit. */
  readonly ip: string | null;
  /** The token a successful login returned (`succeed()`), as the browser sent it back; anything invalid counts as none. */
  readonly device?: string | null;
}

/** `reason` is for logs and metrics; the client gets the same 429 whatever it is (SEC-17). */
export type ThrottleVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryAfter: number; readonly reason: 'account' | 'ip' | 'locked' };

/**
 * Counts after a failure, for SEC-56 events: `accountFailures === freeFailures` is
 * `authn_login_fail_max`, `=== hardLimit` is `authn_login_lock`, `ipFailures === maxFailures` is
 * `excess_rate_limit_exceeded`.
 */
export interface FailureCounts {
  /** null when the failure counted against a trusted-device token instead (SEC-52). */
  readonly accountFailures: number | null;
  readonly ipFailures: number | null;
  /** The token's failures when the attempt was trusted, else null. */
  readonly deviceFailures: number | null;
}

/** What {@link LoginThrottle.reserve} answers: a refusal, or an attempt to settle exactly once. */
export type ThrottleReservation =
  | Extract<ThrottleVerdict, { ok: false }>
  | {
      readonly ok: true;
      /** A valid trusted-device token for this account exempted the attempt from the per-account delay and lock (SEC-52). */
      readonly trusted: boolean;
      /** The password was wrong: counts the failure against the account (or the token, when trusted); the IP's was counted by `reserve`. */
      fail(): Promise<FailureCounts>;
      /** The password was right: clears the account's failures, gives the IP its attempt back, and returns a new trusted-device token. */
      succeed(): Promise<{ readonly device: string }>;
    };

export interface LoginThrottle {
  /**
   * Before verifying a password: whether this attempt may go ahead and, if so, the attempt counted
   * against its IP in one atomic step, so that no burst overshoots the cap (finding 4). Settle it
   * with exactly one of `fail()` or `succeed()`; an attempt never settled stays counted against
   * the IP, as a failure.
   */
  reserve(attempt: ThrottleAttempt): Promise<ThrottleReservation>;
  /** Counts one request from `ip` against the cap of a request-limited scope (registrations, SEC-53), refusing past it. */
  countRequest(attempt: { readonly ip: string | null }): Promise<ThrottleVerdict>;
  /** Whether this attempt may go ahead; if not, how many seconds (≥ 1) to wait. Only reads. */
  check(attempt: ThrottleAttempt): Promise<ThrottleVerdict>;
  /** Counts a failed attempt that was not reserved against the account (or device) and the IP, atomically in the store (R-05). */
  recordFailure(attempt: ThrottleAttempt): Promise<FailureCounts>;
  /** Clears the account's failures (a password reset, an operator's `unlock`); the IP's stay. */
  recordSuccess(attempt: { readonly account: string }): Promise<void>;
}

const OK: ThrottleVerdict = Object.freeze({ ok: true });
const SCOPE = /^[a-z0-9][a-z0-9_-]{0,31}$/i;
const ACCOUNT_KEYS = new Set(['freeFailures', 'baseDelay', 'maxDelay', 'hardLimit', 'ttl']);
const IP_KEYS = new Set(['maxFailures', 'window']);
const DEVICE_KEYS = new Set(['lifetime', 'maxFailures']);

function requireCount(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function requireGroup(name: string, value: unknown, known: ReadonlySet<string>): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw new TypeError(`createLoginThrottle: ${name} must be an object`);
  for (const key of Object.keys(value)) {
    // A misspelt limit would otherwise fall back to the default without a word.
    if (!known.has(key)) throw new TypeError(`createLoginThrottle: unknown option ${name}.${key}`);
  }
  return value as Record<string, unknown>;
}

function resolveOptions(options: LoginThrottleOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError('createLoginThrottle: options are required');
  const { store } = options;
  const methods = ['recordFailure', 'forgiveFailure', 'getCounter', 'clearCounter'] as const;
  if (typeof store !== 'object' || store === null || methods.some((m) => typeof store[m] !== 'function')) {
    throw new TypeError('createLoginThrottle: store must be a CounterStore (recordFailure, forgiveFailure, getCounter, clearCounter)');
  }
  const secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
  if (!(secret instanceof Uint8Array) || secret.byteLength < 32) {
    throw new TypeError('createLoginThrottle: secret must be at least 32 bytes (256 bits) of random data');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('createLoginThrottle: now must be a function returning ms');
  const scope = options.scope ?? 'login';
  if (typeof scope !== 'string' || !SCOPE.test(scope)) throw new TypeError(`createLoginThrottle: scope must match ${SCOPE}`);
  const account = requireGroup('account', options.account, ACCOUNT_KEYS);
  const ip = requireGroup('ip', options.ip, IP_KEYS);
  const device = requireGroup('device', options.device, DEVICE_KEYS);
  const hardLimit = requireCount('account.hardLimit', account.hardLimit ?? 100, 1, 100);
  const baseDelay = requireDuration('account.baseDelay', account.baseDelay ?? '1s', 1);
  const maxDelay = requireDuration('account.maxDelay', account.maxDelay ?? '15m', baseDelay);
  return Object.freeze({
    store,
    now,
    // A subkey for this purpose alone, so the app may pass the secret it uses for cookies too.
    key: Buffer.from(hmacSha256(secret, `latchkey throttle ${scope} v1`), 'base64url'),
    deviceKey: Buffer.from(hmacSha256(secret, `latchkey device ${scope} v1`), 'base64url'),
    scope,
    freeFailures: requireCount('account.freeFailures', account.freeFailures ?? 5, 0, hardLimit),
    baseDelay,
    maxDelay,
    hardLimit,
    ttl: requireDuration('account.ttl', account.ttl ?? '30d', maxDelay),
    maxFailures: requireCount('ip.maxFailures', ip.maxFailures ?? 50, 1, Number.MAX_SAFE_INTEGER),
    window: requireDuration('ip.window', ip.window ?? '15m', 1_000),
    deviceLifetime: requireDuration('device.lifetime', device.lifetime ?? '365d', 60_000),
    deviceMaxFailures: requireCount('device.maxFailures', device.maxFailures ?? 10, 1, 100),
    storeTimeout: requireDuration('storeTimeout', options.storeTimeout ?? '2s', 1),
  });
}

type Resolved = ReturnType<typeof resolveOptions>;

/** The counter keys of one attempt (keyed hashes, SEC-69) and the account's hash that device tokens carry. */
interface Keys {
  readonly account: string;
  readonly accountMac: string;
  readonly ip: string | null;
  /** The counter of the attempt's device token, when the token is valid for this account. */
  readonly device: string | null;
}

/**
 * The client group an IP belongs to: an IPv4 address itself (IPv4-mapped IPv6 included), or the
 * /64 prefix of an IPv6 address (SEC-53): a host usually gets a whole /64 and can rotate
 * through it at will, so counting per address would be no limit at all.
 */
function ipGroup(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) throw new TypeError(`ip must be an IPv4 or IPv6 address or null, got ${JSON.stringify(ip)}`);
  const words = expandIPv6(ip.split('%', 1)[0] as string); // a zone (fe80::1%eth0) names a local interface
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    const [high, low] = [words[6] as number, words[7] as number];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`; // ::ffff:a.b.c.d is IPv4 (RFC 4291 §2.5.5.2)
  }
  return `${words.slice(0, 4).map((w) => w.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit words of an address `isIPv6` accepted (RFC 4291 §2.2 text forms). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // A trailing dotted quad is the last two words.
    const [a, b, c, d] = text.slice(lastColon + 1).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const split = (part: string | undefined) => (part ? part.split(':') : []);
  const left = split(head);
  const right = split(tail);
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const words = groups.map((group) => Number.parseInt(group, 16));
  if (words.length !== 8 || words.some((w) => !(w >= 0 && w <= 0xffff))) {
    throw new TypeError(`ip: cannot read ${JSON.stringify(address)} as IPv6`); // unreachable after isIPv6
  }
  return words;
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
  const o: Resolved = resolveOptions(options);
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
