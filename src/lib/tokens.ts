/**
 * The two-part bearer tokens of sessions and remember-me cookies: `id.secret`, where the id
 * (16 random bytes, 128 bits) is the public lookup key and only SHA-256 of the secret (32 random
 * bytes, 256 bits) is stored (SEC-19, SEC-21, SEC-36; Paragon "split tokens": the
 * secret never appears in a query).
 *
 * @module lib/tokens
 */
import { encodeBase64url, isBase64url } from './encoding.ts';

/** base64url length of 16 and 32 random bytes. */
export const ID_LENGTH = 22;
export const SECRET_LENGTH = 43;

/** A new random id (16 bytes) or secret (32 bytes), base64url. */
export function randomToken(randomBytes: (size: number) => Uint8Array, size: 16 | 32): string {
  const bytes = randomBytes(size);
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== size) {
    throw new TypeError(`randomBytes(${size}) must return ${size} bytes`);
  }
  return encodeBase64url(bytes);
}

/** The parts of an `id.secret` cookie value, or null for anything else. */
export function parseToken(value: string | undefined): { id: string; secret: string } | null {
  if (value === undefined || value.length !== ID_LENGTH + 1 + SECRET_LENGTH || value[ID_LENGTH] !== '.') return null;
  const id = value.slice(0, ID_LENGTH);
  const secret = value.slice(ID_LENGTH + 1);
  return isBase64url(id, ID_LENGTH) && isBase64url(secret, SECRET_LENGTH) ? { id, secret } : null;
}
