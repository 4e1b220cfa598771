/**
 * Token encoding and hashing. Tokens are random bytes in base64url without padding (RFC 4648 §5),
 * stored only as SHA-256 digests; digests are compared in constant time.
 *
 * @module lib/encoding
 */
import { createHmac, hash } from 'node:crypto';

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** base64url without padding (RFC 4648 §5). */
export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** True when `value` is base64url text of exactly `length` characters. */
export function isBase64url(value: string, length: number): boolean {
  return value.length === length && BASE64URL.test(value);
}

/** base64url SHA-256 of a UTF-8 string: how token secrets are stored (SEC-21). */
export function sha256(value: string): string {
  return hash('sha256', value, 'base64url'); // one-shot: half the cost of createHash().update().digest()
}

/** base64url HMAC-SHA-256 of `message` under `key`. */
export function hmacSha256(key: Uint8Array, message: string): string {
  return createHmac('sha256', key).update(message).digest('base64url');
}

/**
 * Constant-time equality of two strings (SEC-04): every character is compared whatever the first
 * difference, without allocating. Lengths are compared first: no length is a secret here, every
 * token and digest latchkey compares has a fixed length. Runs on every authenticated request,
 * where `timingSafeEqual` would first copy both strings into Buffers.
 */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
