/**
 * Recovery codes for an account with a second factor (SEC-81): a set of 10 single-use
 * codes, shown once, stored only hashed, regenerated as a whole set. Each code is 10 characters of
 * Crockford's base32 (0-9 and A-Z without I, L, O, U), 5 random bits each: 50 bits, the least
 * SEC-81 allows, shown in two groups as `XXXXX-XXXXX` so that it can be read off paper and typed on
 * a phone. Reading is forgiving where Crockford's alphabet means it to be: any case, hyphens and
 * spaces anywhere, I and L read as 1, O as 0. Pure functions on `node:crypto`: the caller stores
 * the hashes, deletes one when it is used, and throttles attempts.
 *
 * @module recovery-codes
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { sha256 } from './lib/encoding.ts';

/** Crockford's base32: no I, L, O (read as 1, 1, 0) and no U. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LOOK_ALIKES: Record<string, string> = { I: '1', L: '1', O: '0' };
/** 10 characters of 5 bits: 50 bits per code (SEC-81: at least 50). */
const CODE_CHARS = 10;
const GROUP = 5;
/** SEC-81: a set is 10 codes. */
const DEFAULT_COUNT = 10;
const MAX_COUNT = 100;
/** Longer input is refused before any work: a code with generous spacing is far shorter. */
const MAX_INPUT = 64;
const CANONICAL = new RegExp(`^[${CROCKFORD}]{${CODE_CHARS}}$`);

/**
 * A new set of `count` distinct recovery codes (default 10, SEC-81), in their canonical display
 * form `XXXXX-XXXXX`. Show them once; store only `hashRecoveryCode` of each; a new set replaces the
 * old one entirely.
 *
 * @example
 * const codes = generateRecoveryCodes(); // ['7QK2M-X0D9R', …] (10 codes)
 * await store.replaceRecoveryCodes(user.id, codes.map(hashRecoveryCode));
 */
export function generateRecoveryCodes(count: number = DEFAULT_COUNT, randomBytes: (size: number) => Uint8Array = nodeRandomBytes): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw new TypeError(`count must be a whole number from 1 to ${MAX_COUNT}`);
  const codes = new Set<string>();
  // Two codes of a set coincide with probability about count² / 2^51: drawing again keeps the set
  // distinct; a source that keeps repeating itself is not random, and is refused rather than looped on.
  for (let draws = 0; codes.size < count; draws++) {
    if (draws >= count + 10) throw new TypeError('randomBytes keeps returning the same bytes');
    codes.add(encodeCode(randomBytes(CODE_CHARS)));
  }
  return [...codes];
}

/**
 * The canonical form (`XXXXX-XXXXX`) of a recovery code as a user typed it, or `null` when it is
 * not one: not a string, too long, a character outside Crockford's alphabet (U included), or not
 * exactly 10 characters once case, hyphens and whitespace are set aside. I and L count as 1, O as 0.
 * Never throws.
 *
 * @example
 * normalizeRecoveryCode(' 7qk2m x0d9r '); // '7QK2M-X0D9R'
 * normalizeRecoveryCode('7QK2M-XOD9R'); // '7QK2M-X0D9R' (O read as 0)
 */
export function normalizeRecoveryCode(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > MAX_INPUT) return null;
  const compact = input.replace(/[\s-]/g, '');
  // ASCII first: toUpperCase would turn 'ı' into 'I' and 'ﬀ' into 'FF'.
  if (!/^[0-9A-Za-z]+$/.test(compact)) return null;
  const chars = compact.toUpperCase().replace(/[ILO]/g, (char) => LOOK_ALIKES[char] as string);
  if (!CANONICAL.test(chars)) return null;
  return `${chars.slice(0, GROUP)}-${chars.slice(GROUP)}`;
}

/**
 * What to store for a recovery code: base64url SHA-256 of its canonical form, so that
 * `hashRecoveryCode(normalizeRecoveryCode(typed))` finds the stored hash whatever the spelling.
 * `code` must be a recovery code (a `TypeError` otherwise): normalize user input first and refuse
 * `null`.
 *
 * Why a fast hash and not the password hasher: a code has 50 random bits (SEC-81), not a human
 * choice, so there is no dictionary to try; online, the caller throttles the second step per
 * account (SEC-79, the delays of SEC-51), which keeps guessing among 2^50 values hopeless. The hash
 * keeps the codes out of backups, logs and support screens. Offline, a stolen table of fast hashes
 * of 50-bit codes can be searched with GPUs in hours per account; that database also holds the
 * TOTP secret, which must be stored reversibly, so a slow hash here would not protect the second
 * factor of a stolen account; an app that encrypts TOTP secrets with a key kept outside the
 * database should know that its recovery codes are then the weaker half.
 *
 * @example
 * const typed = normalizeRecoveryCode(form.get('code'));
 * if (typed === null) return refuse();
 * const used = await store.useRecoveryCode(user.id, hashRecoveryCode(typed));
 */
export function hashRecoveryCode(code: string): string {
  const canonical = normalizeRecoveryCode(code);
  if (canonical === null) throw new TypeError('hashRecoveryCode expects a recovery code: normalize user input first');
  return sha256(canonical);
}

/** 10 random bytes as a code: each byte's low 5 bits pick a character, uniformly (256 is a multiple of 32). */
function encodeCode(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== CODE_CHARS) throw new TypeError(`randomBytes(${CODE_CHARS}) must return ${CODE_CHARS} bytes`);
  let chars = '';
  for (const byte of bytes) chars += CROCKFORD[byte & 31];
  return `${chars.slice(0, GROUP)}-${chars.slice(GROUP)}`;
}
