/**
 * What `createLoginThrottle` takes, and its check into one frozen object: the counter store,
 * the secret (from which the keyed-hash subkeys of counter names and device tokens are derived,
 * SEC-69), and the limits per account, per IP and per trusted device with NIST's and OWASP's
 * defaults (SEC-51, SEC-52, SEC-53). A misspelt limit is a `TypeError`, never a silent default.
 *
 * @module throttle-options
 */
import type { CounterStore } from './counter-store.ts';
import { requireDuration } from './duration.ts';
import { hmacSha256 } from './lib/encoding.ts';
import { requireSecretKey } from './lib/secret.ts';

/** What `createLoginThrottle` takes. Durations are `'1s'`, `'15m'`, `'30d'` or ms. */
export interface LoginThrottleOptions {
  /** Where the counters live: `SqliteStore`, or a PostgreSQL/Redis store shared by every instance. */
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
     * Failures from one IP (IPv6: one /64) that refuse further attempts; with `LoginThrottle.countRequest`,
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

/** Checks the options once (misuse throws `TypeError`) into a frozen object, with the keyed-hash subkeys derived. */
export function resolveThrottleOptions(options: LoginThrottleOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError('createLoginThrottle: options are required');
  const { store } = options;
  const methods = ['recordFailure', 'forgiveFailure', 'getCounter', 'clearCounter'] as const;
  if (typeof store !== 'object' || store === null || methods.some((m) => typeof store[m] !== 'function')) {
    throw new TypeError('createLoginThrottle: store must be a CounterStore (recordFailure, forgiveFailure, getCounter, clearCounter)');
  }
  const secret = requireSecretKey('createLoginThrottle: ', options.secret);
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

/** The checked options of one throttle. */
export type ResolvedThrottleOptions = ReturnType<typeof resolveThrottleOptions>;
