/**
 * The login throttle: slows password guessing on one account and caps failures from one client,
 * without sleeping and without revealing whether an account exists (security.md SEC-17, SEC-51,
 * SEC-53, §0.1). Per account, the first `freeFailures` (5) consecutive failures cost nothing; then
 * each attempt must wait `baseDelay × 2^(failures − freeFailures)` (1 s, 2 s, 4 s …, at most
 * `maxDelay`, 15 min) after the latest failure; at `hardLimit` (100, the most NIST SP 800-63B
 * §3.2.2 allows) the account is locked until a password reset clears it. Per client IP (IPv6
 * grouped by /64, since one host usually owns a whole /64), `maxFailures` (50) failures with no
 * `window` (15 min) of quiet between them refuse further attempts until the window has passed.
 *
 * The throttle never waits: a refused attempt gets `retryAfter` seconds at once, for a 429 with
 * `Retry-After`, so a slow request ties up no server resources. It is given the canonical
 * identifier the user typed, whether or not such an account exists, and behaves the same either
 * way (SEC-17); the answer to the client must not say which limit was hit (`reason` is for logs
 * and SEC-56 events). Counters live in a {@link CounterStore} under keyed hashes (HMAC-SHA-256),
 * never raw emails or IPs (SEC-69). A store failure rejects with the store's coded
 * {@link StoreUnavailableError}: the caller answers 503, never lets the attempt through (SEC-55).
 *
 * Call order for a login: `check` → (if ok) verify the password → `recordFailure` or
 * `recordSuccess`. A password reset calls `recordSuccess` too: that is what lifts a lock (SEC-52).
 * `check` only reads, so attempts that are in flight together all pass it before any of their
 * failures is counted; cap concurrent verifications per account where bursts matter.
 *
 * The throttle compares `lastAt`, stamped by the store's clock, with its own `now`: give both the
 * same clock (SQLite on one host does, by default). Skew shifts a delay by the skew; the lock and
 * the per-IP refusal follow the store's own expiry, so skew never lifts them early (R-08).
 *
 * @module throttle
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { CounterStore } from './counter-store.ts';
import { requireDuration } from './duration.ts';
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
    /** Failures from one IP (IPv6: one /64) that refuse further attempts. Default 50. */
    readonly maxFailures?: number;
    /** Quiet time after which an IP's failures are forgotten and its refusal ends. Default `'15m'`. */
    readonly window?: string | number;
  };
}

/** One login attempt: the canonical identifier as submitted (existing or not) and the client IP, if known. */
export interface ThrottleAttempt {
  readonly account: string;
  /** From the trusted-proxy configuration only (SEC-53); null when unknown, which skips the per-IP limit. */
  readonly ip: string | null;
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
  readonly accountFailures: number;
  readonly ipFailures: number | null;
}

export interface LoginThrottle {
  /** Whether this attempt may go ahead; if not, how many seconds (≥ 1) to wait. Only reads. */
  check(attempt: ThrottleAttempt): Promise<ThrottleVerdict>;
  /** Counts a failed attempt against the account and the IP, atomically in the store (R-05). */
  recordFailure(attempt: ThrottleAttempt): Promise<FailureCounts>;
  /** Clears the account's failures (a login or a password reset); the IP's stay. */
  recordSuccess(attempt: { readonly account: string }): Promise<void>;
}

const OK: ThrottleVerdict = Object.freeze({ ok: true });
const SCOPE = /^[a-z0-9][a-z0-9_-]{0,31}$/i;
const ACCOUNT_KEYS = new Set(['freeFailures', 'baseDelay', 'maxDelay', 'hardLimit', 'ttl']);
const IP_KEYS = new Set(['maxFailures', 'window']);

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
  const methods = ['recordFailure', 'getCounter', 'clearCounter'] as const;
  if (typeof store !== 'object' || store === null || methods.some((m) => typeof store[m] !== 'function')) {
    throw new TypeError('createLoginThrottle: store must be a CounterStore (recordFailure, getCounter, clearCounter)');
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
  const hardLimit = requireCount('account.hardLimit', account.hardLimit ?? 100, 1, 100);
  const baseDelay = requireDuration('account.baseDelay', account.baseDelay ?? '1s', 1);
  const maxDelay = requireDuration('account.maxDelay', account.maxDelay ?? '15m', baseDelay);
  return Object.freeze({
    store,
    now,
    // A subkey for this purpose alone, so the app may pass the secret it uses for cookies too.
    key: Buffer.from(hmacSha256(secret, `latchkey throttle ${scope} v1`), 'base64url'),
    scope,
    freeFailures: requireCount('account.freeFailures', account.freeFailures ?? 5, 0, hardLimit),
    baseDelay,
    maxDelay,
    hardLimit,
    ttl: requireDuration('account.ttl', account.ttl ?? '30d', maxDelay),
    maxFailures: requireCount('ip.maxFailures', ip.maxFailures ?? 50, 1, Number.MAX_SAFE_INTEGER),
    window: requireDuration('ip.window', ip.window ?? '15m', 1_000),
    storeTimeout: requireDuration('storeTimeout', options.storeTimeout ?? '2s', 1),
  });
}

