/**
 * The cookie that carries a reset token from the link to the form (SEC-59): `GET
 * /reset-password/TOKEN` moves the token out of the URL at once, into this cookie, and 303s to
 * `/reset-password`, so the page where the password is typed has no token in its address, its
 * history entry or any `Referer`. It lives 10 minutes, is HttpOnly (no script reads it) and
 * SameSite=Lax. Over plain HTTP it is `lk-reset` with `Path=/reset-password`, sent to nothing
 * else; over HTTPS it is `__Host-lk-reset`, which the prefix pins to this host, `Secure` and
 * `Path=/` (RFC 6265bis §4.1.3.2: a sibling subdomain cannot plant one), read only by the reset
 * routes and cleared once used. The token is checked again when the form is posted.
 *
 * @module app/reset-cookie
 */
import { readCookies, serializeCookie } from 'latchkey';

/** 10 minutes (SEC-59): long enough to choose a password, short on a shared computer. */
export const RESET_COOKIE_SECONDS = 600;
const NAME = 'lk-reset';

function cookieName(secure: boolean): string {
  return secure ? `__Host-${NAME}` : NAME;
}

function attributes(secure: boolean, maxAge: number) {
  return { maxAge, httpOnly: true, secure, sameSite: 'Lax' as const, path: secure ? '/' : '/reset-password' };
}

/** The `Set-Cookie` that keeps `token` for the reset form. */
export function resetCookie(token: string, secure: boolean, now = Date.now()): string {
  return serializeCookie(cookieName(secure), token, attributes(secure, RESET_COOKIE_SECONDS), now);
}

/** The `Set-Cookie` that clears it: after a reset, or when its token is no good. */
export function clearResetCookie(secure: boolean, now = Date.now()): string {
  return serializeCookie(cookieName(secure), '', attributes(secure, 0), now);
}

/** The token the browser sent, or null (absent, duplicated or malformed: see readCookies). */
export function readResetCookie(cookieHeader: string | null | undefined, secure: boolean): string | null {
  const name = cookieName(secure);
  return readCookies(cookieHeader, [name]).get(name) ?? null;
}
