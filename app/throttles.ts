/**
 * The throttles of the reference app, in one place so that the web app and the command line
 * (`unlock`) derive the same counter keys from the same secret: failed logins per account and per
 * IP (SEC-51, SEC-53) with trusted-device tokens (SEC-52), and registrations per IP
 * (`REGISTRATIONS_PER_HOUR`, SEC-53), reset, verification and email-change requests (SEC-16,
 * SEC-54), and the lookups of mailed tokens per IP (SEC-54), all in the sessions store, shared by
 * every instance; and
 * the trusted-device cookie `lk-device` (`__Host-lk-device` over HTTPS, as the app's other
 * cookies), HttpOnly and SameSite=Lax, that carries the token of the browser's last login.
 *
 * @module app/throttles
 */
import { createLoginThrottle, readCookies, serializeCookie, type CounterStore, type LoginThrottle } from 'latchkey';
import type { AppConfig } from './config.ts';

/** How long a trusted-device cookie (and the token in it) lasts: about a year (SEC-52). */
export const DEVICE_LIFETIME_SECONDS = 365 * 24 * 60 * 60;

/** The login throttle's limits whose thresholds the security log names (SEC-56; the throttle's `FailureCounts` doc). */
export interface ThrottleLimits {
  readonly account: { readonly freeFailures: number; readonly hardLimit: number };
  readonly ip: { readonly maxFailures: number };
}

/**
 * The login throttle's limits, the library's defaults (SEC-51, SEC-53), spelt out because the
 * security log names SEC-56's thresholds after them.
 */
export const LOGIN_LIMITS: ThrottleLimits = Object.freeze({ account: { freeFailures: 5, hardLimit: 100 }, ip: { maxFailures: 50 } });

/**
 * Reset, verification and email-change requests (SEC-16, SEC-54, the app's HTTP contract "a few requests
 * per hour for one address, or many from one IP"): 3 per address, then nothing for an hour; 30 per
 * IP per hour. Past them the answer stays the same and no mail goes out.
 */
export const RECOVERY_LIMITS = Object.freeze({
  account: { freeFailures: 3, baseDelay: '1h', maxDelay: '1h', ttl: '1h' },
  ip: { maxFailures: 30, window: '1h' },
});

/**
 * Lookups of a mailed token (reset, verification, email change) from one IP (SEC-54, SEC-53 "token
 * confirm"): 60 per 15 minutes, counted before the store is read, so that scanning for live tokens
 * stops at the cap. Every lookup counts, a live token's too: the library counts an IP alone only
 * per request (`countRequest`), and a limit on bad tokens alone would need a pseudo-account whose
 * counter every user shares. One link takes at most three lookups (reset: the link, the form, the
 * POST), so 60 leaves room for a household or an office behind one address.
 */
export const TOKEN_LIMITS = Object.freeze({ ip: { maxFailures: 60, window: '15m' } });

/**
 * Passkey assertions from one IP that fail (SEC-53 applied to SEC-82's ceremonies): a passwordless
 * login, a second step or a step-up with a passkey that does not verify. Counted per IP (under
 * the IP as the throttle's account too, so the delays grow per client), 50 per 15 minutes as for
 * passwords. A verified assertion gives its attempt back.
 */
export const PASSKEY_LIMITS = Object.freeze({ account: { freeFailures: 10 }, ip: { maxFailures: 50, window: '15m' } });

/**
 * New passwordless challenges from one IP: 120 per 15 minutes. Each is a row in the sessions store
 * for up to 5 minutes (SEC-82), asked for before anyone is known, so the count is what keeps a
 * client from filling the store.
 */
export const CHALLENGE_LIMITS = Object.freeze({ ip: { maxFailures: 120, window: '15m' } });

export interface AppThrottles {
  readonly login: LoginThrottle;
  /** Failed passkey assertions, per IP: `reserve` with {@link passkeyAttempt}. */
  readonly passkey: LoginThrottle;
  /** Passwordless challenges, per IP: `countRequest` only. */
  readonly challenge: LoginThrottle;
  readonly registration: LoginThrottle;
  readonly recovery: LoginThrottle;
  /** Lookups of mailed tokens per IP: `countRequest` only (SEC-54). */
  readonly token: LoginThrottle;
}

export function createThrottles(config: AppConfig, store: CounterStore, options: { now?: () => number; storeTimeout?: number } = {}): AppThrottles {
  const common = { store, secret: config.secretKey, ...options };
  return {
    login: createLoginThrottle({ ...common, ...LOGIN_LIMITS, device: { lifetime: DEVICE_LIFETIME_SECONDS * 1_000 } }),
    registration: createLoginThrottle({ ...common, scope: 'register', ip: { maxFailures: config.registrationsPerHour, window: '1h' } }),
    recovery: createLoginThrottle({ ...common, scope: 'recovery', ...RECOVERY_LIMITS }),
    token: createLoginThrottle({ ...common, scope: 'token', ...TOKEN_LIMITS }),
    passkey: createLoginThrottle({ ...common, scope: 'passkey', ...PASSKEY_LIMITS }),
    challenge: createLoginThrottle({ ...common, scope: 'passkey-challenge', ...CHALLENGE_LIMITS }),
  };
}

/** The attempt of a passkey assertion from `ip`: the client is the throttle's "account" too (see {@link PASSKEY_LIMITS}). */
export function passkeyAttempt(ip: string | null): { account: string; ip: string | null } {
  return { account: `passkey-ip:${ip ?? 'unknown'}`, ip };
}

const DEVICE_COOKIE = 'lk-device';

/** The cookie's name: `__Host-` prefixed over HTTPS, so no sibling subdomain can plant one (RFC 6265bis §4.1.3.2). */
function deviceCookieName(secure: boolean): string {
  return secure ? `__Host-${DEVICE_COOKIE}` : DEVICE_COOKIE;
}

/** The trusted-device token the browser sent, or null (absent, duplicated or malformed: see readCookies). */
export function readDeviceCookie(cookieHeader: string | null | undefined, secure: boolean): string | null {
  const name = deviceCookieName(secure);
  return readCookies(cookieHeader, [name]).get(name) ?? null;
}

/** The `Set-Cookie` of a new trusted-device token, issued at each successful login (SEC-52). */
export function deviceCookie(token: string, secure: boolean, now = Date.now()): string {
  return serializeCookie(deviceCookieName(secure), token, { maxAge: DEVICE_LIFETIME_SECONDS, httpOnly: true, secure, sameSite: 'Lax', path: '/' }, now);
}
