/**
 * Small signed values for cookies that must survive without a server record: flash messages and
 * the `next` target of anonymous visitors (who create no server state, R-09), and the
 * pre-login CSRF binding. Format: `base64url(JSON).base64url(HMAC-SHA-256)`, the MAC covering a
 * purpose label so that a value signed for one cookie is refused by every other (OWASP CSRF cheat
 * sheet, "Signed Double-Submit Cookie"; Django's signed CookieStorage for messages).
 *
 * @module signed
 */
import { hmacSha256, safeEqual } from './lib/encoding.ts';

/**
 * Signs `value` (any JSON) for `purpose` with the first key.
 *
 * @example
 * ```ts
 * const cookie = signValue(keys, 'flash', [['message', 'Hi']]);
 * verifyValue(keys, 'flash', cookie) // [['message', 'Hi']]
 * ```
 */
export function signValue(keys: readonly Uint8Array[], purpose: string, value: unknown): string {
  const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${payload}.${hmacSha256(keys[0] as Uint8Array, `${purpose}.${payload}`)}`;
}

/**
 * The value signed for `purpose` by any of `keys` (old keys verify during a key rotation), or
 * undefined when the signature does not verify or the payload is not JSON.
 */
export function verifyValue(keys: readonly Uint8Array[], purpose: string, signed: string | undefined): unknown {
  if (!signed) return undefined;
  const dot = signed.indexOf('.');
  if (dot < 1 || dot !== signed.lastIndexOf('.')) return undefined;
  const payload = signed.slice(0, dot);
  const mac = signed.slice(dot + 1);
  if (!keys.some((key) => safeEqual(hmacSha256(key, `${purpose}.${payload}`), mac))) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
