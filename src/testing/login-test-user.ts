/**
 * {@link loginTestUser}: Flask-Login's `FlaskLoginClient`, done so that it works under every
 * session-protection setting (Flask-Login #586, #674): the session it makes carries the
 * fingerprint of the User-Agent the test client will send.
 *
 * @module testing/login-test-user
 */
import type { LoginManager } from '../manager.ts';

/** Options of {@link loginTestUser}. */
export interface TestLoginOptions {
  /** Whether the login is fresh. @default true */
  fresh?: boolean;
  /** Also create a remember-me series. @default false */
  remember?: boolean;
  /** The User-Agent the test client sends (session protection compares it). @default none */
  userAgent?: string | null;
  /** Cookie names for HTTPS (`__Host-` prefix). @default false */
  secure?: boolean;
}

/**
 * Logs `user` in without a login form and returns the `Cookie` header value to send with test
 * requests. The login is real: a session row in the manager's store, `loggedIn` emitted.
 *
 * @example
 * ```ts
 * const cookie = await loginTestUser(manager, alice);
 * const res = await app.request('/dashboard', { headers: { cookie } });
 * ```
 */
export async function loginTestUser<U, R>(manager: LoginManager<U, R>, user: U, options: TestLoginOptions = {}): Promise<string> {
  const headers = new Headers();
  if (options.userAgent) headers.set('user-agent', options.userAgent);
  const request = new Request(options.secure ? 'https://localhost/' : 'http://localhost/', { headers });
  const auth = manager.forRequest(request);
  const loginOptions = { force: true, fresh: options.fresh !== false, remember: options.remember === true };
  if (!(await auth.login(user, loginOptions))) throw new TypeError('loginTestUser could not log the user in');
  return auth
    .setCookies()
    .map((cookie) => cookie.slice(0, cookie.indexOf(';')))
    .filter((pair) => !pair.endsWith('='))
    .join('; ');
}
