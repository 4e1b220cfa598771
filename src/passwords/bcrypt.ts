/**
 * bcrypt verification, so that accounts imported from a PHP, Ruby, Python or Node app can still
 * log in once and be rehashed to argon2id (SEC-03). Only verification: bcrypt reads
 * just the first 72 bytes of a password, which is one reason it is not used for new hashes (SEC-06,
 * OWASP Password Storage Cheat Sheet §bcrypt).
 *
 * This is EksBlowfish as in Provos and Mazières' 1999 paper and OpenBSD's `bcrypt.c`, written for
 * this file: `$2a$`, `$2b$` and `$2y$` at cost 4 to 16 (2^16 rounds is already seconds in
 * JavaScript, so a costlier stored hash is unverifiable). The key is the UTF-8 password, cut to
 * 72 bytes, with its terminating NUL, as pyca/bcrypt, Openwall's crypt_blowfish and PHP read it;
 * OpenBSD's historical `$2a$` length wrap-around for passwords of 255+ bytes is not reproduced.
 * For `$2a$`, crypt_blowfish's countermeasure for its 2011 sign-extension bug (CVE-2011-2483) is
 * reproduced too, though no UTF-8 text can trigger it (it needs a 0xFF byte). A password with a
 * NUL never matches: C implementations stop at the first NUL, so "abc\0xyz" would match "abc".
 *
 * The Blowfish initial state is the fractional part of π in hexadecimal (P-array, then the four
 * S-boxes); it is computed once, on first use, with Machin's formula. The expensive loop yields to
 * the event loop every few milliseconds, because it runs on the main thread (SEC-12).
 *
 * @module passwords/bcrypt
 */
import { safeEqual } from '../lib/encoding.ts';

/** A parsed bcrypt string `$2b$10$<22-char salt><31-char hash>`. */
export interface BcryptHash {
  readonly variant: 'a' | 'b' | 'y';
  readonly cost: number;
  readonly salt: Uint8Array;
  readonly hash: string;
}

/** Costs outside this range are unverifiable: below is invalid in every implementation, above is a DoS. */
const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 16;

const BCRYPT = /^\$2([aby])\$([0-9]{2})\$([./A-Za-z0-9]{21}[.Oeu])([./A-Za-z0-9]{31})$/;
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const STANDARD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** "OrpheanBeholderScryDoubt", the 24-byte text that is encrypted 64 times. */
const MAGIC = new Int32Array([0x4f727068, 0x65616e42, 0x65686f6c, 0x64657253, 0x63727944, 0x6f756274]);
/** Rounds of the expensive loop between two yields to the event loop (about 2 ms each). */
const ROUNDS_PER_YIELD = 32;

/** bcrypt's base64: the standard bit packing with its own alphabet and no padding. */
function translate(text: string, from: string, to: string): string {
  let out = '';
  for (const char of text) out += to[from.indexOf(char)];
  return out;
}

function encodeBcrypt64(bytes: Uint8Array): string {
  return translate(Buffer.from(bytes).toString('base64').replace(/=+$/, ''), STANDARD_ALPHABET, BCRYPT_ALPHABET);
}

/**
 * Parses a bcrypt string; `null` when malformed, of another variant, or of a cost outside 4..16.
 *
 * @example
 * ```ts
 * parseBcrypt('$2b$10$…')?.cost // 10
 * parseBcrypt('$2x$05$…') // null: the buggy pre-2011 crypt_blowfish variant is not read
 * ```
 */
export function parseBcrypt(stored: string): BcryptHash | null {
  const match = BCRYPT.exec(stored);
  if (!match) return null;
  const [, variant, costText, saltText, hash] = match as unknown as [string, 'a' | 'b' | 'y', string, string, string];
  const cost = Number(costText);
  if (cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) return null;
  // The salt's last character is one of ".Oeu": its low 4 bits are padding and must be zero, as every
  // implementation writes it (the regex checks), so 22 characters decode to exactly 16 bytes.
  const salt = new Uint8Array(Buffer.from(translate(saltText, BCRYPT_ALPHABET, STANDARD_ALPHABET), 'base64'));
  return Object.freeze({ variant, cost, salt, hash });
}

