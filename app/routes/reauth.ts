/**
 * Re-authentication ("sudo mode", SEC-35): the password form that makes a non-fresh login (one
 * restored from remember-me, or older than the fresh window) fresh again. The password is checked
 * by `accounts.confirmPassword`, throttled by the session (never refused because strangers locked
 * the account, SEC-52), then `auth.confirmLogin()` issues a new session token
 * (ASVS 7.2.4) and the user goes on to `next`.
 *
 * @module app/routes/reauth
 */
import { readInput, text } from '../body.ts';
import { fieldErrors, isJson, json, page, redirect, throttledMessage } from '../answers.ts';
import type { AppContext, Deps, FieldErrors, Handler, Route } from '../types.ts';
import { reauthPage } from '../views/auth.ts';


export function reauthRoute(deps: Deps, csrf: Handler, loginRequired: Handler): Route {
  async function show(c: AppContext, status = 200, errors?: FieldErrors): Promise<Response> {
    const user = (await c.var.auth.user())!;
    const next = c.var.auth.nextTarget(c.get('input') ? text(c.var.input, 'next') : undefined, '/dashboard');
    return page(c, (v) => reauthPage({ csrf: v.csrf, next, login: user.email ?? user.username ?? '', errors }), status);
  }

  async function failed(c: AppContext, status: number, message: string, errors?: FieldErrors, headers: Record<string, string> = {}) {
    if (isJson(c)) return json(c, status, errors ? { message, errors } : { message }, headers);
    c.var.auth.flash(message, 'error');
    return show(c, status, errors);
  }

  async function post(c: AppContext): Promise<Response> {
    const auth = c.var.auth;
    const user = (await auth.user())!;
    const password = text(c.var.input, 'password') ?? '';
    if (password === '') {
      return failed(c, 400, 'Enter your password.', Object.assign(fieldErrors(), { password: 'Enter your password.' }));
    }
    // Throttled by this session, not the account: strangers' failures never refuse its owner (finding 8).
    const result = await deps.accounts.confirmPassword({ userId: user.id, password, auth, ip: auth.clientIp });
    if (result.ok && (await auth.confirmLogin())) {
      if (isJson(c)) return json(c, 200, { message: 'Password confirmed.' });
      auth.flash('Password confirmed.', 'success');
      return redirect(c, auth.nextTarget(text(c.var.input, 'next'), '/dashboard'));
    }
    if (result.ok || result.reason === 'invalid') return failed(c, 401, 'Incorrect password.');
    if (result.reason === 'throttled') {
      return failed(c, 429, throttledMessage(result.retryAfter), undefined, { 'retry-after': String(result.retryAfter) });
    }
    return failed(c, 400, Object.values(result.errors).join(' '), Object.assign(fieldErrors(), { password: Object.values(result.errors).join(' ') }));
  }

  return {
    path: '/reauth',
    GET: [
      loginRequired,
      async (c) => (isJson(c) ? json(c, 200, { message: 'POST your password as JSON to this URL to confirm it is you.' }) : show(c)),
    ],
    // The guard runs before the body is read: an anonymous visitor is sent to log in (app-contract.md).
    POST: [loginRequired, readInput({ password: 'text', next: 'text', username: 'text' }), csrf, post],
  };
}
