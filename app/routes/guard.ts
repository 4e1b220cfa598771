/**
 * The CSRF check of the app's form routes: `auth.checkCsrf` (SEC-43…
 * SEC-46), run after the body was read, the same 403 and the same JSON answer. What it adds is
 * the way back on the HTML page: a browser whose form was refused (most often a form left open
 * past its session, or opened before logging in elsewhere) is offered the page that form was on,
 * taken from the `Referer` when it is a path of this app, so reloading it gets a fresh token.
 *
 * @module app/routes/guard
 */
import { safeNext } from 'latchkey';
import { isJson, json, page } from '../answers.ts';
import type { AppContext, Handler } from '../types.ts';
import { errorContent } from '../views/pages.ts';

/** POST-only paths: a link back to one of them would answer 405. */
const POST_ONLY = ['/logout', '/account/password', '/account/sessions', '/account/totp', '/account/recovery-codes', '/account/passkeys', '/login/passkey', '/login/two-factor/passkey', '/reauth/passkey'];

/**
 * The path of the page the request came from, when it is on this app's origin (the
 * `Referrer-Policy` is `strict-origin-when-cross-origin`, so a same-origin `Referer` has its path),
 * re-checked by `safeNext`; `null` when unknown, cross-origin or not a page to go back to.
 */
export function refererPath(c: AppContext): string | null {
  const origin = c.get('auth').origin;
  const referer = URL.parse(c.req.header('referer') ?? '');
  if (origin === null || referer === null || referer.origin !== origin) return null;
  const path = safeNext(referer.pathname + referer.search, { origin, fallback: '/', disallow: POST_ONLY });
  return path === '/' ? null : path;
}

/** The CSRF guard of a form route (after `readInput`). */
export function formGuard(): Handler {
  return async function formGuardMiddleware(c, next) {
    const input = c.get('input');
    const check = await c.get('auth').checkCsrf(() => input?.csrf ?? null);
    if (check.ok) return next();
    if (isJson(c)) return json(c, 403, { message: check.reason });
    return page(c, errorContent(403, inPlainWords(check.reason), undefined, { back: refererPath(c) }), 403);
  };
}

/**
 * The refusal as a person reads it: what happened, that nothing changed, what to do. The JSON
 * answer keeps the library's reason, which names the token for developers.
 */
export function inPlainWords(reason: string): string {
  if (/^cross-site/i.test(reason)) {
    return 'This form was sent from another website, so it was refused to protect your account. Nothing was changed. Open the page on this site and try again.';
  }
  return 'The page was open for a long time, or you logged in or out in another tab, so its form expired. Nothing was changed. Reload the page and try again.';
}
