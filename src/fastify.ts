/**
 * Fastify 5 adapter (`latchkey/fastify`): translation only. The `latchkey` plugin decorates each
 * request with its {@link RequestAuth} (`request.auth`, set in an `onRequest` hook), appends the
 * `Set-Cookie` headers the core decided in an `onSend` hook (the reply is never patched) and turns
 * store failures into 503. It carries fastify-plugin's metadata, written here rather than
 * depending on that package, so it is not encapsulated: its decorator and hooks reach every route
 * of the scope that registers it. The guards are `preHandler` hooks. `csrfProtection()` is a
 * `preValidation` hook that reads `_csrf` from `request.body`, as the app's own content-type parser
 * left it: Fastify owns body parsing (parsers, `bodyLimit`, 415 for a type nobody parses), so the
 * adapter parses nothing itself, as `@fastify/csrf-protection` does. Imports only types from `fastify`.
 *
 * `request.auth` is typed by module augmentation, which cannot take a type parameter per app: name
 * the user type once in {@link LatchkeyTypes}, or call `getAuth<User>(request)`.
 *
 * @example
 * ```ts
 * declare module 'latchkey/fastify' {
 *   interface LatchkeyTypes { user: User } // request.auth.user(): Promise<User | null>
 * }
 * const app = Fastify();
 * await app.register(formbody); // @fastify/formbody, or any urlencoded parser: forms carry `_csrf`
 * await app.register(latchkey, { manager });
 * app.addHook('preValidation', csrfProtection());
 * app.get('/dashboard', { preHandler: loginRequired() }, async (request) => {
 *   const user = await request.auth.requireUser(); // User: loginRequired() ran first
 *   return `Hello ${user.name}`;
 * });
 * await app.listen({ port: 3000 });
 * ```
 *
 * @module fastify
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, onErrorHookHandler, onRequestHookHandler, onSendHookHandler } from 'fastify';
import type { AnonymousUser } from './anonymous.ts';
import { isServiceUnavailable } from './errors.ts';
import { forbiddenResponse, serviceUnavailableResponse } from './lib/responses.ts';
import { checkGuardOptions, type GuardOptions } from './login-redirect.ts';
import type { LoginManager } from './manager.ts';
import type { RequestAuth } from './request-auth.ts';
import { wantsJson, type RequestLike } from './request.ts';
import { requireNode } from './lib/runtime.ts';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey/fastify', 'URL.parse, crypto.argon2');

/**
 * The app's user types, named once by declaration merging so that `request.auth` needs no type
 * argument: `declare module 'latchkey/fastify' { interface LatchkeyTypes { user: User } }`, plus
 * `anonymousUser: Guest` with a custom `anonymousUser` factory. Empty, the user is `unknown`.
 */
export interface LatchkeyTypes {}

type Declared<K extends string, D> = LatchkeyTypes extends { [P in K]: infer T } ? T : D;

/** The type of `request.auth`: the request's auth context, with the user types of {@link LatchkeyTypes}. */
export type FastifyAuth = RequestAuth<Declared<'user', unknown>, Declared<'anonymousUser', AnonymousUser>>;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The request's auth context, set by the latchkey plugin's `onRequest` hook. Only on routes of
     * the scope that registered the plugin (or its children); {@link getAuth} checks that.
     */
    auth: FastifyAuth;
  }
}

/** Options of the {@link latchkey} plugin. */
export interface LatchkeyPluginOptions {
  /** The app's login manager, of the user types declared in {@link LatchkeyTypes}. */
  readonly manager: LoginManager<Declared<'user', unknown>, Declared<'anonymousUser', AnonymousUser>>;
}

/** A hook for `preHandler` or `preValidation`, on a route (`{ preHandler: loginRequired() }`) or with `addHook`. */
export type LatchkeyHook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * The request's auth context, typed with `U` (default: the user of {@link LatchkeyTypes}); throws
 * TypeError when the latchkey plugin is not registered in this route's scope.
 */
export function getAuth<U = Declared<'user', unknown>, R = Declared<'anonymousUser', AnonymousUser>>(request: FastifyRequest): RequestAuth<U, R> {
  const auth = request.auth as unknown as RequestAuth<U, R> | null | undefined;
  if (!auth) throw new TypeError('register the latchkey plugin in this scope before using its hooks');
  return auth;
}

/**
 * What the core reads of the request, without building a web `Request` (this runs on every
 * request). Neither `request.protocol` nor `request.ip`: they follow Fastify's `trustProxy`,
 * and the core applies its own rule to X-Forwarded-* (SEC-53).
 */
