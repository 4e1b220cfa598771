/**
 * Typed events: Flask-Login's nine blinker signals, plus `loginFailed` and `rememberTheft`.
 * Listeners run synchronously, in subscription order, when the event happens; an exception in a
 * listener propagates to the caller, as with Node's EventEmitter, so a broken audit hook is seen
 * rather than silently skipped.
 *
 * @module events
 */
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

/** A minimal typed emitter; one per login manager. */
export class LoginEventEmitter<U> {
  readonly #listeners = new Map<LoginEventName, Array<(payload: never) => void>>();

  /**
   * Subscribes to an event; returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * const off = auth.on('loggedIn', ({ user }) => audit('login', user.id));
   * ```
   */
  on<E extends LoginEventName>(event: E, listener: LoginEventListener<U, E>): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const list = this.#listeners.get(event) ?? [];
    list.push(listener as (payload: never) => void);
    this.#listeners.set(event, list);
    return () => {
      const index = list.indexOf(listener as (payload: never) => void);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /** True when at least one listener waits for `event`: lets callers skip work nobody reads. */
  has(event: LoginEventName): boolean {
    return (this.#listeners.get(event)?.length ?? 0) > 0;
  }

  /** Calls the listeners of `event` with `payload`. */
  emit<E extends LoginEventName>(event: E, payload: LoginEvents<U>[E]): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    for (const listener of [...list]) (listener as LoginEventListener<U, E>)(payload);
  }
}
