/**
 * The app-wide middleware: security headers on every response (SEC-64), the method table that
 * answers 404 for unknown paths and 405 with `Allow` for known paths before any body is read or
 * any CSRF check runs (SEC-65, SEC-42), and the CSRF check of POST routes (SEC-43…SEC-46).
 *
 * @module app/middleware
 */
import { problem, type Handler, type Route } from './http.ts';

/**
 * No inline script or style anywhere, so the policy can be this strict (SEC-64, ASVS 3.4.3);
 * `default-src 'none'` also covers `object-src`.
 */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const HEADERS: readonly (readonly [string, string])[] = [
  ['content-security-policy', CSP],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'strict-origin-when-cross-origin'],
  ['cross-origin-opener-policy', 'same-origin'],
];
/** One year, the minimum HSTS preload lists accept (SEC-64: max-age ≥ 31 536 000). */
const HSTS = 'max-age=31536000; includeSubDomains';

interface OutgoingLike {
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
}

/** Adds the security headers to whatever the app answered, HSTS only over HTTPS. */
export function securityHeaders(): Handler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const secure = c.get('auth')?.secure === true;
    // On @hono/node-server, Node's response takes the headers and `writeHead` merges them: cheaper
    // than touching `c.res.headers`, which makes the server rebuild the response (see latchkey/hono).
    const outgoing = (c.env as { outgoing?: OutgoingLike } | undefined)?.outgoing;
    if (outgoing && !outgoing.headersSent) {
      for (const [name, value] of HEADERS) outgoing.setHeader(name, value);
      if (secure) outgoing.setHeader('strict-transport-security', HSTS);
      return;
    }
    let headers = c.res.headers;
    try {
      headers.set(HEADERS[0]![0], HEADERS[0]![1]);
    } catch {
      c.res = new Response(c.res.body, c.res); // the headers of a fetched Response are immutable
      headers = c.res.headers;
    }
    for (const [name, value] of HEADERS) headers.set(name, value);
    if (secure) headers.set('strict-transport-security', HSTS);
  };
}

/** A path of the route table as a matcher: `:id` is one segment. */
function matcher(path: string): RegExp {
  const source = path.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
  return new RegExp(`^${source}$`);
}

/**
 * 404 for a path no route has, 405 with `Allow` for a method the path does not take (TRACE
 * included), 204 with `Allow` for OPTIONS; runs first, so a wrong method never reaches a body
 * parser or a guard. `X-HTTP-Method-Override` means nothing here (SEC-65).
 */
export function methodTable(routes: readonly Route[]): Handler {
  const table = routes.map((route) => {
    const methods = (['GET', 'POST'] as const).filter((m) => route[m] !== undefined);
    const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'];
    return { match: matcher(route.path), allow, header: allow.join(', ') };
  });
  return async function methodTableMiddleware(c, next) {
    const entry = table.find((e) => e.match.test(c.req.path));
    if (entry === undefined) return problem(c, 404, 'Page not found.');
    if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: { allow: entry.header } });
    if (!entry.allow.includes(c.req.method)) return problem(c, 405, `Method ${c.req.method.slice(0, 20)} is not allowed here.`, { headers: { allow: entry.header } });
    return next();
  };
}