let initialState: Int32Array | undefined;

/**
 * The first 18 + 4 × 256 32-bit words of π's fractional part: Blowfish's P-array and S-boxes.
 * π = 16·atan(1/5) − 4·atan(1/239) in fixed point with 64 guard bits.
 */
function piWords(): Int32Array {
  if (initialState) return initialState;
  const words = 18 + 1024;
  const bits = BigInt(words * 32 + 64);
  const one = 1n << bits;
  const atanInverse = (x: bigint): bigint => {
    const x2 = x * x;
    let power = one / x;
    let sum = power;
    for (let n = 3n, sign = -1n; power !== 0n; n += 2n, sign = -sign) {
      power /= x2;
      sum += (sign * power) / n;
    }
    return sum;
  };
  let fraction = 16n * atanInverse(5n) - 4n * atanInverse(239n) - (3n << bits);
  const state = new Int32Array(words);
  for (let i = 0; i < words; i++) {
    fraction <<= 32n;
    state[i] = Number(fraction >> bits) | 0;
    fraction &= one - 1n;
  }
  initialState = state;
  return state;
}

/**
 * One Blowfish encryption of `block` in place (16 rounds of F). `s` holds P in words 0..17 and the
 * four S-boxes from word 18; `(a + b) | 0` keeps V8 in 32-bit integer arithmetic.
 */
function encipher(s: Int32Array, block: Int32Array): void {
  let l = block[0]! ^ s[0]!;
  let r = block[1]!;
  for (let k = 1; k < 17; k += 2) {
    r ^= ((((s[18 + (l >>> 24)]! + s[274 + ((l >>> 16) & 0xff)]!) | 0) ^ s[530 + ((l >>> 8) & 0xff)]!) + s[786 + (l & 0xff)]!) ^ s[k]!;
    l ^= ((((s[18 + (r >>> 24)]! + s[274 + ((r >>> 16) & 0xff)]!) | 0) ^ s[530 + ((r >>> 8) & 0xff)]!) + s[786 + (r & 0xff)]!) ^ s[k + 1]!;
  }
  block[0] = r ^ s[17]!;
  block[1] = l;
}

/**
 * EksBlowfish's ExpandKey: XORs the 18 key words into P, then replaces P and the S-boxes with a
 * chain of encryptions, each block first XORed with the salt's next two words when a salt is given
 * (OpenBSD's `Blowfish_expandstate`; `Blowfish_expand0state` without one, which is the hot path:
 * 2^(cost+1) calls of 521 encryptions each).
 */
function expand(s: Int32Array, key: Int32Array, salt: Int32Array | null): void {
  for (let i = 0; i < 18; i++) s[i] = s[i]! ^ key[i]!;
  let l = 0;
  let r = 0;
  for (let i = 0, j = 0; i < 1042; i += 2, j ^= 2) {
    if (salt !== null) {
      l ^= salt[j]!;
      r ^= salt[j + 1]!;
    }
    l ^= s[0]!;
    for (let k = 1; k < 17; k += 2) {
      r ^= ((((s[18 + (l >>> 24)]! + s[274 + ((l >>> 16) & 0xff)]!) | 0) ^ s[530 + ((l >>> 8) & 0xff)]!) + s[786 + (l & 0xff)]!) ^ s[k]!;
      l ^= ((((s[18 + (r >>> 24)]! + s[274 + ((r >>> 16) & 0xff)]!) | 0) ^ s[530 + ((r >>> 8) & 0xff)]!) + s[786 + (r & 0xff)]!) ^ s[k + 1]!;
    }
    const left = r ^ s[17]!;
    r = l;
    l = left;
    s[i] = l;
    s[i + 1] = r;
  }
}

