/**
 * Which stored password strings latchkey's hasher can verify, decided by format alone so that an
 * import of thousands of rows costs no hashing. The patterns and bounds repeat the hasher's own
 * parsers (src/passwords/legacy.ts, bcrypt.ts, argon2.ts), which are not public API;
 * test/cli.test.ts checks that both agree on every sample. A string that passes here is stored as
 * is and verified at its owner's next login, then rehashed to argon2id. Anything else, above all
 * a plain-text password, is never imported: its row is skipped with the reason, and the reason
 * never quotes the stored value (it may be a password).
 *
 * @module app/cli/hash-format
 */
import * as crypto from 'node:crypto';

export type HashCheck = { readonly ok: true; readonly scheme: string } | { readonly ok: false; readonly reason: string };

/** Longer stored strings are not parsed by the hasher, nor accepted by `importUser`. */
const MAX_LENGTH = 1024;
const MAX_PBKDF2_ITERATIONS = 10_000_000;
const DIGEST_BYTES: Readonly<Record<string, number>> = { sha1: 20, sha256: 32, sha512: 64 };

// werkzeug 2.2-3.1 `generate_password_hash`: method$salt$hex; the salt is text, used as is.
const WERKZEUG_PBKDF2 = /^pbkdf2:(sha1|sha256|sha512):([1-9][0-9]{0,7})\$([^$]{1,256})\$([0-9a-f]{40,128})$/;
const WERKZEUG_SCRYPT = /^scrypt:([1-9][0-9]{0,7}):([1-9][0-9]?):([1-9][0-9]?)\$([^$]{1,256})\$([0-9a-f]{128})$/;
// Django `PBKDF2PasswordHasher` / `PBKDF2SHA1PasswordHasher`: the key in padded base64.
const DJANGO_PBKDF2 = /^pbkdf2_(sha1|sha256)\$([1-9][0-9]{0,7})\$([^$]{1,256})\$([A-Za-z0-9+/]{27,86}={0,2})$/;
// OpenBSD bcrypt (Flask-Bcrypt, passlib): the salt's last character carries 2 zero bits.
const BCRYPT = /^\$2[aby]\$(0[4-9]|1[0-6])\$[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{31}$/;
// PHC argon2 (argon2-cffi, passlib), version 0x13 only.
const ARGON2 = /^\$(argon2id|argon2i|argon2d)\$v=19\$m=([1-9][0-9]{0,9}),t=([1-9][0-9]{0,9}),p=([1-9][0-9]{0,9})\$([A-Za-z0-9+/]{11,1368})\$([A-Za-z0-9+/]{6,1368})$/;
// latchkey's own fallback where Node has no argon2.
const SCRYPT_PHC = /^\$scrypt\$ln=([1-9][0-9]?),r=([1-9][0-9]?),p=([1-9][0-9]?)\$([A-Za-z0-9+/]{11,344})\$([A-Za-z0-9+/]{22,344})$/;

// Formats that are recognisably hashes, but that the hasher cannot verify.
const WERKZEUG_SALTED = /^(md5|sha1|sha224|sha256|sha384|sha512)\$[^$]*\$[0-9a-f]{32,128}$/;
const WERKZEUG_PBKDF2_NO_COUNT = /^pbkdf2:(sha1|sha256|sha512)\$/;
const HEX_DIGEST = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$/i;

const argon2Available = typeof (crypto as { argon2?: unknown }).argon2 === 'function';

function base64Bytes(text: string): number | null {
  return text.length % 4 === 1 ? null : Buffer.from(text, 'base64').length;
}

/** scrypt cost N a power of two up to 2^20, p ≤ 16, 128·N·r ≤ 1 GiB: the hasher's DoS bounds. */
function scryptSane(cost: number, blockSize: number, parallelism: number): boolean {
  return cost >= 2 && cost <= 2 ** 20 && (cost & (cost - 1)) === 0 && parallelism <= 16 && 128 * cost * blockSize <= 2 ** 30;
}

const OUT_OF_BOUNDS = 'the hash asks for more work than latchkey verifies (a denial-of-service guard)';

/** Whether `stored` is a password hash latchkey verifies, or why not. */
export function checkHashFormat(stored: unknown): HashCheck {
  if (stored === null || stored === undefined || stored === '') return { ok: false, reason: 'no password hash' };
  if (typeof stored !== 'string') return { ok: false, reason: 'the password column does not hold text' };
  if (stored.length > MAX_LENGTH) return { ok: false, reason: 'the password hash is longer than 1024 characters' };
  let m: RegExpExecArray | null;
  if ((m = WERKZEUG_PBKDF2.exec(stored))) {
    const [, digest, iterations, , key] = m as unknown as [string, string, string, string, string];
    if (key.length !== 2 * (DIGEST_BYTES[digest] as number)) return { ok: false, reason: 'malformed werkzeug pbkdf2 hash (wrong key length)' };
    if (Number(iterations) > MAX_PBKDF2_ITERATIONS) return { ok: false, reason: OUT_OF_BOUNDS };
    return { ok: true, scheme: `werkzeug pbkdf2:${digest}` };
  }
  if ((m = WERKZEUG_SCRYPT.exec(stored))) {
    const [, n, r, p] = m as unknown as [string, string, string, string];
    return scryptSane(Number(n), Number(r), Number(p)) ? { ok: true, scheme: 'werkzeug scrypt' } : { ok: false, reason: OUT_OF_BOUNDS };
  }
  if ((m = DJANGO_PBKDF2.exec(stored))) {
    const [, digest, iterations, , key] = m as unknown as [string, string, string, string, string];
    if (key.length !== 4 * Math.ceil((DIGEST_BYTES[digest] as number) / 3)) return { ok: false, reason: 'malformed Django pbkdf2 hash (wrong key length)' };
    if (Number(iterations) > MAX_PBKDF2_ITERATIONS) return { ok: false, reason: OUT_OF_BOUNDS };
    return { ok: true, scheme: `Django pbkdf2_${digest}` };
  }
  if (BCRYPT.test(stored)) return { ok: true, scheme: 'bcrypt' };
  if ((m = ARGON2.exec(stored))) {
    if (!argon2Available) return { ok: false, reason: 'argon2 hash, and this Node has no crypto.argon2 (Node 24.7 or later has it)' };
    const [, algorithm, mem, t, p, salt, tag] = m as unknown as [string, string, string, string, string, string, string];
    const [memory, passes, lanes] = [Number(mem), Number(t), Number(p)];
    const saltBytes = base64Bytes(salt);
    const tagBytes = base64Bytes(tag);
    if (saltBytes === null || tagBytes === null || saltBytes < 8 || tagBytes < 4) return { ok: false, reason: 'malformed argon2 hash' };
    const sane = lanes <= 16 && passes <= 100 && memory >= 8 * lanes && memory <= 1_048_576 && memory * passes <= 4_194_304;
    return sane ? { ok: true, scheme: algorithm } : { ok: false, reason: OUT_OF_BOUNDS };
  }
  if ((m = SCRYPT_PHC.exec(stored))) {
    const [, ln, r, p, salt, key] = m as unknown as [string, string, string, string, string, string];
    const saltBytes = base64Bytes(salt);
    const keyBytes = base64Bytes(key);
    if (saltBytes === null || keyBytes === null || saltBytes < 8 || keyBytes < 16) return { ok: false, reason: 'malformed scrypt hash' };
    return Number(ln) <= 20 && scryptSane(2 ** Number(ln), Number(r), Number(p)) ? { ok: true, scheme: 'scrypt' } : { ok: false, reason: OUT_OF_BOUNDS };
  }
  return { ok: false, reason: unsupportedReason(stored) };
}

/** Why a string that is not a verifiable hash was refused, without quoting it. */
function unsupportedReason(stored: string): string {
  const reset = 'latchkey cannot verify it; the user must reset the password';
  if (stored.startsWith('plain$')) return 'plain-text password (werkzeug method="plain"): never imported';
  const salted = WERKZEUG_SALTED.exec(stored);
  if (salted) return `werkzeug "${salted[1]}$" hash (one salted HMAC round, removed in werkzeug 3.0): ${reset}`;
  if (WERKZEUG_PBKDF2_NO_COUNT.test(stored)) return `werkzeug pbkdf2 hash without an iteration count (its meaning changed between werkzeug versions): ${reset}`;
  if (HEX_DIGEST.test(stored)) return `an unsalted hex digest (MD5 or SHA): ${reset}`;
  if (/^(pbkdf2|scrypt|\$2|\$argon2|\$scrypt)/.test(stored)) return `malformed or unsupported password hash: ${reset}`;
  return 'not a password hash latchkey can verify (plain text?): never imported';
}
