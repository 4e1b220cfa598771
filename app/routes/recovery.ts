/**
 * Password recovery (the app's HTTP contract, "Account recovery…"; SEC-16, SEC-57…SEC-60):
 * - `/forgot-password`: the same answer for every address, registered or not, throttled or not
 *   (SEC-16); the accounts send the mail in the background, so the time is the same too;
 * - `GET /reset-password/TOKEN`: a live token moves into the `lk-reset` cookie and the browser is
 *   sent on to `/reset-password` (303), so the token leaves the address bar at once (SEC-59);
 *   nothing is consumed (SEC-42);
 * - `/reset-password`: the form, then the reset itself (the token from the cookie, or from JSON
 *   `token`): the accounts check the policy before consuming the token, end every session and
 *   remember-me login, clear the login throttle and mail a notice (SEC-60, SEC-52, SEC-71). The
 *   user is not logged in afterwards.
 * Each lookup of a token, by the link, the form or the reset, is counted per IP first (SEC-54,
 * token-throttle.ts).
 *
 * @module app/routes/recovery
 */
import { readInput, text } from '../body.ts';
import { fieldErrors, isJson, json, page, problem, redirect } from '../answers.ts';
import { clearResetCookie, readResetCookie, resetCookie } from '../reset-cookie.ts';
import type { AppContext, Deps, FieldErrors, Route } from '../types.ts';
import { formGuard } from './guard.ts';
import { ASK_AGAIN, invalidLink, TOKEN, TOKEN_HOP_HEADERS, TOKEN_PAGE_HEADERS, tokenField } from './links.ts';
import { tokenGate } from './token-throttle.ts';
import { forgotPasswordPage, resetPasswordPage } from '../views/recovery.ts';

export const RESET_REQUESTED = 'If that address is registered, we have sent a link to reset the password.';
export const RESET_DONE = 'Your password has been reset. Please log in.';

export function recoveryRoutes(deps: Deps): Route[] {
  const { accounts, config } = deps;
  const guard = formGuard();
  const gate = tokenGate(deps.throttles.token);

  async function showForgot(c: AppContext, status = 200, form: { email?: string; errors?: FieldErrors } = {}): Promise<Response> {
    if (isJson(c)) return json(c, 200, { message: 'POST email as JSON to this URL.' });
    return page(c, (v) => forgotPasswordPage({ csrf: v.csrf, ...form }), status);
  }

  async function postForgot(c: AppContext): Promise<Response> {
    const email = (text(c.get('input'), 'email') ?? '').trim();
    if (email === '') {
      const errors = Object.assign(fieldErrors(), { email: 'Enter your email address.' });
      if (isJson(c)) return json(c, 400, { message: errors.email, errors });
      return showForgot(c, 400, { email, errors });
    }
    await accounts.requestPasswordReset({ email, ip: c.get('auth').clientIp });
    if (isJson(c)) return json(c, 202, { message: RESET_REQUESTED });
    c.get('auth').flash(RESET_REQUESTED, 'info');
    return redirect(c, '/login');
  }

  /** The link of the mail: exchanged for the cookie, never consumed (SEC-59, SEC-42). */
  async function openLink(c: AppContext): Promise<Response> {
    const token = c.req.param('token') ?? '';
    const secure = c.get('auth').secure;
    if (!TOKEN.test(token)) return invalidLink(c, ASK_AGAIN.reset);
    const refused = await gate(c);
    if (refused) return refused;
    if (!(await accounts.checkResetToken(token))) return invalidLink(c, ASK_AGAIN.reset);
    // 303 even after a GET: "see the form there", and no token in the address the form is shown at.
    return new Response(null, { status: 303, headers: { location: '/reset-password', 'set-cookie': resetCookie(token, secure), ...TOKEN_HOP_HEADERS } });
  }

  /** The token of the reset cookie, if it is shaped like one. */
  function cookieToken(c: AppContext): string | null {
    return tokenField(readResetCookie(c.req.header('cookie'), c.get('auth').secure) ?? undefined);
  }

  async function showReset(c: AppContext, status = 200, errors?: FieldErrors): Promise<Response> {
    if (isJson(c) && status === 200) return json(c, 200, { message: 'POST password (and token, unless the reset cookie is set) as JSON to this URL.' }, TOKEN_PAGE_HEADERS);
    if (status === 200) {
      const token = cookieToken(c);
      const cleared = { 'set-cookie': clearResetCookie(c.get('auth').secure) };
      if (token === null) return invalidLink(c, ASK_AGAIN.reset, cleared);
      const refused = await gate(c);
      if (refused) return refused;
      if (!(await accounts.checkResetToken(token))) return invalidLink(c, ASK_AGAIN.reset, cleared);
    }
    return page(c, (v) => resetPasswordPage({ csrf: v.csrf, minLength: config.passwordMinLength, errors }), status, TOKEN_PAGE_HEADERS);
  }

  async function postReset(c: AppContext): Promise<Response> {
    const auth = c.get('auth');
    const input = c.get('input');
    // A token sent in the body is the one meant, good or bad; else the cookie's.
    const sent = text(input, 'token');
    const token = sent !== undefined ? tokenField(sent) : cookieToken(c);
    const cleared = { 'set-cookie': clearResetCookie(auth.secure) };
    if (token === null) return invalidLink(c, ASK_AGAIN.reset, cleared);
    const refused = await gate(c);
    if (refused) return refused;
    const result = await accounts.resetPassword({ token, password: text(input, 'password') ?? '', ip: auth.clientIp });
    if (result.ok) {
      if (isJson(c)) return json(c, 200, { message: RESET_DONE }, { ...TOKEN_PAGE_HEADERS, ...cleared });
      auth.flash(RESET_DONE, 'success');
      const answer = redirect(c, '/login');
      answer.headers.append('set-cookie', cleared['set-cookie']);
      return answer;
    }
    if (result.reason === 'invalid-token') return invalidLink(c, ASK_AGAIN.reset, cleared);
    // The policy refused the password: the token is still live, the form stays (SEC-60: policy before consumption).
    const errors = Object.assign(fieldErrors(), result.errors);
    if (isJson(c)) return problem(c, 400, Object.values(errors).join(' '), { errors, headers: TOKEN_PAGE_HEADERS });
    return showReset(c, 400, errors);
  }

  return [
    { path: '/forgot-password', GET: [(c) => showForgot(c)], POST: [readInput({ email: 'text' }), guard, postForgot] },
    { path: '/reset-password/:token', GET: [openLink] },
    { path: '/reset-password', GET: [(c) => showReset(c)], POST: [readInput({ token: 'text', password: 'text' }), guard, postReset] },
  ];
}
