/**
 * Typed events: Flask-Login's nine blinker signals, plus `loginFailed`, `rememberTheft` and the
 * session life cycle an audit log records (SEC-68, OWASP Session Management cheat sheet "Logging
 * Sessions Life Cycle"): `sessionCreated`, `sessionRevoked`, `sessionInvalid`, and `csrfRefused`.
 * Listeners run synchronously, when the event happens (see lib/emitter.ts). A `sessionId` in a
 * payload names a session without being able to use it (the token is `id.secret`), but it is
 * still an identifier of a live login: log only a keyed hash of it (SEC-69).
 *
 * @module events
 */
import { Emitter } from './lib/emitter.ts';
import type { RequestLike } from './request.ts';

/** Every event and its payload. `U` is the app's user type. */
export interface LoginEvents<U> {
  /** `user_logged_in`: end of a successful `login()`. */
  loggedIn: { readonly user: U; readonly request: RequestLike; readonly remember: boolean; readonly fresh: boolean };
  /** `user_logged_out`: `logout()`; fires even when nobody was logged in (user null). */
  loggedOut: { readonly user: U | null; readonly request: RequestLike };
  /** `user_loaded_from_cookie`: a remember-me cookie restored a login. */
  loadedFromCookie: { readonly user: U; readonly request: RequestLike };
  /** `user_loaded_from_request`: the request loader (API key, bearer token) returned a user. */
  loadedFromRequest: { readonly user: U; readonly request: RequestLike };
  /** `user_login_confirmed`: `confirmLogin()` made the login fresh again. */
  loginConfirmed: { readonly user: U | null; readonly request: RequestLike };
  /** `user_unauthorized`: start of `unauthorized()`, before any custom handler. */
  unauthorized: { readonly request: RequestLike };
  /** `user_needs_refresh`: start of `needsRefresh()`. */
  needsRefresh: { readonly request: RequestLike };
  /** `user_accessed`: the current user was loaded (once per request, and only if read). */
  accessed: { readonly request: RequestLike };
  /** `session_protected`: the session's fingerprint did not match (basic: made non-fresh; strong: ended). */
  sessionProtected: { readonly request: RequestLike; readonly userId: string; readonly mode: 'basic' | 'strong' };
  /** A login attempt failed (emitted by `reportLoginFailure` and the accounts module). */
  loginFailed: { readonly request: RequestLike; readonly login: string | null; readonly reason: string };
  /** An old remember-me validator was replayed: every session of the user was ended (SEC-38). */
  rememberTheft: { readonly request: RequestLike; readonly userId: string };
  /**
   * A session was started under a new token: at login, from a remember-me cookie, or replacing
   * this browser's session (`confirmLogin`, `rotateSession`, `revokeOtherSessions`).
   */
  sessionCreated: {
    readonly request: RequestLike;
    readonly userId: string;
    readonly sessionId: string;
    readonly fresh: boolean;
    /** Linked to a remember-me series (logout ends both). */
    readonly remembered: boolean;
  };
  /**
   * Sessions were ended by `revokeSession` (`scope: 'one'`, `sessionId` set), `revokeOtherSessions`
   * or `revokeUserSessions` with `exceptSessionId` (`'others'`), or `revokeUserSessions` (`'all'`).
   * `request` is null when the manager's own methods were called (a CLI, an admin job). Logout,
   * session protection and remember-me theft end sessions too, under their own events.
   */
  sessionRevoked: {
    readonly request: RequestLike | null;
    readonly userId: string;
    readonly scope: 'one' | 'others' | 'all';
    readonly sessionId: string | null;
    /** How many sessions ended. */
    readonly sessions: number;
  };
  /**
   * The request carried a session cookie that names no valid session, and the cookie was cleared:
   * `unknown` (expired, ended, or never issued: the store cannot tell them apart), `malformed` (not
   * an `id.secret` token), `mismatch` (a live session's id with the wrong secret: a guess).
   * `sessionId` is the id the cookie named, null when malformed.
   */
  sessionInvalid: { readonly request: RequestLike; readonly reason: 'unknown' | 'malformed' | 'mismatch'; readonly sessionId: string | null };
  /** A correct password started a pending second step for the user (SEC-80): not a login. */
  secondStepStarted: { readonly request: RequestLike; readonly userId: string };
  /** The pending second step was completed and the user logged in, fresh (SEC-84). */
  secondStepCompleted: { readonly request: RequestLike; readonly userId: string };
  /** `checkCsrf` refused an unsafe request (SEC-43…SEC-45); `reason` is the one the client is told. */
  csrfRefused: { readonly request: RequestLike; readonly reason: string };
}

export type LoginEventName = keyof LoginEvents<unknown>;
export type LoginEventListener<U, E extends LoginEventName> = (payload: LoginEvents<U>[E]) => void;

/** The login manager's emitter. */
export class LoginEventEmitter<U> extends Emitter<LoginEvents<U>> {}
