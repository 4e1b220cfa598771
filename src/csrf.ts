/**
 * Cross-site request forgery defences, in two layers (OWASP CSRF cheat sheet):
 * 1. An `Origin` / `Sec-Fetch-Site` check on every unsafe method (SEC-45): a browser always sends
 *    one of them on a cross-site POST, and neither can be forged by a page. A client that sends
 *    neither (curl, a server) is not a browser and cannot carry a victim's cookies: it is allowed.
 * 2. A synchronizer token for forms (SEC-43, SEC-44), derived rather than stored: HMAC-SHA-256 of
 *    the session id under the app's secret, or, before login, of a random nonce kept in a cookie
 *    (the "signed double-submit cookie" pattern). A new session id at login gives a new token.
 * JSON bodies need no token: a cross-site page cannot send `application/json` without a CORS
 * preflight (SEC-46), and the origin check has already run.
 *
 * @module csrf
 */
import { hmacSha256, isBase64url, safeEqual } from './lib/encoding.ts';
import type { RequestLike } from './request.ts';

/** The token for a binding (`s.<session id>` or `a.<nonce>`), under the signing key. */
export function deriveCsrfToken(key: Uint8Array, binding: string): string {
  return hmacSha256(key, `csrf.${binding}`);
}

/** Whether `token` is the token of `binding` under any of `keys`, in constant time. */
export function matchesCsrfToken(keys: readonly Uint8Array[], binding: string, token: unknown): boolean {
  if (typeof token !== 'string' || !isBase64url(token, 43)) return false;
  let ok = false;
  for (const key of keys) ok = safeEqual(deriveCsrfToken(key, binding), token) || ok;
  return ok;
}

/**
 * Why an unsafe request must be refused as cross-site, or null when it may go on.
 * `allowed` are the origins the app is served from (exact scheme, host and port).
 *
 * @example
 * ```ts
 * checkRequestOrigin(request, ['https://app.example.com'])
 * // 'cross-site request refused (Origin https://evil.example)' or null
 * ```
 */
export function checkRequestOrigin(request: RequestLike, allowed: readonly string[]): string | null {
  const origin = request.headers.get('origin');
  if (origin !== null) {
    // `Origin: null` (sandboxed frames, some redirects) matches no allowed origin (SEC-45).
    return allowed.includes(origin) ? null : `cross-site request refused (Origin ${origin.slice(0, 100)})`;
  }
  const site = request.headers.get('sec-fetch-site');
  // `same-site` is a sibling subdomain, not this origin: refused too (SEC-45).
  if (site === 'cross-site' || site === 'same-site') return `cross-site request refused (Sec-Fetch-Site ${site})`;
  return null;
}
