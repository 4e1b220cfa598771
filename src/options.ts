/**
 * The login manager's options, checked once at construction into a frozen object: nothing on the
 * request path re-reads or re-validates configuration. Defaults follow
 * the security requirements §0.1 and §5.
 *
 * @module options
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { MAX_COOKIE_AGE } from './cookie.ts';
import { requireDuration } from './duration.ts';
import { MAKE_SECRET, requireSecretKey } from './lib/secret.ts';
import { resolveCacheOptions, type CacheOptions, type ResolvedCacheOptions } from './lib/expiring-cache.ts';
import { isView, loginUrl } from './next.ts';
import { resolveTrustProxy } from './proxy.ts';
import type { RequestLike } from './request.ts';
import type { Store } from './store.ts';

/** Session protection (Flask-Login's `session_protection`); see {@link LoginManagerOptions}. */
export type SessionProtection = 'basic' | 'strong' | null;

/** Anything a `loadUser` or `requestLoader` may return. */
type Loaded<U> = U | null | undefined | Promise<U | null | undefined>;

/** What `createLoginManager` takes. Only `store`, `secret` and one loader are required. */
export interface LoginManagerOptions<U, R = never> {
  /** Where sessions and remember-me tokens live (`latchkey/sqlite`, `/postgres`, `/redis`). */
  store: Store;
  /** ≥ 32 bytes of secret for CSRF tokens and signed cookies. An array rotates keys: the first signs, all verify. */
  secret: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Flask-Login's `user_loader`: the user with this id, or null. Called lazily, once per request. */
  loadUser?: (id: string) => Loaded<U>;
  /** Flask-Login's `request_loader`: authenticates a request by API key or bearer token; never creates a session. */
  requestLoader?: (request: RequestLike) => Loaded<U>;
  /** The id to store for a user (Flask-Login's `get_id`). @default `String(user.id)` */
  getUserId?: (user: U) => string;
  /** Whether a user may log in and stay logged in. @default `user.isActive !== false && user.active !== false` */
  isActive?: (user: U) => boolean;
  /** What `currentUser()` returns for nobody (Flask-Login's `anonymous_user`). */
  anonymousUser?: () => R;
  /** Where `unauthorized()` redirects browsers; null answers 401. Flask-Login's `login_view`. @default null */
  loginView?: string | null;
  /** Where `needsRefresh()` redirects browsers; null answers 401. @default null */
  refreshView?: string | null;
  /** Flashed by `unauthorized()` and sent as JSON `message`; null flashes nothing. @default "Please log in to access this page." */
  loginMessage?: string | null;
  /** @default "message" */
  loginMessageCategory?: string;
  /** @default "Please reauthenticate to access this page." */
  needsRefreshMessage?: string | null;
  /** @default "message" */
  needsRefreshMessageCategory?: string;
  /** Translates both messages (Flask-Login's `localize_callback`). */
  localize?: (message: string) => string;
  /** Keep `next` in a signed cookie instead of the query string (`USE_SESSION_FOR_NEXT`). @default false */
  useSessionForNext?: boolean;
  /** Pin the host of login redirects (`FORCE_HOST_FOR_REDIRECTS`). @default null */
  forceHostForRedirects?: string | null;
  /**
   * Flask-Login's session protection, on a User-Agent fingerprint (never the IP, so that mobile users
   * who change networks stay logged in: Flask-Login #192). `basic`: a mismatch makes the login
   * non-fresh; `strong`: a mismatch ends the session and its remember-me series. It is a heuristic
   * that limits what a stolen cookie can do, not a defence on its own. @default "basic"
   */
  sessionProtection?: SessionProtection;
  /**
   * Inactivity that ends a session (ASVS 7.3.1). The sliding expiry is written at most once per
   * tenth of it (at most once a minute), so that most requests only read: a user whose requests are
   * less than 0.9 × idleTimeout apart is never logged out, and a session ends at most idleTimeout
   * after its last request. @default "30m"
   */
  idleTimeout?: number | string;
  /** Age that ends a session whatever the activity (ASVS 7.3.2). @default "24h" */
  absoluteTimeout?: number | string;
  /** How long after a password entry a login counts as fresh (SEC-35); null: for the whole session, as in Flask-Login. @default "10m" */
  freshTimeout?: number | string | null;
  /** How long a pending second step lives, on the store's clock: at most 15 minutes (SEC-80, second-step.ts). @default "5m" */
  secondStepTimeout?: number | string;
  /** Lifetime of a remember-me login (SEC-36, the security requirements §5.5). @default "30d" */
  rememberDuration?: number | string;
  /** How long a just-replaced remember validator is still accepted, for parallel requests (SEC-39). @default "30s" */
  rememberGrace?: number | string;
  /** @default "Lax" (the security requirements §5.3) */
  sameSite?: 'Lax' | 'Strict';
  /** Base cookie names; `__Host-` is prefixed over HTTPS. @default { session: "session", remember: "remember_token" } */
  cookieNames?: { session?: string; remember?: string };
  /**
   * Honour `X-Forwarded-For` and `X-Forwarded-Proto` from the proxies you run in front of the app,
   * as Express's `trust proxy` with a hop count: `true` is one proxy, a number (0 to 10) is how many.
   * Of each header, the entry the outermost of them appended is read (see `proxy.ts`); a malformed
   * one counts as absent. More hops than you run lets a client choose its own IP (SEC-53). @default false
   */
  trustProxy?: boolean | number;
  /**
   * Origins whose unsafe requests are accepted: your app's, e.g. `["https://app.example.com"]`
   * (SEC-45: the target origin comes from configuration). Empty takes the origin from the request's
   * own URL, that is its `Host` header, which is convenient in development; with
   * `NODE_ENV=production`, an empty list throws unless `trustHostHeaderForOrigin` says so. @default []
   */
  trustedOrigins?: readonly string[];
  /**
   * Opt-out: with `NODE_ENV=production` and no `trustedOrigins`, accept the `Host` header as the
   * app's origin for the CSRF origin check instead of refusing to start. Only when whatever is in
   * front of the app admits no other `Host` than yours: a request that reaches the app under another
   * host name passes the origin check for that host (SEC-45). @default false
   */
  trustHostHeaderForOrigin?: boolean;
  /**
   * A CSRF 403 tells the developer what was missing and how to fix it (a `_csrf` input from
   * `auth.csrfToken()`, or `X-CSRF-Token`), not the end user's "reload the page"; nothing secret
   * is shown. Read once, at construction. @default `process.env.NODE_ENV !== "production"`
   */
  explainCsrfFailures?: boolean;
  /** A store call that takes longer fails with `ERR_LATCHKEY_STORE_TIMEOUT` (a 503). @default "2s" */
  storeTimeout?: number | string;
  /**
   * Reuse a session the store returned, and its user, for up to `ttl` (≤ 5 s, R-07)
   * in this process, instead of a store read and a `loadUser` call per request. Writes made
   * through this manager take effect here at once; revocations made by other instances, and
   * expiry, lag by up to `ttl`. See `session-cache.ts`. @default null (every request reads the store)
   */
  sessionCache?: CacheOptions;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Cryptographically secure random bytes. @default crypto.randomBytes */
  randomBytes?: (size: number) => Uint8Array;
}

