/**
 * Re-authentication ("sudo mode", SEC-35), and the step-up of SEC-84: the form that makes a
 * non-fresh login (one restored from remember-me, or older than the fresh window) fresh again. The
 * password is checked by `accounts.confirmPassword`, throttled by the session (never refused
 * because strangers locked the account, SEC-52). An account with a second factor gives it again
 * too, so that a stolen password and a stolen, stale session together still cannot change the
 * factors or the password: a TOTP or recovery code in the same form (checked and throttled per
 * account by `accounts.verifySecondFactor`, SEC-79), or its passkey (`/reauth/passkey`, with the
 * password, behind the passkey throttle per IP). Only then `auth.confirmLogin` issues a new
 * session token (ASVS 7.2.4) recording what was proved, `pwd` and `otp`, `recovery` or `hwk`
 * (RFC 8176), and the user goes on to `next`. An account without one keeps the password alone.
 *
 * @module app/routes/reauth
 */
import type { SecondFactorMethod, UserRecord } from 'latchkey';
import { readInput, text } from '../body.ts';
import { fieldErrors, isJson, json, page, problem, redirect, throttledMessage } from '../answers.ts';
import { passkeyAttempt } from '../throttles.ts';
import type { AppContext, Deps, FieldErrors, Handler, Route } from '../types.ts';
import { reauthPage } from '../views/auth.ts';
import { credentialOf, NOT_ACCEPTED, passkeysOf, passkeysOn } from './passkey-input.ts';

const CONFIRMED = 'Password confirmed.';
const FACTOR_REQUIRED = 'Two-factor code required.';

