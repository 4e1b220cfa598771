/**
 * The round trip through the login page. On the way out, a guard that refuses a request answers
 * JSON 401/403 to API clients and, to browsers, redirects to the login or refresh view with the
 * message flashed and the page asked for in `?next=` or, with `useSessionForNext`, in a signed
 * `lk-next` cookie (Flask-Login's `unauthorized` / `needs_refresh`, SEC-48). On the way back,
 * {@link resolveNextTarget} reads that target from the form, the query or the cookie and lets only
 * a same-origin path through {@link safeNext} (SEC-49). The writer and the reader of `lk-next` live
 * here together so that they agree on its name and signing purpose.
 *
 * Both act for one request, handed its facts (with its `flash`) and its cookie jar explicitly.
 *
 * @module login-redirect
 */
import type { CookieJar } from './cookie-jar.ts';
import type { Core, RequestFacts } from './core.ts';
import { jsonResponse, redirectResponse, textResponse } from './lib/responses.ts';
import { isView, loginUrl, makeNextParam, safeNext } from './next.ts';
import type { ResolvedOptions } from './options.ts';
import { wantsJson } from './request.ts';
import { signValue, verifyValue } from './signed.ts';

/** Options of the guards: per-router login and refresh views (Flask-Login's blueprint_login_views). */
export interface GuardOptions {
  /** Override the manager's loginView for this route or router; null answers 401. */
  loginView?: string | null;
  /** Override the manager's refreshView; null answers 401. */
  refreshView?: string | null;
  /**
   * Where to come back to after logging in or re-authenticating, instead of this request's URL:
   * for POST-only routes, whose URL cannot be opened with GET (a same-origin path).
   */
  next?: string;
}

/**
 * Checks a guard's options once: where a guard is built (`loginRequired(options)`), and at the
 * top of `unauthorized` / `needsRefresh` for direct callers, before anything is flashed or any
 * cookie decided (STYLE §7: misuse throws TypeError, early). Views follow the manager's rule
 * (a path or an http(s) URL, or null); `next` must be a same-origin path.
 */
export function checkGuardOptions(options: unknown, owner = 'guard'): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new TypeError(`${owner}: options must be an object`);
  const { loginView, refreshView, next } = options as Record<string, unknown>;
  for (const [name, value] of [['loginView', loginView], ['refreshView', refreshView]] as const) {
    if (value !== undefined && value !== null && !isView(value)) {
      throw new TypeError(`${owner}: ${name} must be a path starting with "/", an http(s) URL or null`);
    }
  }
  if (next !== undefined && (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\'))) {
    throw new TypeError(`${owner}: the guard option next must be a same-origin path such as "/account"`);
  }
}

/**
 * What `requireUser()` throws when nobody is logged in: it is only valid behind `loginRequired()`,
 * so reaching it anonymous is a route without its guard (misuse, TypeError), never a 401 to send.
 */
export function missingGuard(): never {
  throw new TypeError('requireUser(): nobody is logged in; put loginRequired() before this handler, or call user() and handle null');
}

/** The request a deny response is for, and its flash queue (`RequestAuth.flash`). Internal. */
export interface FlashingRequest extends RequestFacts {
  flash(message: string, category: string): void;
}

/** The options the login redirect reads. */
type RedirectOptions = Pick<
  ResolvedOptions<unknown, unknown>,
  'keys' | 'localize' | 'forceHostForRedirects' | 'useSessionForNext' | 'loginView' | 'refreshView'
>;

/**
 * The default deny response of a guard: JSON `jsonStatus` for API clients, plain 401 when `view` is
 * null, else a redirect to `view` with `text` (localized) flashed under `category` and the page to
 * come back to in `next` (the request's URL unless `nextPath` is given, checked by
 * {@link checkGuardOptions}).
 */
