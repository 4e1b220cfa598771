/**
 * The pending second step: what a correct password yields for a user with a second factor. It is
 * NOT a login (SEC-80): no session exists for the user until the second factor is
 * verified, and user(), currentUser(), isAuthenticated() and every guard ignore it, since they read
 * only the session and remember-me cookies (current-user.ts).
 *
 * The step is a one-time token in the manager's store (TokenStore purpose `second-step`, lifetime
 * `secondStepTimeout` on the store's clock), named by the browser's own cookie `lk-2fa`: the raw
 * token, then `remember` and `next` signed under the manager's keys together with the token's hash
 * (signed.ts), so that neither can be changed nor moved to another pending step. It is bound to the
 * browser that passed the password (only that browser holds the raw token), cannot be planted by
 * another party (a planted cookie names a step of the planter's own account, which completes only
 * for that account), and ends at success (consumed once, atomically: of two parallel completions
 * exactly one wins), at cancel, at logout and at expiry. A completion is a fresh login (SEC-84).
 *
 * Every function acts for one request; the request-auth facade documents them as methods.
 *
 * @module second-step
 */
import { requireAuthMethod, withAuthMethod } from './auth-methods.ts';
import type { CookieJar } from './cookie-jar.ts';
import { NOBODY, userIdOf, type Core, type RequestFacts } from './core.ts';
import { clearLoginCookies, endSession } from './browser-session.ts';
import { renewCsrfNonce } from './csrf.ts';
import type { CurrentUser } from './current-user.ts';
import { isBase64url, sha256 } from './lib/encoding.ts';
import { randomToken, SECRET_LENGTH } from './lib/tokens.ts';
import { loginUser } from './login-lifecycle.ts';
import { signValue, verifyValue } from './signed.ts';
import type { OneTimeToken, TokenStore } from './token-store.ts';

/** The cookie of the pending step (`__Host-lk-2fa` over HTTPS). */
export const SECOND_STEP_COOKIE = 'lk-2fa';
const PURPOSE = 'second-step';
/** A `next` longer than this would not fit a cookie (SEC-24: ≤ 4096 B); it is dropped, as an unsafe one would be. */
const MAX_NEXT = 2048;

/** Options of `RequestAuth.beginSecondStep`: what the login will carry once the second factor is verified. */
export interface SecondStepOptions {
  /** Set a remember-me cookie at completion. @default false */
  remember?: boolean;
  /** Where to go after completion (pass it through `nextTarget`); null for none. @default null */
  next?: string | null;
}

/** Options of `RequestAuth.completeSecondStep`. */
export interface CompleteSecondStepOptions {
  /** The second factor verified, RFC 8176-like (`otp`, `hwk`…); the session records `['pwd', method]` (SEC-84). @default 'otp' */
  method?: string;
}

/** This browser's live pending step, as `RequestAuth.pendingSecondStep` returns it. */
export interface PendingSecondStep {
  readonly userId: string;
  readonly remember: boolean;
  readonly next: string | null;
}

/** `RequestAuth.beginSecondStep`: false, changing nothing, for an inactive user. */
export async function beginSecondStep<U, R>(
  core: Core<U, R>,
  auth: RequestFacts,
  jar: CookieJar,
  current: CurrentUser<U, R>,
  user: U,
  options: SecondStepOptions = {},
): Promise<boolean> {
  const tokens = requireTokens(core);
  if (typeof options !== 'object' || options === null) throw new TypeError('beginSecondStep: options must be an object');
  const remember = options.remember ?? false;
  if (typeof remember !== 'boolean') throw new TypeError('beginSecondStep: remember must be a boolean');
  const next = options.next ?? null;
  if (next !== null && typeof next !== 'string') throw new TypeError('beginSecondStep: next must be a string or null');
  const o = core.options;
  if (!o.isActive(user)) return false;
  const userId = userIdOf(o, user);
  // A password was typed: whatever login this browser held ends now, and none starts until the
  // second factor is verified (SEC-80, SEC-23).
  const held = await current.held();
  const rememberCookie = jar.get(o.cookieNames.remember);
  await endSession(core.store, held, rememberCookie);
  if (jar.get(o.cookieNames.session) !== undefined || rememberCookie !== undefined) clearLoginCookies(jar, o.cookieNames);
  current.settle(NOBODY);
  await endPending(tokens, jar); // an earlier pending step of this browser ends with it
  const token = randomToken(o.randomBytes, 32);
  const hash = sha256(token);
  await tokens.createToken({ hash, userId, purpose: PURPOSE, email: null, lifetime: o.secondStepTimeout });
  const carried = { h: hash, r: remember, n: next !== null && next.length <= MAX_NEXT ? next : null };
  // A browser-session cookie: closing the browser abandons the step.
  jar.set(SECOND_STEP_COOKIE, `${token}.${signValue(o.keys, PURPOSE, carried)}`);
  renewCsrfNonce(jar, o); // no token minted before the password outlives it (SEC-44)
  core.events.emit('secondStepStarted', { request: auth.request, userId });
  return true;
}