type Resolved = ReturnType<typeof resolveOptions>;

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
 * Creates a login throttle (SEC-51, SEC-53) on a shared counter store.
 *
 * @example
 * ```ts
 * import { createLoginThrottle } from 'latchkey';
 *
 * const throttle = createLoginThrottle({ store, secret: process.env.THROTTLE_SECRET! });
 * const verdict = await throttle.check({ account: canonicalEmail, ip });
 * if (!verdict.ok) return new Response('Too many attempts', { status: 429, headers: { 'retry-after': String(verdict.retryAfter) } });
 * if (await verifyPassword(user, password)) await throttle.recordSuccess({ account: canonicalEmail });
 * else await throttle.recordFailure({ account: canonicalEmail, ip });
 * ```
 */
export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const o: Resolved = resolveOptions(options);
  const { store } = o;
  // A counter store that accepts connections and never answers must not hang logins (R-03).
  const guarded = createDeadlineGuard(o.storeTimeout, 'throttle: store');

  function keysOf(attempt: unknown, withIp: boolean): { account: string; ip: string | null } {
    if (typeof attempt !== 'object' || attempt === null) throw new TypeError('throttle: pass { account, ip }');
    const { account, ip } = attempt as { account?: unknown; ip?: unknown };
    if (typeof account !== 'string') throw new TypeError('throttle: account must be the canonical identifier, a string');
    if (withIp && ip !== null && typeof ip !== 'string') throw new TypeError('throttle: ip must be a string, or null when unknown');
    // The purpose inside the MAC keeps an account named like an IP group from sharing its counter.
    return {
      account: `throttle:${o.scope}:account:${hmacSha256(o.key, `account\0${account}`)}`,
      ip: withIp && ip !== null ? `throttle:${o.scope}:ip:${hmacSha256(o.key, `ip\0${ipGroup(ip as string)}`)}` : null,
    };
  }

  /** ms to wait after the latest of `count` consecutive failures. */
  function accountDelay(count: number): number {
    if (count < o.freeFailures) return 0;
    const exponent = count - o.freeFailures;
    return exponent >= 52 ? o.maxDelay : Math.min(o.baseDelay * 2 ** exponent, o.maxDelay);
  }

  async function check(attempt: ThrottleAttempt): Promise<ThrottleVerdict> {
    const keys = keysOf(attempt, true);
    const [account, ip] = await Promise.all([
      guarded('getCounter', () => store.getCounter(keys.account)),
      keys.ip === null ? null : guarded('getCounter', () => store.getCounter(keys.ip as string)),
    ]);
    // Locked until a reset, however long ago the last failure was (NIST: "until reset").
    if (account !== null && account.count >= o.hardLimit) {
      return Object.freeze({ ok: false, retryAfter: seconds(o.maxDelay), reason: 'locked' });
    }
    const now = o.now();
    let wait = 0;
    let reason: 'account' | 'ip' = 'account';
    if (account !== null) wait = account.lastAt + accountDelay(account.count) - now;
    // The store's expiry decides when an IP's refusal ends: a live counter at the limit refuses.
    if (ip !== null && ip.count >= o.maxFailures) {
      const ipWait = Math.max(1, ip.lastAt + o.window - now);
      if (ipWait > wait) [wait, reason] = [ipWait, 'ip'];
    }
    return wait > 0 ? Object.freeze({ ok: false, retryAfter: seconds(wait), reason }) : OK;
  }

  async function recordFailure(attempt: ThrottleAttempt): Promise<FailureCounts> {
    const keys = keysOf(attempt, true);
    const [account, ip] = await Promise.all([
      guarded('recordFailure', () => store.recordFailure(keys.account, o.ttl)),
      keys.ip === null ? null : guarded('recordFailure', () => store.recordFailure(keys.ip as string, o.window)),
    ]);
    return Object.freeze({ accountFailures: account.count, ipFailures: ip?.count ?? null });
  }

  async function recordSuccess(attempt: { readonly account: string }): Promise<void> {
    const keys = keysOf(attempt, false);
    await guarded('clearCounter', () => store.clearCounter(keys.account));
  }

  return Object.freeze({ check, recordFailure, recordSuccess });
}