/**
 * The 18 key words: the key bytes and their NUL, cycled, read big-endian. Also the words for the
 * first expansion, which for `$2a$` carry crypt_blowfish's safety bit: bit 16 of word 0 flips
 * when a byte with bit 7 set sits at offset 1 to 3 of a word yet sign extension changed nothing
 * (which needs 0xFF bytes); only that first expansion sees it, not the expensive loop.
 */
function keyWords(password: Uint8Array, variant: 'a' | 'b' | 'y'): { words: Int32Array; initial: Int32Array } {
  const key = new Uint8Array(Math.min(password.length, 72) + 1);
  key.set(password.subarray(0, 72));
  const words = new Int32Array(18);
  let position = 0;
  let signed = 0;
  let sign = 0;
  let diff = 0;
  for (let i = 0; i < 18; i++) {
    let word = 0;
    for (let j = 0; j < 4; j++) {
      const byte = key[position]!;
      word = (word << 8) | byte;
      signed = (signed << 8) | (byte >= 0x80 ? byte - 0x100 : byte);
      if (j > 0) sign |= signed & 0x80;
      position = (position + 1) % key.length;
    }
    diff |= word ^ signed;
    words[i] = word;
  }
  const initial = words.slice();
  if (variant === 'a' && sign !== 0 && diff === 0) initial[0] = initial[0]! ^ 0x10000;
  return { words, initial };
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The full bcrypt string for raw password bytes and a parsed setting, as `crypt(3)` computes it.
 * Exported for the byte-level Openwall and OpenBSD test vectors; callers use {@link verifyBcrypt}.
 *
 * @example
 * ```ts
 * const setting = parseBcrypt('$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq')!;
 * await bcryptBytes(Buffer.from([0xa3]), setting) // the same string
 * ```
 */
export async function bcryptBytes(password: Uint8Array, setting: Omit<BcryptHash, 'hash'>): Promise<string> {
  const { words: key, initial } = keyWords(password, setting.variant);
  const saltBytes = Buffer.from(setting.salt);
  // The salt as 4 words (mixed into every block of the first expansion) and cycled to 18 (a key).
  const salt = new Int32Array(4);
  const saltKey = new Int32Array(18);
  for (let i = 0; i < 18; i++) saltKey[i] = salt[i % 4] = saltBytes.readInt32BE((i % 4) * 4);
  const state = piWords().slice();
  expand(state, initial, salt);
  const rounds = 2 ** setting.cost;
  for (let round = 1; round <= rounds; round++) {
    expand(state, key, null);
    expand(state, saltKey, null);
    if (round % ROUNDS_PER_YIELD === 0 && round < rounds) await yieldToEventLoop();
  }
  const text = MAGIC.slice();
  const block = new Int32Array(2);
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 6; j += 2) {
      block[0] = text[j]!;
      block[1] = text[j + 1]!;
      encipher(state, block);
      text[j] = block[0]!;
      text[j + 1] = block[1]!;
    }
  }
  const digest = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) digest.writeInt32BE(text[i]!, i * 4);
  const cost = String(setting.cost).padStart(2, '0');
  // Only 23 of the 24 bytes are encoded, as in every implementation.
  return `$2${setting.variant}$${cost}$${encodeBcrypt64(setting.salt).slice(0, 22)}${encodeBcrypt64(digest.subarray(0, 23))}`;
}

/**
 * True when `password` (as UTF-8) matches the parsed bcrypt hash; the 31 characters are compared
 * in constant time (SEC-04).
 *
 * @example
 * ```ts
 * const parsed = parseBcrypt('$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW');
 * parsed && await verifyBcrypt('U*U', parsed) // true
 * ```
 */
export async function verifyBcrypt(password: string, hash: BcryptHash): Promise<boolean> {
  const bytes = Buffer.from(password, 'utf8');
  const computed = await bcryptBytes(bytes, hash);
  return safeEqual(computed.slice(29), hash.hash) && !bytes.includes(0);
}
