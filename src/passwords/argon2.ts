/**
 * Argon2 password hashes in the PHC string format, on Node's own `crypto.argon2` (Node ≥ 24.7).
 * New hashes are argon2id with m=19456 KiB, t=2, p=1, a 16-byte random salt and a 32-byte tag,
 * the first row of OWASP's table (SEC-01; ASVS 11.4.2). The computation is
 * asynchronous and runs on libuv's thread pool, so the event loop keeps serving while a password
 * is hashed; {@link PasswordHasher} bounds how many run at once (SEC-12).
 *
 * Stored strings look like the reference implementation's (`argon2_encodestring`):
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>`, salt and tag in standard base64 without `=`.
 * Any argon2id, argon2i or argon2d string of version 19 verifies with its own parameters, as long
 * as they are sane (parameters.ts): a stored hash asking for more than 1 GiB, 100 passes, 16 lanes or 4 GiB·passes
 * of work is treated as unverifiable, so that a hostile or corrupt row cannot stall the server.
 *
 * @module passwords/argon2
 */
import * as nodeCrypto from 'node:crypto';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ARGON2_DEFAULTS, isVerifiableArgon2, type Argon2Parameters } from './parameters.ts';

/** The algorithms of RFC 9106; only argon2id is used for new hashes. */
export type Argon2Algorithm = 'argon2id' | 'argon2i' | 'argon2d';

/** A parsed PHC string. */
export interface Argon2Hash extends Argon2Parameters {
  readonly algorithm: Argon2Algorithm;
  readonly salt: Buffer;
  readonly tag: Buffer;
}

/** Salt 16 bytes and tag 32 bytes for new hashes (SEC-01; RFC 9106 §3.1 recommends 128-bit salts). */
const SALT_BYTES = 16;
const TAG_BYTES = 32;

/** RFC 9106 version 0x13; older 0x10 strings have no `v=` and are not verified. */
const VERSION = 19;

const PHC = /^\$(argon2id|argon2i|argon2d)\$v=19\$m=([1-9][0-9]{0,9}),t=([1-9][0-9]{0,9}),p=([1-9][0-9]{0,9})\$([A-Za-z0-9+/]{11,1368})\$([A-Za-z0-9+/]{6,1368})$/;

/** Unpadded standard base64 decodes only when its length is not 1 modulo 4. */
function decodeBase64(text: string): Buffer | null {
  return text.length % 4 === 1 ? null : Buffer.from(text, 'base64');
}

function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

/**
 * Parses a PHC argon2 string; `null` when it is malformed, of another version, carries
 * `keyid`/`data` fields, or asks for more work than the bounds above allow.
 *
 * @example
 * ```ts
 * parseArgon2('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$…')?.memory // 19456
 * ```
 */
export function parseArgon2(stored: string): Argon2Hash | null {
  const match = PHC.exec(stored);
  if (!match) return null;
  const [, algorithm, m, t, p, saltText, tagText] = match as unknown as [string, Argon2Algorithm, string, string, string, string, string];
  const salt = decodeBase64(saltText);
  const tag = decodeBase64(tagText);
  // Node requires a salt of at least 8 bytes and a tag of at least 4 (RFC 9106 §3.1).
  if (!salt || !tag || salt.length < 8 || tag.length < 4) return null;
  const params = { memory: Number(m), passes: Number(t), parallelism: Number(p) };
  if (!isVerifiableArgon2(params)) return null;
  return Object.freeze({ algorithm, ...params, salt, tag });
}

function derive(algorithm: Argon2Algorithm, password: string, salt: Uint8Array, tagLength: number, params: Argon2Parameters): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    nodeCrypto.argon2(
      algorithm,
      { message: Buffer.from(password, 'utf8'), nonce: salt, tagLength, memory: params.memory, passes: params.passes, parallelism: params.parallelism },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

/**
 * Hashes `password` (as UTF-8) with argon2id and a fresh 16-byte salt; returns the PHC string.
 *
 * @example
 * ```ts
 * await hashArgon2id('correct horse battery staple', ARGON2_DEFAULTS)
 * // '$argon2id$v=19$m=19456,t=2,p=1$…$…'
 * ```
 */
export async function hashArgon2id(password: string, params: Argon2Parameters = ARGON2_DEFAULTS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const tag = await derive('argon2id', password, salt, TAG_BYTES, params);
  return formatArgon2('argon2id', params, salt, tag);
}

/** The PHC string of a hash, as the reference implementation writes it. */
function formatArgon2(algorithm: Argon2Algorithm, params: Argon2Parameters, salt: Uint8Array, tag: Uint8Array): string {
  return `$${algorithm}$v=${VERSION}$m=${params.memory},t=${params.passes},p=${params.parallelism}$${encodeBase64(salt)}$${encodeBase64(tag)}`;
}

/**
 * True when `password` matches the parsed hash. Recomputes the tag at the stored length and
 * compares it in constant time (SEC-04); a failure inside `crypto.argon2` reads as no match.
 */
export async function verifyArgon2(password: string, hash: Argon2Hash): Promise<boolean> {
  let computed: Buffer;
  try {
    computed = await derive(hash.algorithm, password, hash.salt, hash.tag.length, hash);
  } catch {
    return false;
  }
  return computed.length === hash.tag.length && timingSafeEqual(computed, hash.tag);
}
