/**
 * RFC 4648 §6 base32, the encoding of TOTP secrets in authenticator apps and `otpauth://` URIs
 * (Key Uri Format). Encoded without padding, as those URIs carry it. The decoder is strict, because
 * a secret that decodes "leniently" to other bytes would give codes that never match: it accepts
 * the 32 letters and digits of the alphabet in upper or lower case (RFC 4648 §6 calls the encoding
 * case-insensitive by design, and apps print secrets in either case) and nothing else: no spaces,
 * no `=` padding, no characters outside the alphabet, no length a whole number of bytes cannot
 * produce, no non-zero bits left over in the last character (RFC 4648 §3.5: such text is not the
 * canonical encoding of any bytes). It never throws on text: any refusal is `null`.
 *
 * @module base32
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const VALUE = new Map([...ALPHABET].flatMap((char, value) => [[char, value], [char.toLowerCase(), value]] as const));
/** The lengths (mod 8) a whole number of bytes leaves: 1, 3 and 6 characters carry no byte of their own. */
const VALID_TAIL = new Set([0, 2, 4, 5, 7]);

/**
 * `bytes` as RFC 4648 base32, upper case, without padding.
 *
 * @example
 * base32Encode(new TextEncoder().encode('foobar')); // 'MZXW6YTBOI'
 */
export function base32Encode(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('base32Encode expects a Uint8Array');
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1; // keep only the bits not yet written, so the buffer never overflows
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The bytes of RFC 4648 base32 text (upper or lower case, without padding), or `null` for anything
 * else, including a value that is not a string. Never throws.
 *
 * @example
 * base32Decode('mzxw6ytboi'); // the bytes of 'foobar'
 * base32Decode('MZXW6YTBOI======'); // null: no padding
 */
export function base32Decode(text: unknown): Uint8Array | null {
  if (typeof text !== 'string' || !VALID_TAIL.has(text.length % 8)) return null;
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const char of text) {
    const value = VALUE.get(char);
    if (value === undefined) return null;
    buffer = ((buffer << 5) | value) & 0xfff; // at most 12 bits are ever pending
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (buffer >>> bits) & 0xff;
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) return null; // non-canonical: stray bits after the last byte
  return out;
}
