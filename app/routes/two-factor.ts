/**
 * The login's second step (the app's HTTP contract, "Second factors"): after a right password for an
 * account with a second factor, POST /login starts a pending step (not a login, SEC-80) and sends
 * the browser here. A right TOTP code (once, SEC-78) or an unused recovery code (SEC-81) completes
 * it into a fresh login (SEC-84) answered as a login is, to the `next` the step carries; a wrong one
 * is a 401, throttled per account by the accounts (SEC-79), and the fifth wrong code of one pending
 * step ends it: the user logs in again (SEC-79). The page offers what the account has: the code
 * field with TOTP on, the passkey button with a passkey (its routes: passkey-login.ts).
 *
 * @module app/routes/two-factor
 */
import type { UserRecord } from 'latchkey';
import { readInput, text } from '../body.ts';
import { fieldErrors, isJson, json, page, redirect, throttledMessage } from '../answers.ts';
import type { AppContext, Deps, Handler, Route } from '../types.ts';
import { codeFailures } from '../second-step.ts';
import { twoFactorPage } from '../views/totp.ts';
import { DOWNLOAD_LANDING, DOWNLOAD_PATH } from '../views/dashboard.ts';

export const CODE_REQUIRED = 'Two-factor code required.';
const INVALID = 'Invalid code.';
const LOG_IN_AGAIN = 'Your login has ended. Log in again.';

/**
/**
 * The answer to a completed login, with a password alone or with its second step. A browser that
 * came for the download lands on the dashboard that starts it: redirected to the attachment
 * itself, it would download the file and stay on the login form, looking logged out. `withNext`
 * adds the target to the JSON, for the passkey script, which follows it (a fetch cannot follow a
 * 303 to a page).
 */
export function loginSucceeded(c: AppContext, user: UserRecord, next: string, withNext = false): Response {
  const target = next.split(/[?#]/, 1)[0] === DOWNLOAD_PATH ? DOWNLOAD_LANDING : next;
  if (isJson(c)) return json(c, 200, { message: 'Login successful!', user_id: Number(user.id), ...(withNext && { next: target }) });
  c.get('auth').flash('Login successful!', 'success');
  return redirect(c, target);
}

/** No pending step (none, expired, completed or ended by wrong codes): back to the password. */
export function logInAgain(c: AppContext, message = LOG_IN_AGAIN): Response {
  if (isJson(c)) return json(c, 401, { message });
  c.get('auth').flash(message, 'error');
  return redirect(c, '/login');
}

export function twoFactorRoute(deps: Deps, guard: Handler): Route {
  const { accounts } = deps;
  const failures = codeFailures(deps.stores.sessions, deps.config.secretKey);

  /** The page of a pending step: the code field with TOTP on, the passkey button with a passkey. */
  const stepPage = (c: AppContext, userId: string, errors?: Record<string, string>, status = 200, headers: Record<string, string> = {}) =>
    accounts.secondFactorMethods(userId).then((methods) =>
      page(c, (v) => twoFactorPage({ csrf: v.csrf, methods, passkeys: deps.passkeys !== null, errors }), status, headers),
    );

  async function show(c: AppContext): Promise<Response> {
    const pending = await c.get('auth').pendingSecondStep();
    if (pending === null) return logInAgain(c, 'Log in first.');
    if (isJson(c)) {
      const methods = await accounts.secondFactorMethods(pending.userId);
      return json(c, 200, { message: 'POST code (a code from your authenticator app, or a recovery code) as JSON to this URL, or a passkey to /login/two-factor/passkey.', methods });
    }
    return stepPage(c, pending.userId);
  }

  async function invalid(c: AppContext, userId: string, status: number, message: string, headers: Record<string, string> = {}): Promise<Response> {
    if (isJson(c)) return json(c, status, { message }, headers);
    return stepPage(c, userId, Object.assign(fieldErrors(), { code: message }), status, headers);
  }

  async function submit(c: AppContext): Promise<Response> {
    const step = c.get('auth');
    const pending = await step.pendingSecondStep();
    if (pending === null) return logInAgain(c);
    const code = text(c.get('input'), 'code') ?? '';
    if (code === '') return invalid(c, pending.userId, 400, 'Enter the code.');
    const result = await accounts.verifySecondFactor({ userId: pending.userId, code, ip: c.get('auth').clientIp });
    if (!result.ok && result.reason === 'throttled') {
      return invalid(c, pending.userId, 429, throttledMessage(result.retryAfter), { 'retry-after': String(result.retryAfter) });
    }
    if (!result.ok) {
      if (!(await failures.record(c))) return invalid(c, pending.userId, 401, INVALID);
      await failures.clear(c);
      await step.cancelSecondStep(); // SEC-79: the fifth wrong code ends this pending step
      return logInAgain(c, `${INVALID} Too many wrong codes: log in again.`);
    }
    const user = await accounts.loadUser(pending.userId);
    await failures.clear(c);
    // The session records the factor verified: a code from the app or a recovery code (SEC-84).
    if (user === null || !(await step.completeSecondStep(user, { method: result.method }))) return logInAgain(c);
    return loginSucceeded(c, user, pending.next ?? '/dashboard');
  }

  return { path: '/login/two-factor', GET: [show], POST: [readInput({ code: 'text' }), guard, submit] };
}
