/**
 * Cross-site request forgery defences, in two layers (OWASP CSRF cheat sheet):
 * 1. An `Origin` / `Sec-Fetch-Site` check on every unsafe method (SEC-45): a browser always sends
 *    one of them on a cross-site POST, and neither can be forged by a page. A client that sends
 *    neither (curl, a server) is not a browser and cannot carry a victim's cookies: it is allowed.
 * 2. A synchronizer token for forms (SEC-43, SEC-44), derived rather than stored: HMAC-SHA-256 of
 *    the session id under the app's secret, or, before login, of a random nonce kept in a cookie
 *    (the "signed double-submit cookie" pattern). A new session id at login gives a new token, and
 *    the nonce is replaced at login and at logout, so no token outlives either.
 * JSON bodies need no token: a cross-site page cannot send `application/json` without a CORS
 * preflight (SEC-46), and the origin check has already run.
 *
 * {@link deriveCsrfToken}, {@link matchesCsrfToken} and {@link checkRequestOrigin} are pure; {@link csrfTokenFor}
 * and {@link checkRequestCsrf} apply them to one request, handed its facts, its cookie jar and its
 * current user, for `RequestAuth.csrfToken` and `RequestAuth.checkCsrf`.
 *
 * @module csrf
 */
import type { CookieJar } from './cookie-jar.ts';
import type { RequestFacts, Resolution } from './core.ts';
import { hmacSha256, isBase64url, safeEqual } from './lib/encoding.ts';
import { ID_LENGTH, randomToken } from './lib/tokens.ts';
import type { ResolvedOptions } from './options.ts';
import { hasJsonBody, type RequestLike } from './request.ts';

/** The outcome of `RequestAuth.checkCsrf`. */
export type CsrfCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** The request's current user (current-user.ts), whose session a token binds to; resolved only when needed. */
interface CurrentSession {
  resolve(): Promise<Resolution<unknown>>;
}

/** The options the CSRF logic reads. */
type CsrfOptions = Pick<ResolvedOptions<unknown, unknown>, 'keys' | 'randomBytes' | 'trustedOrigins' | 'explainCsrfFailures'>;

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

/**
 * The token of this request's forms: bound to the session id once logged in, else to a random
 * nonce in the `lk-csrf` cookie (signed double-submit, SEC-44), which is set if missing or malformed.
 */
export async function csrfTokenFor(jar: CookieJar, current: CurrentSession, options: CsrfOptions): Promise<string> {
  const { session } = await current.resolve();
  if (session) return deriveCsrfToken(options.keys[0] as Uint8Array, `s.${session.id}`);
  let nonce = jar.get('lk-csrf');
  if (nonce === undefined || !isBase64url(nonce, ID_LENGTH)) nonce = newNonce(jar, options);
  return deriveCsrfToken(options.keys[0] as Uint8Array, `a.${nonce}`);
}

/**
 * At login and at logout: replaces this browser's pre-login nonce, when it has one, by a new one,
 * so that a pre-login token (one a shared computer's previous user, or a page, saw) is worthless
 * from then on, as the session token is (SEC-44 "pre-session replaced at login", SEC-23). Without
 * it, the nonce outlived the login and the token minted before it was valid again after logout.
 */
export function renewCsrfNonce(jar: CookieJar, options: Pick<CsrfOptions, 'randomBytes'>): void {
  if (jar.get('lk-csrf') !== undefined) newNonce(jar, options);
}

/** A new random nonce (128 bits), set in the `lk-csrf` cookie and read by the rest of this request. */
function newNonce(jar: CookieJar, options: Pick<CsrfOptions, 'randomBytes'>): string {
  const nonce = randomToken(options.randomBytes, 16);
  jar.replace('lk-csrf', nonce);
  return nonce;
}

/**
 * The CSRF check of an unsafe request (the caller lets safe methods through): origin first, then,
 * unless the body is JSON or there is no Content-Type, the token from `X-CSRF-Token` or
 * `readFormToken()`, never from the query string (SEC-43).
 */
export async function checkRequestCsrf(
  auth: RequestFacts,
  jar: CookieJar,
  current: CurrentSession,
  options: CsrfOptions,
  readFormToken: () => unknown | Promise<unknown>,
): Promise<CsrfCheck> {
  const self = auth.origin;
  const allowed = options.trustedOrigins.length > 0 ? options.trustedOrigins : self === null ? [] : [self];
  const refused = checkRequestOrigin(auth.request, allowed);
  if (refused) return { ok: false, reason: options.explainCsrfFailures ? `${refused}: ${ORIGIN_HINT}` : refused };
  // A JSON body cannot come cross-site without a CORS preflight (SEC-46); neither can a request
  // with no Content-Type at all (an HTML form always sends one), whose Origin was checked above.
  if (hasJsonBody(auth.request) || auth.request.headers.get('content-type') === null) return { ok: true };
  const token = auth.request.headers.get('x-csrf-token') ?? (await readFormToken());
  const { session } = await current.resolve();
  const nonce = jar.get('lk-csrf');
  const binding = session ? `s.${session.id}` : nonce !== undefined ? `a.${nonce}` : null;
  if (binding !== null && matchesCsrfToken(options.keys, binding, token)) return { ok: true };
  if (!options.explainCsrfFailures) return { ok: false, reason: END_USER_REASON };
  const missing = token === undefined || token === null || token === '';
  return { ok: false, reason: missing ? MISSING_HINT : binding === null ? NO_BINDING_HINT : WRONG_HINT };
}

/** What the end user reads (production): nothing they could act on but a reload. */
const END_USER_REASON = 'The form has expired or its CSRF token is missing or wrong. Reload the page and try again.';

/**
 * What the developer reads instead (`explainCsrfFailures`, on unless NODE_ENV=production): which
 * part was missing and the fix. Names only public things: the field, the header, the API.
 */
const HOW = 'add <input type="hidden" name="_csrf" value="${await auth.csrfToken()}"> to the form, ' +
  'or send that token in an `X-CSRF-Token` header (fetch); a JSON body needs no token';
const DEV = '(development message: NODE_ENV=production, or explainCsrfFailures: false, shows the end user "reload the page")';
const MISSING_HINT = `CSRF token missing: this form request has no \`_csrf\` field and no \`X-CSRF-Token\` header. Fix: ${HOW}. ` +
  `A body parser must run before csrfProtection() (Express: express.urlencoded(); Fastify: @fastify/formbody). ${DEV}`;
const WRONG_HINT = `CSRF token wrong: a \`_csrf\` token was sent but belongs to another session, to before a login or logout, or to another secret. Fix: ${HOW}, rendered in this session. ${DEV}`;
const NO_BINDING_HINT = `CSRF token unusable: the request has neither a session nor the \`lk-csrf\` cookie that \`auth.csrfToken()\` sets, so no token can match ` +
  `(were the cookies of the page that rendered the form kept? Same host and scheme?). Fix: ${HOW}. ${DEV}`;
const ORIGIN_HINT = 'if this origin is your app (another dev-server port, a proxy), list it in the manager\'s trustedOrigins (SEC-45). ' + DEV;