/** The validated, frozen form the manager and every request context read. */
export interface ResolvedOptions<U, R> {
  readonly store: Store;
  readonly keys: readonly Uint8Array[];
  readonly loadUser: ((id: string) => Loaded<U>) | null;
  readonly requestLoader: ((request: RequestLike) => Loaded<U>) | null;
  readonly getUserId: (user: U) => string;
  readonly isActive: (user: U) => boolean;
  readonly anonymousUser: (() => R) | null;
  readonly loginView: string | null;
  readonly refreshView: string | null;
  readonly loginMessage: string | null;
  readonly loginMessageCategory: string;
  readonly needsRefreshMessage: string | null;
  readonly needsRefreshMessageCategory: string;
  readonly localize: (message: string) => string;
  readonly useSessionForNext: boolean;
  readonly forceHostForRedirects: string | null;
  readonly sessionProtection: SessionProtection;
  readonly idleTimeout: number;
  readonly absoluteTimeout: number;
  readonly freshTimeout: number | null;
  readonly secondStepTimeout: number;
  readonly rememberDuration: number;
  readonly rememberGrace: number;
  readonly sameSite: 'Lax' | 'Strict';
  readonly cookieNames: { readonly session: string; readonly remember: string };
  /** How many proxies in front are trusted; 0: none. */
  readonly trustProxy: number;
  readonly trustedOrigins: readonly string[];
  readonly explainCsrfFailures: boolean;
  readonly storeTimeout: number;
  readonly sessionCache: ResolvedCacheOptions;
  readonly now: () => number;
  readonly randomBytes: (size: number) => Uint8Array;
}

