/**
 * Express 5 adapter (`latchkey/express`): translation only. `latchkey(manager)` puts the request's
 * {@link RequestAuth} where `getAuth(req)` finds it and writes each `Set-Cookie` the core decides onto `res` at
 * once (Express sends headers with the body, so nothing can be appended afterwards, and `res.end`
 * is never patched). The guards and the CSRF check call the core; `errorHandler()` turns store
 * failures into 503. Imports only types from `express`: no runtime dependency on it.
 *
 * `getAuth(req)` is typed by module augmentation, as in the Fastify adapter: name the user type
 * once in {@link LatchkeyTypes}, or call `getAuth<User>(req)`.
 *
 * @example
 * ```ts
 * declare module 'latchkey/express' {
 *   interface LatchkeyTypes { user: User } // getAuth(req).user(): Promise<User | null>
 * }
 * const app = express();
 * app.use(express.urlencoded({ extended: false })); // before csrfProtection(): it reads `_csrf`
 * app.use(latchkey(manager), csrfProtection());
 * app.get('/dashboard', loginRequired(), async (req, res) => {
 *   const user = await getAuth(req).requireUser(); // User: loginRequired() ran first
 *   res.send(`Hello ${user.name}`);
 * });
 * app.use(errorHandler()); // last: store down → 503, never "logged out"
 * app.listen(3000);
 * ```
 *
 * @module express
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { AnonymousUser } from './anonymous.ts';
import { isServiceUnavailable } from './errors.ts';
import { forbiddenResponse, serviceUnavailableResponse } from './lib/responses.ts';
import { checkGuardOptions, type GuardOptions } from './login-redirect.ts';
import type { LoginManager } from './manager.ts';
import type { RequestAuth } from './request-auth.ts';
import { wantsJson, type RequestLike } from './request.ts';
import { requireNode } from './lib/runtime.ts';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey/express', 'URL.parse, crypto.argon2');

/**
 * The app's user types, named once by declaration merging so that `getAuth(req)` needs no type
 * argument: `declare module 'latchkey/express' { interface LatchkeyTypes { user: User } }`, plus
 * `anonymousUser: Guest` with a custom `anonymousUser` factory. Empty, the user is `unknown`.
 */
export interface LatchkeyTypes {}

type Declared<K extends string, D> = LatchkeyTypes extends { [P in K]: infer T } ? T : D;

/** Each request's auth context; a WeakMap rather than a `req` property, so no global type clashes. */
const contexts = new WeakMap<Request, RequestAuth<unknown, unknown>>();

/**
 * The request's auth context, typed with `U` (default: the user of {@link LatchkeyTypes}); throws
 * TypeError when `latchkey(manager)` did not run for this request.
 */
export function getAuth<U = Declared<'user', unknown>, R = Declared<'anonymousUser', AnonymousUser>>(req: Request): RequestAuth<U, R> {
  const auth = contexts.get(req);
  if (!auth) throw new TypeError('latchkey(manager) must run before this middleware');
  return auth as RequestAuth<U, R>;
}

/**
 * What the core reads of `req`, without building a web `Request` (this runs on every request).
 * Neither `req.protocol` nor `req.ip`: the core applies its own `trustProxy` rule to X-Forwarded-*.
 */
function toRequestLike(req: Request): RequestLike {
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return {
    method: req.method,
    url: `${scheme}://${req.headers.host ?? 'localhost'}${req.originalUrl}`,
    headers: {
      get(name: string): string | null {
        const value = req.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
  };
}

/** Puts a decided cookie on `res`, replacing an earlier one of the same name (last decision wins). */
function putCookie(res: Response, cookie: string): void {
  const prefix = cookie.slice(0, cookie.indexOf('=') + 1);
  const current = res.getHeader('set-cookie');
  const list = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
  res.setHeader('set-cookie', [...list.filter((c) => !c.startsWith(prefix)), cookie]);
  markPrivate(res);
}

/** A response that depends on who is logged in must not be cached (SEC-25). */
function markPrivate(res: Response): void {
  if (res.headersSent) return;
  res.setHeader('cache-control', 'no-store'); // no-store keeps every cache out: no Vary needed
}

/** Sends a web `Response` of the core's on `res`, keeping the `Set-Cookie` headers already there. */
async function sendResponse(res: Response, response: globalThis.Response): Promise<void> {
  res.status(response.status);
  for (const [name, value] of response.headers) if (name !== 'set-cookie') res.setHeader(name, value);
  for (const cookie of response.headers.getSetCookie()) res.append('set-cookie', cookie);
  res.end(response.body === null ? undefined : Buffer.from(await response.arrayBuffer()));
}

/** Makes the request's auth context; its cookies go onto `res` as they are decided. */
export function latchkey<U, R = AnonymousUser>(manager: LoginManager<U, R>): RequestHandler {
  return function latchkeyMiddleware(req, res, next) {
    const auth = manager.forRequest(toRequestLike(req), {
      remoteAddress: req.socket.remoteAddress ?? null,
      onSetCookie: (cookie) => putCookie(res, cookie),
      onUse: () => markPrivate(res),
    });
    contexts.set(req, auth as RequestAuth<unknown, unknown>);
    next();
  };
}

/** Flask-Login's `login_required`: anonymous requests get the unauthorized response. */
export function loginRequired(options: GuardOptions = {}): RequestHandler {
  checkGuardOptions(options, 'loginRequired');
  return async function loginRequiredMiddleware(req, res, next) {
    const denied = await getAuth(req).requireLogin(options);
    if (denied) return sendResponse(res, denied);
    next();
  };
}

/** Flask-Login's `fresh_login_required`: stale logins get the needs-refresh response. */
export function freshLoginRequired(options: GuardOptions = {}): RequestHandler {
  checkGuardOptions(options, 'freshLoginRequired');
  return async function freshLoginRequiredMiddleware(req, res, next) {
    const denied = await getAuth(req).requireLogin({ ...options, fresh: true });
    if (denied) return sendResponse(res, denied);
    next();
  };
}

/**
 * Refuses cross-site unsafe requests and forms without a valid `_csrf` token with 403. Mount
 * `express.urlencoded()` before it, or form tokens are not seen (JSON bodies need none).
 */
export function csrfProtection(): RequestHandler {
  return async function csrfProtectionMiddleware(req, res, next) {
    const auth = getAuth(req);
    // No body parser, or a body that is not an object (express.text, express.raw): no token.
    const check = await auth.checkCsrf(() => (req.body as { _csrf?: unknown } | null | undefined)?._csrf);
    if (!check.ok) return sendResponse(res, forbiddenResponse(wantsJson(auth.request), check.reason));
    next();
  };
}

/**
 * Mount last: a failing store becomes 503 with `Retry-After` (never "logged out"), keeping the
 * `Set-Cookie` headers already on `res` (logout clears cookies even when the store is down).
 * Every other error goes on to the next error handler.
 */
export function errorHandler(): ErrorRequestHandler {
  return function latchkeyErrorHandler(err, req, res, next) {
    if (res.headersSent || !isServiceUnavailable(err)) return next(err);
    const request = contexts.get(req)?.request ?? toRequestLike(req); // a store error may come before latchkey()
    return sendResponse(res, serviceUnavailableResponse(wantsJson(request)));
  };
}