export function reauthRoute(deps: Deps, csrf: Handler, loginRequired: Handler): Route[] {
  const { accounts } = deps;
  const user = async (c: AppContext) => (await c.get('auth').user())!;
  /**
   * The account's second factors, as the login asks for them (routes/auth.ts): a passkey stays one
   * while passkeys are off, so such an account cannot step up with its password alone, as it
   * cannot log in with it alone (SEC-84: fail closed, never a weaker re-authentication than login).
   */
  const factorsOf = (u: UserRecord): Promise<SecondFactorMethod[]> => accounts.secondFactorMethods(u.id);

  async function show(c: AppContext, status = 200, errors?: FieldErrors): Promise<Response> {
    const u = await user(c);
    const next = c.get('auth').nextTarget(c.get('input') ? text(c.get('input'), 'next') : undefined, '/dashboard');
    const methods = await factorsOf(u);
    return page(c, (v) => reauthPage({ csrf: v.csrf, next, login: u.email ?? u.username ?? '', methods, passkeys: deps.passkeys !== null, errors }), status);
  }

  async function failed(c: AppContext, status: number, message: string, errors?: FieldErrors, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
    if (isJson(c)) return json(c, status, { message, ...(errors && { errors }), ...extra }, headers);
    c.get('auth').flash(message, 'error');
    return show(c, status, errors);
  }

  /** The password, checked; an answer when it is missing, wrong or throttled, else null. */
  async function checkPassword(c: AppContext, u: UserRecord): Promise<Response | null> {
    const auth = c.get('auth');
    const password = text(c.get('input'), 'password') ?? '';
    if (password === '') return failed(c, 400, 'Enter your password.', Object.assign(fieldErrors(), { password: 'Enter your password.' }));
    // Throttled by this session, not the account: strangers' failures never refuse its owner (finding 8).
    const result = await accounts.confirmPassword({ userId: u.id, password, auth, ip: auth.clientIp });
    if (result.ok) return null;
    if (result.reason === 'invalid') return failed(c, 401, 'Incorrect password.');
    if (result.reason === 'throttled') return failed(c, 429, throttledMessage(result.retryAfter), undefined, { 'retry-after': String(result.retryAfter) });
    const reason = Object.values(result.errors).join(' ');
    return failed(c, 400, reason, Object.assign(fieldErrors(), { password: reason }));
  }

  /** Fresh again, with `methods` recorded (SEC-84), then on to `next`. */
  async function confirmed(c: AppContext, methods: string[]): Promise<Response> {
    const auth = c.get('auth');
    const next = auth.nextTarget(text(c.get('input'), 'next'), '/dashboard');
    if (!(await auth.confirmLogin({ methods }))) return failed(c, 401, 'Incorrect password.');
    if (isJson(c)) return json(c, 200, { message: CONFIRMED, ...(methods.includes('hwk') && { next }) });
    auth.flash(CONFIRMED, 'success');
    return redirect(c, next);
  }

  async function post(c: AppContext): Promise<Response> {
    const u = await user(c);
    const methods = await factorsOf(u);
    const code = text(c.get('input'), 'code') ?? '';
    if (methods.length > 0 && code === '' && text(c.get('input'), 'password')) {
      const message = methods.includes('totp') ? 'Enter the code from your authenticator app, or a recovery code.' : 'Confirm with your passkey.';
      return failed(c, 400, message, Object.assign(fieldErrors(), { code: message }), {}, { message: FACTOR_REQUIRED, mfa_required: true, methods });
    }
    const wrong = await checkPassword(c, u);
    if (wrong !== null) return wrong;
    if (methods.length === 0) return confirmed(c, ['pwd']);
    const auth = c.get('auth');
    const result = await accounts.verifySecondFactor({ userId: u.id, code, ip: auth.clientIp });
    if (result.ok) return confirmed(c, ['pwd', result.method]);
    if (result.reason === 'throttled') return failed(c, 429, throttledMessage(result.retryAfter), undefined, { 'retry-after': String(result.retryAfter) });
    return failed(c, 401, 'Invalid code.', Object.assign(fieldErrors(), { code: 'Invalid code.' }));
  }

  async function passkeyOptions(c: AppContext): Promise<Response> {
    const u = await user(c);
    if (!(await passkeysOf(deps).has(u.id))) return problem(c, 409, 'This account has no passkey.');
    return json(c, 200, await passkeysOf(deps).authenticationOptions({ userId: u.id }), { 'cache-control': 'no-store' });
  }

  async function passkey(c: AppContext): Promise<Response> {
    const u = await user(c);
    const given = credentialOf(c);
    if (!given.ok) return given.answer;
    const wrong = await checkPassword(c, u);
    if (wrong !== null) return wrong;
    const attempt = await deps.throttles.passkey.reserve(passkeyAttempt(c.get('auth').clientIp));
    if (!attempt.ok) return failed(c, 429, throttledMessage(attempt.retryAfter), undefined, { 'retry-after': String(attempt.retryAfter) });
    const result = await passkeysOf(deps).authenticate({ response: given.credential, userId: u.id });
    if (!result.ok) {
      await attempt.fail();
      return problem(c, 401, NOT_ACCEPTED);
    }
    await attempt.succeed();
    return confirmed(c, ['pwd', 'hwk']);
  }

  const on = passkeysOn(deps);
  return [
    {
      path: '/reauth',
      GET: [
        loginRequired,
        async (c) => (isJson(c) ? json(c, 200, { message: 'POST your password (and code, with two-factor login) as JSON to this URL to confirm it is you.', methods: await factorsOf(await user(c)) }) : show(c)),
      ],
      // The guard runs before the body is read: an anonymous visitor is sent to log in (the app's HTTP contract).
      POST: [loginRequired, readInput({ password: 'text', code: 'text', next: 'text', username: 'text' }), csrf, post],
    },
    { path: '/reauth/passkey/options', POST: [loginRequired, readInput({}), csrf, on, passkeyOptions] },
    { path: '/reauth/passkey', POST: [loginRequired, readInput({ credential: 'object', password: 'text', next: 'text' }), csrf, on, passkey] },
  ];
}