const STORE_METHODS = [
  'createSession', 'getSession', 'updateSession', 'deleteSession', 'listUserSessions', 'deleteUserSessions',
  'createRememberToken', 'useRememberToken', 'deleteRememberToken', 'deleteUserRememberTokens',
] as const;
const COOKIE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A remember-me lifetime in ms (the manager's `rememberDuration`, a login's `duration`): at least
 * a second, and never longer than a browser keeps a cookie (RFC 6265bis, {@link MAX_COOKIE_AGE}),
 * which would cut it short in the browser rather than in the store. Throws TypeError.
 */
export function requireRememberDuration(name: string, value: unknown): number {
  const lifetime = requireDuration(name, value, 1000);
  if (lifetime > MAX_COOKIE_AGE * 1000) throw new TypeError(`${name} cannot exceed 400 days (RFC 6265bis)`);
  return lifetime;
}

function optionalFunction<F>(name: string, value: F | undefined): F | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function`);
  return value;
}

function view(name: string, value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (!isView(value)) {
    throw new TypeError(`${name} must be a path starting with "/" or an http(s) URL`);
  }
  return value;
}

function message(name: string, value: string | null | undefined, fallback: string): string | null {
  if (value === undefined) return fallback;
  if (value !== null && typeof value !== 'string') throw new TypeError(`${name} must be a string or null`);
  return value;
}

function forceHost(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  loginUrl('/', { next: '/', forceHost: value }); // throws TypeError for anything but host[:port]
  return value;
}

function defaultUserId(user: unknown): string {
  const id = (user as { id?: unknown } | null)?.id;
  if (id === undefined || id === null) throw new TypeError('the user has no `id`: pass getUserId to createLoginManager');
  return String(id);
}

function defaultIsActive(user: unknown): boolean {
  const u = user as { isActive?: unknown; active?: unknown };
  return u.isActive !== false && u.active !== false;
}

/** Validates `options` and fills in defaults; throws TypeError on misuse. */
export function resolveOptions<U, R>(options: LoginManagerOptions<U, R>): ResolvedOptions<U, R> {
  if (!options || typeof options !== 'object') throw new TypeError('createLoginManager needs an options object');
  const { store } = options;
  if (!store || typeof store !== 'object') throw new TypeError('store is required');
  for (const method of STORE_METHODS) {
    if (typeof store[method] !== 'function') throw new TypeError(`store lacks the method ${method}()`);
  }
  const secrets = Array.isArray(options.secret) ? options.secret : [options.secret];
  if (secrets.length === 0) throw new TypeError(`secret is an empty list: pass 32+ random bytes, e.g. from \`${MAKE_SECRET}\``);
  const loadUser = optionalFunction('loadUser', options.loadUser);
  const requestLoader = optionalFunction('requestLoader', options.requestLoader);
  if (!loadUser && !requestLoader) throw new TypeError('createLoginManager needs loadUser or requestLoader');
  const protection = options.sessionProtection === undefined ? 'basic' : options.sessionProtection;
  if (protection !== null && protection !== 'basic' && protection !== 'strong') {
    throw new TypeError('sessionProtection must be "basic", "strong" or null');
  }
  const sameSite = options.sameSite ?? 'Lax';
  if (sameSite !== 'Lax' && sameSite !== 'Strict') throw new TypeError('sameSite must be "Lax" or "Strict"');
  const names = { session: options.cookieNames?.session ?? 'session', remember: options.cookieNames?.remember ?? 'remember_token' };
  for (const name of Object.values(names)) {
    if (!COOKIE_NAME.test(name)) throw new TypeError(`invalid cookie name: ${name}`);
  }
  if (names.session === names.remember) throw new TypeError('the session and remember cookies need different names');
  const origins = options.trustedOrigins ?? [];
  for (const origin of origins) {
    if (typeof origin !== 'string' || !URL.canParse(origin) || new URL(origin).origin !== origin) {
      throw new TypeError(`trustedOrigins entries must be origins such as "https://app.example.com", got ${String(origin)}`);
    }
  }
  if (options.trustHostHeaderForOrigin !== undefined && typeof options.trustHostHeaderForOrigin !== 'boolean') {
    throw new TypeError('trustHostHeaderForOrigin must be a boolean');
  }
  if (origins.length === 0 && options.trustHostHeaderForOrigin !== true && globalThis.process?.env?.NODE_ENV === 'production') {
    throw new TypeError(
      'trustedOrigins is required with NODE_ENV=production: the CSRF origin check must compare with your configured origin, never the Host header (SEC-45); ' +
        'pass trustedOrigins: ["https://your.app"], or trustHostHeaderForOrigin: true if only your own host name can reach the app',
    );
  }
  const explainCsrfFailures = options.explainCsrfFailures ?? globalThis.process?.env?.NODE_ENV !== 'production';
  if (typeof explainCsrfFailures !== 'boolean') throw new TypeError('explainCsrfFailures must be a boolean');
  const idleTimeout = requireDuration('idleTimeout', options.idleTimeout ?? '30m', 1000);
  const absoluteTimeout = requireDuration('absoluteTimeout', options.absoluteTimeout ?? '24h', 1000);
  if (idleTimeout > absoluteTimeout) throw new TypeError('idleTimeout cannot be longer than absoluteTimeout');
  const rememberDuration = requireRememberDuration('rememberDuration', options.rememberDuration ?? '30d');
  const secondStepTimeout = requireDuration('secondStepTimeout', options.secondStepTimeout === undefined ? '5m' : options.secondStepTimeout, 1000);
  if (secondStepTimeout > 900_000) throw new TypeError('secondStepTimeout cannot exceed 15 minutes (SEC-80)');
  return Object.freeze({
    store,
    keys: Object.freeze(secrets.map((secret) => requireSecretKey('', secret))),
    loadUser,
    requestLoader,
    getUserId: optionalFunction('getUserId', options.getUserId) ?? defaultUserId,
    isActive: optionalFunction('isActive', options.isActive) ?? defaultIsActive,
    anonymousUser: optionalFunction('anonymousUser', options.anonymousUser),
    loginView: view('loginView', options.loginView),
    refreshView: view('refreshView', options.refreshView),
    loginMessage: message('loginMessage', options.loginMessage, 'Please log in to access this page.'),
    loginMessageCategory: options.loginMessageCategory ?? 'message',
    needsRefreshMessage: message('needsRefreshMessage', options.needsRefreshMessage, 'Please reauthenticate to access this page.'),
    needsRefreshMessageCategory: options.needsRefreshMessageCategory ?? 'message',
    localize: optionalFunction('localize', options.localize) ?? ((text: string) => text),
    useSessionForNext: options.useSessionForNext === true,
    forceHostForRedirects: forceHost(options.forceHostForRedirects),
    sessionProtection: protection,
    idleTimeout,
    absoluteTimeout,
    freshTimeout: options.freshTimeout === null ? null : requireDuration('freshTimeout', options.freshTimeout ?? '10m', 1),
    secondStepTimeout,
    rememberDuration,
    rememberGrace: requireDuration('rememberGrace', options.rememberGrace ?? '30s'),
    sameSite,
    cookieNames: Object.freeze(names),
    trustProxy: resolveTrustProxy(options.trustProxy),
    trustedOrigins: Object.freeze([...origins]),
    explainCsrfFailures,
    storeTimeout: requireDuration('storeTimeout', options.storeTimeout ?? '2s', 1),
    sessionCache: resolveCacheOptions('sessionCache', options.sessionCache),
    now: optionalFunction('now', options.now) ?? Date.now,
    randomBytes: optionalFunction('randomBytes', options.randomBytes) ?? ((size: number) => nodeRandomBytes(size)),
  });
}
