/**
 * Hono adapter (`latchkey/hono`): translation only. `latchkey(manager)` puts the request's
 * {@link RequestAuth} in `c.var.auth`, runs the handler, then appends the `Set-Cookie` headers the
 * core decided and turns store failures into 503. The guards and the CSRF check call the core.
 *
 * @example
 * ```ts
 * const app = new Hono<LatchkeyEnv<User>>();
 * app.use(latchkey(manager), csrfProtection());
 * app.get('/dashboard', loginRequired(), async (c) => c.text(`Hello ${(await c.var.auth.requireUser()).name}`));
 * ```
 *
 * @module hono
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AnonymousUser } from './anonymous.ts';
import { isServiceUnavailable } from './errors.ts';
import { forbiddenResponse, serviceUnavailableResponse } from './lib/responses.ts';
import { addHeadersOnWrite, headerList, type HeadWriter } from './lib/write-head.ts';
import { checkGuardOptions, type GuardOptions } from './login-redirect.ts';
import type { LoginManager } from './manager.ts';
import type { RequestAuth } from './request-auth.ts';
import { wantsJson, type RequestLike } from './request.ts';
import { requireNode } from './lib/runtime.ts';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey/hono', 'URL.parse, crypto.argon2');

/**
 * For an app's own headers on every answer (security headers) on @hono/node-server:
 * `addHeadersOnWrite(c.env.outgoing, SECURITY)`, with `SECURITY = headerList({…})` made once,
 * adds them when Node writes the head, unless the answer sets them, without `setHeader`'s cost
 * (lib/write-head).
 */
export { addHeadersOnWrite, headerList, type HeaderList, type HeadWriter } from './lib/write-head.ts';

/** The Hono `Env` of an app that uses latchkey: `c.var.auth` is the request's auth context. */
export type LatchkeyEnv<U, R = AnonymousUser> = { Variables: { auth: RequestAuth<U, R> } };

function authOf(c: Context): RequestAuth<unknown, unknown> {
  const auth = c.get('auth') as RequestAuth<unknown, unknown> | undefined;
  if (!auth) throw new TypeError('latchkey(manager) must run before this middleware');
  return auth;
}

/** What @hono/node-server puts in `c.env.incoming`: Node's request, whose headers are a plain object. */
interface IncomingLike {
  headers?: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
}

/**
 * On @hono/node-server, reads headers from Node's plain header object: reading `c.req.raw.headers`
 * would make the server build a full `Headers` object for every request, which cost more than
 * everything latchkey does per request (measured with bench/protected.ts).
 */
function fromIncoming(raw: Request, headers: Record<string, string | string[] | undefined>): RequestLike {
  return {
    method: raw.method,
    url: raw.url,
    headers: {
      get(name: string): string | null {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
  };
}

/** Makes the request's auth context and commits its cookies after the handler. */
export function latchkey<U, R = AnonymousUser>(manager: LoginManager<U, R>): MiddlewareHandler<LatchkeyEnv<U, R>> {
  return async function latchkeyMiddleware(c, next) {
    const env = c.env as { incoming?: IncomingLike; outgoing?: HeadWriter } | undefined;
    const incoming = env?.incoming;
    const request = incoming?.headers ? fromIncoming(c.req.raw, incoming.headers) : c.req.raw;
    const auth = manager.forRequest(request, { remoteAddress: incoming?.socket?.remoteAddress ?? null });
    c.set('auth', auth);
    await next();
    // A store or the hasher is down: 503, unless the app's own error handler already said so.
    if (c.error && isServiceUnavailable(c.error) && c.res.status !== 503) {
      c.res = serviceUnavailableResponse(wantsJson(c.req.raw));
    }
    const cookies = auth.setCookies();
    if (cookies.length === 0) {
      if (!auth.used) return;
      // Only `Cache-Control` to add: on @hono/node-server, to Node's response as it writes its
      // head (a header the app set on its Response still wins). Touching `c.res.headers` would
      // make the server rebuild the response the slow way, and `setHeader` would send node:http's
      // `writeHead` down its slow path (lib/write-head).
      if (env?.outgoing && !env.outgoing.headersSent) {
        addHeadersOnWrite(env.outgoing, NO_STORE_HEADER);
        return;
      }
    }
    try {
      appendAuthHeaders(c.res.headers, cookies);
    } catch {
      c.res = new Response(c.res.body, c.res); // headers of a fetched Response are immutable
      appendAuthHeaders(c.res.headers, cookies);
    }
  };
}

/**
 * Responses that depend on who is logged in must not be cached (SEC-25). `no-store` keeps every
 * cache out, so no `Vary: Cookie` is needed beside it.
 */
const NO_STORE = 'no-store';
const NO_STORE_HEADER = headerList({ 'cache-control': NO_STORE });

function appendAuthHeaders(headers: Headers, cookies: readonly string[]): void {
  for (const cookie of cookies) headers.append('set-cookie', cookie);
  if (!headers.has('cache-control')) headers.set('cache-control', NO_STORE);
}

/** Flask-Login's `login_required`: anonymous requests get the unauthorized response. */
export function loginRequired(options: GuardOptions = {}): MiddlewareHandler {
  checkGuardOptions(options, 'loginRequired');
  return async function loginRequiredMiddleware(c, next) {
    const denied = await authOf(c).requireLogin(options);
    if (denied) return denied;
    await next();
  };
}

/** Flask-Login's `fresh_login_required`: stale logins get the needs-refresh response. */
export function freshLoginRequired(options: GuardOptions = {}): MiddlewareHandler {
  checkGuardOptions(options, 'freshLoginRequired');
  return async function freshLoginRequiredMiddleware(c, next) {
    const denied = await authOf(c).requireLogin({ ...options, fresh: true });
    if (denied) return denied;
    await next();
  };
}

/**
 * Refuses cross-site unsafe requests and forms without a valid `_csrf` token with 403. It reads
 * form bodies to find the token: put Hono's `bodyLimit()` before it (ASVS 15.3.6, SEC-74).
 */
export function csrfProtection(): MiddlewareHandler {
  return async function csrfProtectionMiddleware(c, next) {
    const check = await authOf(c).checkCsrf(async () => {
      try {
        const field = (await c.req.parseBody())['_csrf'];
        return typeof field === 'string' ? field : null;
      } catch {
        return null; // an unparseable body carries no token
      }
    });
    if (!check.ok) return forbiddenResponse(wantsJson(c.req.raw), check.reason);
    await next();
  };
}