/** `RequestAuth.pendingSecondStep`: the live step of this browser, else null; a bad cookie is cleared. */
export async function pendingSecondStep<U, R>(core: Core<U, R>, jar: CookieJar): Promise<PendingSecondStep | null> {
  const tokens = requireTokens(core);
  const cookie = readCookie(core, jar);
  const live = cookie === null ? null : await tokens.findToken(cookie.hash, PURPOSE);
  if (cookie === null || live === null) {
    if (jar.get(SECOND_STEP_COOKIE) !== undefined) jar.clear(SECOND_STEP_COOKIE);
    return null;
  }
  return { userId: live.userId, remember: cookie.remember, next: cookie.next };
}

/**
 * `RequestAuth.completeSecondStep`: false, changing nothing, unless this browser holds a live
 * pending step of `user`'s and `user` is active. The step is read first, so that a step of another
 * user's is left alone, then consumed: the consumption decides between parallel completions.
 */
export async function completeSecondStep<U, R>(
  core: Core<U, R>,
  auth: RequestFacts,
  jar: CookieJar,
  current: CurrentUser<U, R>,
  user: U,
  options: CompleteSecondStepOptions = {},
): Promise<boolean> {
  const methods = withAuthMethod(['pwd'], requireAuthMethod('method', options.method ?? 'otp'));
  const tokens = requireTokens(core);
  const o = core.options;
  const cookie = readCookie(core, jar);
  if (cookie === null || !o.isActive(user)) return false;
  const userId = userIdOf(o, user);
  const ofUser = (token: OneTimeToken | null) => token !== null && token.userId === userId;
  if (!ofUser(await tokens.findToken(cookie.hash, PURPOSE))) return false;
  if (!ofUser(await tokens.consumeToken(cookie.hash, PURPOSE))) return false;
  jar.clear(SECOND_STEP_COOKIE);
  // A login completed with a second factor is fresh (SEC-84), under a new session token (SEC-23).
  await loginUser(core, auth, jar, current, user, { remember: cookie.remember, fresh: true, methods });
  core.events.emit('secondStepCompleted', { request: auth.request, userId });
  return true;
}

/** `RequestAuth.cancelSecondStep`, and part of `logout()`: deletes the step and clears its cookie. */
export async function cancelSecondStep<U, R>(core: Core<U, R>, jar: CookieJar): Promise<void> {
  if (jar.get(SECOND_STEP_COOKIE) === undefined) return; // nothing pending: no store call, no cookie
  await endPending(requireTokens(core), jar);
}

/** Clears the cookie (first, so that it goes even when the store fails), then deletes the step it names. */
async function endPending(tokens: TokenStore, jar: CookieJar): Promise<void> {
  const raw = jar.get(SECOND_STEP_COOKIE);
  if (raw === undefined) return;
  jar.clear(SECOND_STEP_COOKIE);
  const token = tokenOf(raw);
  if (token !== null) await tokens.consumeToken(sha256(token), PURPOSE);
}

/** The raw token a cookie value starts with (`token.payload.mac`), or null when it has none. */
function tokenOf(raw: string | undefined): string | null {
  if (raw === undefined || raw[SECRET_LENGTH] !== '.') return null;
  const token = raw.slice(0, SECRET_LENGTH);
  return isBase64url(token, SECRET_LENGTH) ? token : null;
}

/** The cookie's token hash and signed carry, or null when it is malformed or its signature is not this token's. */
function readCookie<U, R>(core: Core<U, R>, jar: CookieJar): { hash: string; remember: boolean; next: string | null } | null {
  const raw = jar.get(SECOND_STEP_COOKIE);
  const token = tokenOf(raw);
  if (token === null) return null;
  const carried = verifyValue(core.options.keys, PURPOSE, (raw as string).slice(SECRET_LENGTH + 1)) as { h?: unknown; r?: unknown; n?: unknown } | undefined;
  const hash = sha256(token);
  if (typeof carried !== 'object' || carried === null || carried.h !== hash || typeof carried.r !== 'boolean') return null;
  if (carried.n !== null && typeof carried.n !== 'string') return null;
  return { hash, remember: carried.r, next: carried.n };
}

function requireTokens<U, R>(core: Core<U, R>): TokenStore {
  if (core.tokens === null) {
    throw new TypeError("the manager's store does not implement TokenStore (createToken, findToken, consumeToken, deleteUserTokens), which the second step needs");
  }
  return core.tokens;
}
