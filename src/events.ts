/**
 * Typed events: Flask-Login's nine blinker signals, plus `loginFailed` and `rememberTheft`.
 * Listeners run synchronously, when the event happens (see lib/emitter.ts).
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
}

export type LoginEventName = keyof LoginEvents<unknown>;
export type LoginEventListener<U, E extends LoginEventName> = (payload: LoginEvents<U>[E]) => void;

/** The login manager's emitter. */
export class LoginEventEmitter<U> extends Emitter<LoginEvents<U>> {}