function toRequestLike(request: FastifyRequest): RequestLike {
  const headers = request.headers;
  const scheme = (request.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http';
  const host = headers.host ?? (headers[':authority'] as string | undefined) ?? 'localhost'; // HTTP/2 sends :authority
  return {
    method: request.method,
    url: `${scheme}://${host}${request.url}`,
    headers: {
      get(name: string): string | null {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
  };
}

/**
 * Responses that depend on who is logged in must not be cached (SEC-25). `no-store` keeps every
 * cache out, so no `Vary: Cookie` is needed beside it.
 */
const NO_STORE = 'no-store';

async function latchkeyPlugin(fastify: FastifyInstance, options: LatchkeyPluginOptions): Promise<void> {
  const manager = options?.manager;
  if (typeof manager?.forRequest !== 'function') throw new TypeError('register latchkey with { manager }, a LoginManager');
  /** Requests whose handler or hooks failed on a store or the hasher: their answer becomes 503. */
  const unavailable = new WeakSet<FastifyRequest>();

  fastify.decorateRequest('auth', null, []);

  const onRequest: onRequestHookHandler = function latchkeyOnRequest(request, _reply, done) {
    request.auth = manager.forRequest(toRequestLike(request), { remoteAddress: request.socket?.remoteAddress ?? null });
    done();
  };

  // onError hooks see the error before the error handler answers, and may not answer themselves.
  const onError: onErrorHookHandler = function latchkeyOnError(request, _reply, error, done) {
    if (isServiceUnavailable(error)) unavailable.add(request);
    done();
  };

  const onSend: onSendHookHandler = function latchkeyOnSend(request, reply, payload, done) {
    const auth = request.auth as FastifyAuth | null;
    let body: unknown = payload;
    // A store or the hasher is down: 503 with Retry-After, never "logged out", unless the app's
    // own error handler already said 503. Fastify sends a web Response's status, headers and body.
    if (unavailable.has(request) && reply.statusCode !== 503) {
      reply.removeHeader('content-length');
      body = serviceUnavailableResponse(wantsJson(auth?.request ?? toRequestLike(request)));
    }
    if (auth !== null && auth !== undefined) {
      const cookies = auth.setCookies();
      for (const cookie of cookies) reply.header('set-cookie', cookie);
      if ((cookies.length > 0 || auth.used) && !reply.hasHeader('cache-control')) reply.header('cache-control', NO_STORE);
    }
    done(null, body);
  };

  fastify.addHook('onRequest', onRequest);
  fastify.addHook('onError', onError);
  fastify.addHook('onSend', onSend);
}

/**
 * The plugin: `await app.register(latchkey, { manager })`. Not encapsulated (fastify-plugin's
 * `skip-override`), named `latchkey` for `app.hasPlugin('latchkey')`, for Fastify 5.
 */
export const latchkey: FastifyPluginAsync<LatchkeyPluginOptions> = Object.assign(latchkeyPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'latchkey',
  [Symbol.for('plugin-meta')]: { name: 'latchkey', fastify: '5.x' },
});

/** Flask-Login's `login_required`: anonymous requests get the unauthorized response. */
export function loginRequired(options: GuardOptions = {}): LatchkeyHook {
  checkGuardOptions(options, 'loginRequired');
  return async function loginRequiredHook(request, reply) {
    const denied = await getAuth(request).requireLogin(options);
    if (denied) return reply.send(denied); // returning the reply ends the hooks (Fastify's "respond from a hook")
  };
}

/** Flask-Login's `fresh_login_required`: stale logins get the needs-refresh response. */
export function freshLoginRequired(options: GuardOptions = {}): LatchkeyHook {
  checkGuardOptions(options, 'freshLoginRequired');
  return async function freshLoginRequiredHook(request, reply) {
    const denied = await getAuth(request).requireLogin({ ...options, fresh: true });
    if (denied) return reply.send(denied);
  };
}

/**
 * Refuses cross-site unsafe requests and forms without a valid `_csrf` token with 403. Add it as a
 * `preValidation` hook, after a urlencoded parser (`@fastify/formbody`): it reads `request.body._csrf`
 * and sees no token in a body that is not an object (Fastify's text/plain parser, a Buffer). For
 * multipart, send `X-CSRF-Token` or use `@fastify/multipart` with `attachFieldsToBody: 'keyValues'`.
 */
export function csrfProtection(): LatchkeyHook {
  return async function csrfProtectionHook(request, reply) {
    const auth = getAuth(request);
    const check = await auth.checkCsrf(() => (request.body as { _csrf?: unknown } | null | undefined)?._csrf);
    if (!check.ok) return reply.send(forbiddenResponse(wantsJson(auth.request), check.reason));
  };
}
