/**
 * Trusted-device tokens (SEC-52; OWASP "Slow Down Online Guessing Attacks with Device
 * Cookies"): what the throttle hands a browser at a successful login, so that an attacker who
 * exhausts an account's failure counter does not lock its owner out. A token is a signed value
 * ({@link signValue}) under a subkey of its own: the keyed hash of the account it was issued for
 * (never the identifier itself, SEC-69), its issue time, and a random id that names its own failure
 * counter. It holds no secret of the account and grants nothing by itself: it only exempts the
 * browser from the per-account delay and lock, and only while it is younger than its lifetime and
 * its own counter is under its limit.
 *
 * @module device-token
 */
import { randomBytes } from 'node:crypto';
import { signValue, verifyValue } from './signed.ts';
import { safeEqual } from './lib/encoding.ts';

const PURPOSE = 'latchkey device';

/** A new token for the account whose keyed hash is `account`, issued at `now`. */
export function issueDeviceToken(key: Uint8Array, account: string, now: number): string {
  return signValue([key], PURPOSE, { a: account, t: now, n: randomBytes(16).toString('base64url') });
}

/**
 * The random id of `token` when it is one of ours, for `account`, and not older than `lifetime` ms
 * at `now`; otherwise null. Anything else a client sends (absent, tampered, another account's,
 * expired, issued in the future) is null: no token, as for any browser.
 */
export function readDeviceToken(key: Uint8Array, token: unknown, account: string, now: number, lifetime: number): string | null {
  if (typeof token !== 'string' || token === '') return null;
  const value = verifyValue([key], PURPOSE, token) as { a?: unknown; t?: unknown; n?: unknown } | undefined;
  if (typeof value !== 'object' || value === null) return null;
  const { a, t, n } = value;
  if (typeof a !== 'string' || !safeEqual(a, account) || typeof n !== 'string' || typeof t !== 'number') return null;
  return t <= now && now < t + lifetime ? n : null;
}
