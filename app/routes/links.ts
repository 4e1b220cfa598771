/**
 * What the routes of mailed links share (SEC-59, SEC-42): the shape of a token, the headers of
 * every page that has one in its address or its form, and the 400 answer of a link that is
 * invalid, used or expired, with the way to ask for a new one; and what a confirmed address does
 * to the sessions of its account (SEC-61, SEC-23).
 *
 * Those pages send `Referrer-Policy: strict-origin`, not `no-referrer`: under either, no `Referer`
 * ever carries a path, so none carries a token (SEC-59); but under `no-referrer` a browser sends
 * `Origin: null` with the page's form POST, which the origin check must refuse (SEC-45), and no
 * link could be used from a browser. The one hop that has nothing to post, the 303 that trades a
 * reset link for its cookie, keeps `no-referrer`.
 *
 * @module app/routes/links
 */
import { isJson, json, page } from '../answers.ts';
import type { AppContext } from '../types.ts';
import { invalidLinkPage, tokenButtonPage, type TokenAction } from '../views/recovery.ts';

/** A mailed token is 32 random bytes in base64url. Anything else is no token: no store lookup. */
export const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The headers of a page with a token in its address or form (SEC-59, SEC-45, SEC-64). */
export const TOKEN_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'referrer-policy': 'strict-origin', 'cache-control': 'no-store' });

/** The headers of an answer with no form, such as a redirect away from a token URL: no `Referer` at all. */
export const TOKEN_HOP_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });

export const INVALID_LINK = 'This link is invalid or has expired.';

/** Where to ask for a new link of each kind. */
export const ASK_AGAIN = Object.freeze({
  reset: { href: '/forgot-password', label: 'Ask for a new link' },
  verify: { href: '/account', label: 'Ask for a new link from your account page' },
  emailChange: { href: '/account', label: 'Change your address again from your account page' },
});

/** The 400 of a bad link; `headers` may add a cookie to clear. */
export async function invalidLink(c: AppContext, again: { href: string; label: string }, headers: Record<string, string> = {}): Promise<Response> {
  const all = { ...TOKEN_PAGE_HEADERS, ...headers };
  if (isJson(c)) return json(c, 400, { message: INVALID_LINK }, all);
  return page(c, invalidLinkPage(INVALID_LINK, again), 400, all);
}

/** The token of a POST: a text field that looks like one, else null. */
export function tokenField(value: string | undefined): string | null {
  return value !== undefined && TOKEN.test(value) ? value : null;
}

/**
 * After a verification or an email change is confirmed (SEC-61 "on success rotate session
 * (invalidate others)", SEC-23): when this browser is logged in to the account whose address was
 * proven, its session goes on under a new token and the account's other sessions and remember-me
 * logins end (`revokeOtherSessions`), as after a password change; proving the address may be how
 * its owner takes the account back. A confirmation from any other browser, logged out or logged in
 * to another account, changes no session: a link logs nobody in.
 */
export async function endOtherSessionsOf(c: AppContext, userId: string): Promise<void> {
  const auth = c.get('auth');
  if ((await auth.user())?.id === userId) await auth.revokeOtherSessions();
}

/**
 * The GET of a mailed link that a POST to `action.action` confirms: a page with one button that posts the
 * token, and nothing consumed (SEC-42: mail scanners follow links); a malformed token is the 400.
 */
export function openTokenLink(action: TokenAction, again: { href: string; label: string }) {
  return async (c: AppContext): Promise<Response> => {
    const token = c.req.param('token') ?? '';
    if (!TOKEN.test(token)) return invalidLink(c, again);
    if (isJson(c)) return json(c, 200, { message: `POST this token as JSON to ${action.action}.` }, TOKEN_PAGE_HEADERS);
    return page(c, (v) => tokenButtonPage(action, token, v.csrf), 200, TOKEN_PAGE_HEADERS);
  };
}
