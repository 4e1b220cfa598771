/**
 * The app's secret, checked once at construction for `createLoginManager` and
 * `createLoginThrottle`: at least 32 bytes (256 bits, the HMAC-SHA-256 key size; RFC 2104 §3),
 * as a string (its UTF-8 bytes) or a `Uint8Array`. The commonest mistake is an unset environment
 * variable (`secret: process.env.SECRET_KEY`), so the message says what was passed (`undefined`,
 * an empty string, how many bytes) and how to make a good secret, without ever showing it.
 *
 * @module lib/secret
 */

/** A shell command that prints 32 random bytes, base64url: 43 characters, 256 bits. */
export const MAKE_SECRET = `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;

/** The key bytes of `secret` (a copy); throws a `TypeError` that says what is wrong and how to fix it. */
export function requireSecretKey(owner: string, secret: unknown): Uint8Array {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (key instanceof Uint8Array && key.byteLength >= 32) return Uint8Array.from(key);
  const what =
    secret === undefined || secret === null ? `secret is ${secret}`
    : secret === '' ? 'secret is an empty string'
    : key instanceof Uint8Array ? `secret is ${key.byteLength} bytes, fewer than 32`
    : `secret is a ${typeof secret}, not a string or Uint8Array`;
  throw new TypeError(`${owner}${what}: pass 32+ random bytes, e.g. from \`${MAKE_SECRET}\``);
}