export function denyResponse(
  auth: FlashingRequest,
  jar: CookieJar,
  options: RedirectOptions,
  jsonStatus: 401 | 403,
  view: string | null,
  text: string | null,
  category: string,
  nextPath?: string,
): Response {
  const o = options;
  const request = auth.request;
  const message = text === null ? null : o.localize(text);
  if (wantsJson(request)) return jsonResponse(jsonStatus, { message: message ?? 'Unauthorized' });
  if (view === null) return textResponse(401, message ?? 'Unauthorized');
  if (message) auth.flash(message, category);
  const forceHost = o.forceHostForRedirects ?? undefined;
  const url = URL.parse(request.url);
  if (o.useSessionForNext && url !== null) {
    jar.set('lk-next', signValue(o.keys, 'next', nextPath ?? url.pathname + url.search));
    return redirectResponse(request.method, loginUrl(view, { forceHost }));
  }
  const next = nextPath ?? makeNextParam(view, request.url);
  return redirectResponse(request.method, loginUrl(view, { next, forceHost }));
}

/**
 * `RequestAuth.unauthorized` and `RequestAuth.needsRefresh`: the options checked, the event
 * emitted, then the app's custom handler's response, else {@link denyResponse} (401 or 403).
 */
export async function deny<U, R, A extends FlashingRequest>(
  auth: A,
  jar: CookieJar,
  core: Core<U, R>,
  kind: 'unauthorized' | 'needsRefresh',
  handler: ((auth: A) => Response | Promise<Response>) | null,
  options: GuardOptions,
): Promise<Response> {
  checkGuardOptions(options, kind);
  const o = core.options;
  core.events.emit(kind, { request: auth.request });
  if (handler) return handler(auth);
  if (kind === 'unauthorized') {
    const view = options.loginView === undefined ? o.loginView : options.loginView;
    return denyResponse(auth, jar, o, 401, view, o.loginMessage, o.loginMessageCategory, options.next);
  }
  const view = options.refreshView === undefined ? o.refreshView : options.refreshView;
  return denyResponse(auth, jar, o, 403, view, o.needsRefreshMessage, o.needsRefreshMessageCategory, options.next);
}

/**
 * `RequestAuth.nextTarget`: `candidate`, else the one `next` query parameter, else the
 * signed `lk-next` cookie (cleared once read), made safe by {@link safeNext}, never the login or
 * refresh view itself nor the path of this request (a loop), else `fallback`.
 */
export function resolveNextTarget(auth: RequestFacts, jar: CookieJar, options: RedirectOptions, candidate: unknown, fallback: string): string {
  let value = candidate;
  if (value === undefined || value === null || value === '') {
    const all = URL.parse(auth.request.url)?.searchParams.getAll('next') ?? [];
    value = all.length > 0 ? (all.length === 1 ? all[0] : null) : undefined;
  }
  const stored = jar.get('lk-next');
  if (stored !== undefined) {
    jar.clear('lk-next');
    if (value === undefined) value = verifyValue(options.keys, 'next', stored);
  }
  const origin = auth.origin;
  if (origin === null) return fallback;
  const target = safeNext(value, { origin, fallback, disallow: loopTargets(options) });
  // The page resolving the target is the login form (or refresh form) being submitted, and it may
  // be a per-route view (`loginRequired({ loginView })`) the manager's options do not name: going
  // back to it is a loop too. Only this exact path: everything under it may be a real page.
  const here = URL.parse(auth.request.url)?.pathname;
  return here !== undefined && here !== '/' && samePath(target, here) ? fallback : target;
}

/** Whether the path of `target` (a safe same-origin path) is `path`, ignoring case and a trailing `/`. */
function samePath(target: string, path: string): boolean {
  const trim = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p).toLowerCase();
  return trim(target.split(/[?#]/, 1)[0] ?? '') === trim(path);
}

function loopTargets(o: RedirectOptions): string[] {
  return [o.loginView, o.refreshView].filter((v): v is string => v !== null && v.startsWith('/')).map((v) => v.split('?')[0] as string);
}
