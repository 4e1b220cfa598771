/**
 * Cookie header parsing and `Set-Cookie` serialisation, as pure functions over strings
 * (RFC 6265bis). Parsing is deliberately suspicious: a cookie that appears twice, is longer than
 * 4096 bytes, or is not plain token text is treated as absent, because two values for one name
 * mean that someone planted one of them (a sibling subdomain, a tampering proxy) and we cannot tell
 * which (SEC-27, §2 "two __Host-sid cookies").
 *
 * @module cookie
 */
import { HTTP_TOKEN } from './lib/http-token.ts';

/** RFC 6265bis §5.6: browsers cap a cookie's name plus value at 4096 bytes. */
const MAX_COOKIE_LENGTH = 4096;
/** The characters latchkey's own cookie values use: base64url and `.`. */
const VALUE = /^[A-Za-z0-9._-]*$/;

/**
 * The values of the wanted cookie names in a `Cookie` header. A name that is absent, duplicated,
 * oversized or carries characters outside base64url and `.` is left out of the result.
 *
 * @example
 * ```ts
 * readCookies('a=1; b=2; b=3', ['a', 'b']) // Map { 'a' => '1' }
 * ```
 */
export function readCookies(header: string | null | undefined, names: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  if (!header) return found;
  const duplicated = new Set<string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!names.includes(name)) continue;
    if (found.has(name) || duplicated.has(name)) {
      found.delete(name);
      duplicated.add(name);
      continue;
    }
    const value = part.slice(eq + 1).trim();
    if (name.length + value.length > MAX_COOKIE_LENGTH || !VALUE.test(value)) {
      duplicated.add(name); // unusable: never fall back to a later copy
      continue;
    }
    found.set(name, value);
  }
  return found;
}

/** Attributes of a `Set-Cookie` header that latchkey emits. */
export interface CookieAttributes {
  /** Seconds; omitted for a browser-session cookie. 0 deletes. RFC 6265bis caps it at 400 days ({@link MAX_COOKIE_AGE}). */
  readonly maxAge?: number;
  readonly httpOnly?: boolean;
  readonly secure?: boolean;
  readonly sameSite?: 'Lax' | 'Strict' | 'None';
  readonly path?: string;
}

/** RFC 6265bis §4.1.2.2: user agents cap Max-Age and Expires at 400 days (in seconds, as Max-Age). */
export const MAX_COOKIE_AGE = 400 * 86_400;

/**
 * A `Set-Cookie` header value. With `maxAge`, both `Max-Age` and `Expires` are written (`Expires`
 * for old user agents; `now` gives its base). Names and values are checked, not encoded: latchkey
 * only writes token text.
 *
 * @example
 * ```ts
 * serializeCookie('session', 'abc', { httpOnly: true, sameSite: 'Lax', path: '/' })
 * // 'session=abc; Path=/; HttpOnly; SameSite=Lax'
 * ```
 */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes = {}, now = Date.now()): string {
  if (!HTTP_TOKEN.test(name)) throw new TypeError(`invalid cookie name: ${name}`);
  if (!VALUE.test(value)) throw new TypeError(`invalid cookie value for ${name}`);
  let cookie = `${name}=${value}`;
  if (attributes.maxAge !== undefined) {
    const maxAge = Math.min(Math.max(0, Math.floor(attributes.maxAge)), MAX_COOKIE_AGE);
    const expires = maxAge === 0 ? new Date(0) : new Date(now + maxAge * 1000);
    cookie += `; Max-Age=${maxAge}; Expires=${expires.toUTCString()}`;
  }
  cookie += `; Path=${attributes.path ?? '/'}`;
  if (attributes.secure) cookie += '; Secure';
  if (attributes.httpOnly) cookie += '; HttpOnly';
  if (attributes.sameSite) cookie += `; SameSite=${attributes.sameSite}`;
  return cookie;
}
