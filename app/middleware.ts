/**
 * The app-wide middleware: security headers on every response (SEC-64), and the answers of a
 * known path to the methods it does not take, 405 with `Allow`, before any body is read or any
 * CSRF check runs (SEC-65, SEC-42).
 *
 * @module app/middleware
 */
import { addHeadersOnWrite, headerList, type HeadWriter } from 'latchkey/hono';
import { isJson, page, problem } from './answers.ts';
import type { AppContext, Handler, Route } from './types.ts';
import { errorContent } from './views/pages.ts';

/**
 * No inline script or style anywhere, so the policy can be this strict (SEC-64, ASVS 3.4.3);
 * `default-src 'none'` also covers `object-src`. Scripts only as files of this origin (the
 * passkey buttons, static.ts), which fetch only from it.
 */
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const HEADERS = headerList({
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'cross-origin-opener-policy': 'same-origin',
});
/** One year, the minimum HSTS preload lists accept (SEC-64: max-age ≥ 31 536 000). */
const HSTS = 'max-age=31536000; includeSubDomains';
const HSTS_HEADER = headerList({ 'strict-transport-security': HSTS });

/**
 * Runs `inner` (the latchkey middleware) with the security headers added to whatever the app
 * answers, HSTS only over HTTPS. One middleware instead of two: every layer costs every request.
 */
export function withSecurityHeaders(inner: Handler): Handler {
  return function securityHeadersMiddleware(c, next) {
    // On @hono/node-server, added to whatever is answered, error pages included, when Node writes
    // the head: cheaper than touching `c.res.headers`, which makes the server rebuild the
    // response, and than `setHeader`, which sends node:http's `writeHead` down its slow path
    // (addHeadersOnWrite, latchkey/hono).
    const outgoing = (c.env as { outgoing?: HeadWriter } | undefined)?.outgoing;
    if (outgoing !== undefined) {
      addHeadersOnWrite(outgoing, HEADERS);
      return inner(c, () => {
        if (c.get('auth').secure) addHeadersOnWrite(outgoing, HSTS_HEADER);
        return next();
      });
    }
    return (async () => {
      try {
        await inner(c, next);
      } finally {
        setOnResponse(c);
      }
    })();
  };
}

/**
 * Elsewhere (`app.request()` in tests, other runtimes): on the Response, copied if immutable. A
 * header the answer set itself wins, as it does on Node (`writeHead` over `setHeader`): the token
 * pages' own `Referrer-Policy` (SEC-59).
 */
function setOnResponse(c: AppContext): void {
  let headers = c.res.headers;
  try {
    headers.set('x-content-type-options', 'nosniff');
  } catch {
    c.res = new Response(c.res.body, c.res); // the headers of a fetched Response are immutable
    headers = c.res.headers;
  }
  for (const [name, value] of HEADERS) if (!headers.has(name)) headers.set(name, value);
  if (c.get('auth')?.secure === true) headers.set('strict-transport-security', HSTS);
}

/** The `Allow` header of a route: its methods, HEAD with GET, and OPTIONS. */
export function allowHeader(route: Route): string {
  const methods = (['GET', 'POST'] as const).filter((m) => route[m] !== undefined);
  return [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
}

/**
 * The two answers a known path gives to a method it does not take, registered behind its own
 * handlers so that the router picks them (no per-request scan of the table): 204 with `Allow`
 * for OPTIONS, 405 with `Allow` for anything else, TRACE included. Neither reads a body or runs
 * a guard or a CSRF check; `X-HTTP-Method-Override` means nothing here (SEC-65). Unknown paths
 * are the app's 404.
 */
export function methodAnswers(route: Route): { options: Handler; notAllowed: Handler } {
  const allow = allowHeader(route);
  return {
    options: async () => new Response(null, { status: 204, headers: { allow } }),
    notAllowed: async (c) => {
      const message = `Method ${c.req.method.slice(0, 20)} is not allowed here.`;
      if (isJson(c) || !allow.startsWith('POST')) return problem(c, 405, message, { headers: { allow } });
      // A browser opened the address a form posts to (a bookmark, a reload, a typed URL): say so in
      // plain words and lead on to the page that holds the form, not to a dead end.
      const form = formPageOf(c.req.path);
      return page(
        c,
        (v) =>
          errorContent(405, 'This address is where a form sends what you typed: it cannot be opened as a page. Nothing was changed.', undefined, {
            back: form.href,
            links: v.user ? [{ href: '/dashboard', label: 'Dashboard' }] : [{ href: '/login', label: 'Log in' }],
          }),
        405,
        { allow },
      );
    },
  };
}

/** The page holding the form that posts to `path`: where a browser that opened it should go. */
function formPageOf(path: string): { href: string } {
  if (path.startsWith('/account/') || path === '/verify-email/resend') return { href: '/account' };
  if (path.startsWith('/login/')) return { href: '/login' };
  return { href: '/' };
}
