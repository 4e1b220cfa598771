/**
 * Counting text the way the standards count it: code points for password and name lengths
 * (NIST SP 800-63B-4 §3.1.1.2: "each Unicode code point counted as one character"), UTF-8 octets
 * for byte limits and email lengths (RFC 5321 §4.5.3.1). Both run in one pass, without
 * allocating, on inputs already capped in UTF-16 length.
 *
 * @module lib/unicode
 */

/** The number of code points of `s` (a lone surrogate counts as one). */
export function countCodePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** UTF-8 length of `s`; a lone surrogate counts 3 bytes, as its U+FFFD replacement would. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
