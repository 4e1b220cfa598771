/**
 * Password hashes that are verified but not made, except scrypt, so that users of an app moved from
 * Flask or Django log in once and are rehashed to argon2id (SEC-03): werkzeug's
 * `pbkdf2:sha256:N$salt$hex` and `scrypt:N:r:p$salt$hex`, Django's `pbkdf2_sha256$N$salt$base64`,
 * and our own `$scrypt$ln=17,r=8,p=1$salt$hash`, the fallback for a Node without `crypto.argon2`
 * (SEC-02: N=2^17, r=8, p=1, and `maxmem` raised past Node's 32 MiB default, which refuses N=2^17).
 *
 * Formats as their sources write and read them. werkzeug (2.2 and 3.1 `security.py`): the salt is
 * used as its UTF-8 text, never decoded; the key is PBKDF2-HMAC at the digest's length, or scrypt's
 * 64 bytes, in lowercase hex; `generate_password_hash` always writes its parameters, while a bare
 * `pbkdf2:sha256$…` would mean 260 000 iterations to werkzeug 2.2 and 600 000 to 2.3+, so such a
 * string is refused rather than guessed. Django (3.2 `hashers.py`): the same, with the key in
 * padded base64. All run through the asynchronous `crypto.pbkdf2`/`crypto.scrypt` on libuv's pool,
 * and work factors are bounded (PBKDF2 ≤ 10 000 000 iterations, scrypt N ≤ 2^20 and 128·N·r ≤
 * 1 GiB) so that a hostile stored hash cannot stall the server (SEC-12). Every comparison is
 * constant-time (SEC-04).
 *
 * @module passwords/legacy
 */
import { pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { safeEqual } from '../lib/encoding.ts';
import { SCRYPT_DEFAULTS, type ScryptParameters } from './parameters.ts';

/** A parsed legacy hash. Salts of werkzeug and Django stay text: they are hashed as UTF-8. */
export type LegacyHash =
  | { readonly scheme: 'werkzeug-pbkdf2'; readonly digest: Digest; readonly iterations: number; readonly salt: string; readonly key: string }
  | { readonly scheme: 'django-pbkdf2'; readonly digest: Digest; readonly iterations: number; readonly salt: string; readonly key: string }
  | { readonly scheme: 'werkzeug-scrypt'; readonly params: ScryptParameters; readonly salt: string; readonly key: string }
  | { readonly scheme: 'scrypt'; readonly params: ScryptParameters; readonly salt: Buffer; readonly key: Buffer };

type Digest = 'sha1' | 'sha256' | 'sha512';

const MAX_PBKDF2_ITERATIONS = 10_000_000;
const MAX_SCRYPT_COST = 2 ** 20;
const MAX_SCRYPT_MEMORY = 2 ** 30; // bytes: 128 · N · r
const MAX_SCRYPT_PARALLELISM = 16;
const MIB = 2 ** 20;
const DIGEST_BYTES: Readonly<Record<Digest, number>> = { sha1: 20, sha256: 32, sha512: 64 };

const WERKZEUG_PBKDF2 = /^pbkdf2:(sha1|sha256|sha512):([1-9][0-9]{0,7})\$([^$]{1,256})\$([0-9a-f]{40,128})$/;
const WERKZEUG_SCRYPT = /^scrypt:([1-9][0-9]{0,7}):([1-9][0-9]?):([1-9][0-9]?)\$([^$]{1,256})\$([0-9a-f]{128})$/;
const DJANGO_PBKDF2 = /^pbkdf2_(sha1|sha256)\$([1-9][0-9]{0,7})\$([^$]{1,256})\$([A-Za-z0-9+/]{27,86}={0,2})$/;
const SCRYPT_PHC = /^\$scrypt\$ln=([1-9][0-9]?),r=([1-9][0-9]?),p=([1-9][0-9]?)\$([A-Za-z0-9+/]{11,344})\$([A-Za-z0-9+/]{22,344})$/;

function scryptParameters(cost: number, blockSize: number, parallelism: number): ScryptParameters | null {
  const sane =
    Number.isSafeInteger(cost) && cost >= 2 && cost <= MAX_SCRYPT_COST && (cost & (cost - 1)) === 0 &&
    blockSize >= 1 && parallelism >= 1 && parallelism <= MAX_SCRYPT_PARALLELISM &&
    128 * cost * blockSize <= MAX_SCRYPT_MEMORY;
  return sane ? Object.freeze({ cost, blockSize, parallelism }) : null;
}

/** OpenSSL's scrypt needs 128·r·(N + p + 2) bytes; we never pass less than SEC-02's 256 MiB. */
function maxmem(params: ScryptParameters): number {
  return Math.max(256 * MIB, 128 * params.blockSize * (params.cost + params.parallelism + 2) + MIB);
}

function decodeBase64(text: string): Buffer | null {
  return text.length % 4 === 1 ? null : Buffer.from(text, 'base64');
}

/**
 * Parses werkzeug, Django and scrypt-PHC strings; `null` when the string is none of them, is
 * malformed, or asks for more work than the bounds above.
 */
export function parseLegacy(stored: string): LegacyHash | null {
  let m: RegExpExecArray | null;
  if ((m = WERKZEUG_PBKDF2.exec(stored))) {
    const [, digest, iterations, salt, key] = m as unknown as [string, Digest, string, string, string];
    if (key.length !== 2 * DIGEST_BYTES[digest] || Number(iterations) > MAX_PBKDF2_ITERATIONS) return null;
    return Object.freeze({ scheme: 'werkzeug-pbkdf2', digest, iterations: Number(iterations), salt, key });
  }
  if ((m = DJANGO_PBKDF2.exec(stored))) {
    const [, digest, iterations, salt, key] = m as unknown as [string, Digest, string, string, string];
    if (key.length !== 4 * Math.ceil(DIGEST_BYTES[digest] / 3) || Number(iterations) > MAX_PBKDF2_ITERATIONS) return null;
    return Object.freeze({ scheme: 'django-pbkdf2', digest, iterations: Number(iterations), salt, key });
  }
  if ((m = WERKZEUG_SCRYPT.exec(stored))) {
    const [, n, r, p, salt, key] = m as unknown as [string, string, string, string, string, string];
    const params = scryptParameters(Number(n), Number(r), Number(p));
    return params && Object.freeze({ scheme: 'werkzeug-scrypt', params, salt, key });
  }
  if ((m = SCRYPT_PHC.exec(stored))) {
    const [, ln, r, p, saltText, keyText] = m as unknown as [string, string, string, string, string, string];
    const params = Number(ln) <= 20 ? scryptParameters(2 ** Number(ln), Number(r), Number(p)) : null;
    const salt = decodeBase64(saltText);
    const key = decodeBase64(keyText);
    if (!params || !salt || !key || salt.length < 8 || key.length < 16) return null;
    return Object.freeze({ scheme: 'scrypt', params, salt, key });
  }
  return null;
}

function derivePbkdf2(password: string, salt: string, iterations: number, digest: Digest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations, DIGEST_BYTES[digest], digest, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function deriveScrypt(password: string, salt: Uint8Array, length: number, params: ScryptParameters): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const options = { N: params.cost, r: params.blockSize, p: params.parallelism, maxmem: maxmem(params) };
    scrypt(Buffer.from(password, 'utf8'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * True when `password` (as UTF-8) matches the parsed hash. A failure inside node:crypto reads as
 * no match.
 *
 * @example
 * ```ts
 * const parsed = parseLegacy('pbkdf2:sha256:1000$Xv0I…$9c1e…');
 * parsed && await verifyLegacy('hunter2', parsed)
 * ```
 */
export async function verifyLegacy(password: string, hash: LegacyHash): Promise<boolean> {
  try {
    switch (hash.scheme) {
      case 'werkzeug-pbkdf2':
        return safeEqual((await derivePbkdf2(password, hash.salt, hash.iterations, hash.digest)).toString('hex'), hash.key);
      case 'django-pbkdf2':
        return safeEqual((await derivePbkdf2(password, hash.salt, hash.iterations, hash.digest)).toString('base64'), hash.key);
      case 'werkzeug-scrypt':
        return safeEqual((await deriveScrypt(password, Buffer.from(hash.salt, 'utf8'), 64, hash.params)).toString('hex'), hash.key);
      case 'scrypt': {
        const key = await deriveScrypt(password, hash.salt, hash.key.length, hash.params);
        return key.length === hash.key.length && timingSafeEqual(key, hash.key);
      }
    }
  } catch {
    return false;
  }
}

/**
 * Hashes `password` with scrypt N=2^17, r=8, p=1 and a fresh 16-byte salt (SEC-02), as
 * `$scrypt$ln=17,r=8,p=1$<salt>$<key>` in unpadded standard base64: the hasher's fallback when
 * `crypto.argon2` is unavailable.
 *
 * @example
 * ```ts
 * await hashScrypt('correct horse battery staple') // '$scrypt$ln=17,r=8,p=1$…$…'
 * ```
 */
export async function hashScrypt(password: string, params: ScryptParameters = SCRYPT_DEFAULTS): Promise<string> {
  if (!scryptParameters(params.cost, params.blockSize, params.parallelism)) throw new TypeError('scrypt parameters out of range');
  const salt = randomBytes(16);
  const key = await deriveScrypt(password, salt, 32, params);
  const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${Math.log2(params.cost)},r=${params.blockSize},p=${params.parallelism}$${b64(salt)}$${b64(key)}`;
}
