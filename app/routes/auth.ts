/**
 * Registration, login and logout (the app's HTTP contract, "Routes"). Login takes exactly one of `login`,
 * `email`, `username`; an unknown login, a wrong password and an inactive account get the same
 * 401, same body and headers (SEC-13; the accounts module makes the cost the same too, SEC-14).
 * Registration logs the new user in at once (the security requirements §5.2), so an address already registered
 * is told as such (409); with `EMAIL_VERIFICATION=required` it logs nobody in and answers the same
 * for a new and a registered address (SEC-15), and a correct password for an unverified account
 * is told to verify first, a wrong one the usual 401 (SEC-62). Browsers get the same texts as
 * flash messages and 303 redirects.
 *
 * @module app/routes/auth
 */
import { isServiceUnavailable, type SecondFactorMethod, type UserRecord } from 'latchkey';
import { loginRequired } from 'latchkey/hono';
import { readInput, text } from '../body.ts';
import { fieldErrors, isJson, json, page, problem, redirect, throttledMessage } from '../answers.ts';
import type { AppContext, Deps, FieldErrors, Input, Route } from '../types.ts';
import { formGuard } from './guard.ts';
import { loginPage, registerPage } from '../views/auth.ts';
import { reauthRoute } from './reauth.ts';
import { CODE_REQUIRED, loginSucceeded, twoFactorRoute } from './two-factor.ts';
import { deviceCookie, readDeviceCookie } from '../throttles.ts';

const INVALID = 'Invalid username or password.';
const EXISTS = 'Email already registered. Login instead';
const UNVERIFIED = 'Please verify your email address first.';
const PENDING = 'Check your inbox to finish registering.';
const LOGIN_FIELDS = ['login', 'email', 'username'] as const;

export function authRoutes(deps: Deps): Route[] {
  const { accounts, config } = deps;
  const guard = formGuard();

  async function showLogin(c: AppContext, status = 200, form: { login?: string; remember?: boolean; errors?: FieldErrors } = {}, headers: Record<string, string> = {}) {
    const next = c.get('auth').nextTarget(c.get('input') ? text(c.get('input'), 'next') : undefined, '/dashboard');
    return page(c, (v) => loginPage({ csrf: v.csrf, next, passkeys: deps.passkeys !== null, ...form }), status, headers);
  }

  async function loginFailed(c: AppContext, status: number, message: string, form: { login: string; remember: boolean; errors?: FieldErrors }, headers: Record<string, string> = {}) {
    if (isJson(c)) return json(c, status, form.errors ? { message, errors: form.errors } : { message }, headers);
    c.get('auth').flash(message, 'error'); // shown at once by the re-rendered form, as a flash
    return showLogin(c, status, form, headers);
  }

  /**
   * After a right password: a login (no second factor: `[]`), or for an account with second
   * factors a pending step that is not one (SEC-80), carrying `remember` and `next`, and the
   * factors it may be completed with (TOTP, passkey). Null for an account that cannot log in.
   */
  async function passwordStep(c: AppContext, user: UserRecord, remember: boolean, next: string): Promise<SecondFactorMethod[] | null> {
    const methods = await accounts.secondFactorMethods(user.id);
    if (methods.length === 0) return (await c.get('auth').login(user, { remember })) ? methods : null;
    return (await c.get('auth').beginSecondStep(user, { remember, next })) ? methods : null;
  }

  async function postLogin(c: AppContext): Promise<Response> {
    const auth = c.get('auth');
    const input = c.get('input');
    const given = LOGIN_FIELDS.filter((name) => input.fields[name] !== undefined);
    const field = given[0] ?? 'login';
    const login = text(input, field) ?? '';
    const password = text(input, 'password') ?? '';
    const remember = input.fields.remember === true;
    const errors = fieldErrors();
    if (given.length > 1) errors[given[1] as string] = 'Send only one of login, email or username.';
    if (login === '') errors[field] = 'Enter your email address or username.';
    if (password === '') errors.password = 'Enter your password.';
    if (Object.keys(errors).length > 0) return loginFailed(c, 400, 'Some fields are not valid.', { login, remember, errors });

    const device = readDeviceCookie(c.req.header('cookie'), auth.secure);
    const result = await accounts.authenticate({ login, password, ip: auth.clientIp, device });
    const next = auth.nextTarget(text(input, 'next'), '/dashboard');
    const step = result.ok ? await passwordStep(c, result.user, remember, next) : null;
    if (result.ok && step !== null) {
      let answer: Response;
      if (step.length === 0) answer = loginSucceeded(c, result.user, next);
      else if (isJson(c)) answer = json(c, 200, { message: CODE_REQUIRED, mfa_required: true, methods: step });
      else answer = redirect(c, '/login/two-factor');
      // The password was right: this browser is trusted from now on, strangers' failures cannot lock it out (SEC-52).
      if (result.device !== null) answer.headers.append('set-cookie', deviceCookie(result.device, auth.secure));
      return answer;
    }
    if (result.ok || result.reason === 'invalid') return loginFailed(c, 401, INVALID, { login, remember });
    if (result.reason === 'unverified') return loginFailed(c, 403, UNVERIFIED, { login, remember });
    if (result.reason === 'throttled') {
      return loginFailed(c, 429, throttledMessage(result.retryAfter), { login, remember }, { 'retry-after': String(result.retryAfter) });
    }
    const renamed = fieldErrors();
    for (const [name, reason] of Object.entries(result.errors)) renamed[name === 'login' ? field : name] = reason;
    return loginFailed(c, 400, Object.values(renamed).join(' '), { login, remember, errors: renamed });
  }

  async function showRegister(c: AppContext, status = 200, form: { input?: Input; errors?: FieldErrors } = {}) {
    const kept = (name: string) => (form.input ? text(form.input, name) : undefined);
    return page(
      c,
      (v) => registerPage({ csrf: v.csrf, minLength: config.passwordMinLength, email: kept('email'), name: kept('name'), username: kept('username'), errors: form.errors }),
      status,
    );
  }

  async function postRegister(c: AppContext): Promise<Response> {
    const auth = c.get('auth');
    const input = c.get('input');
    const username = text(input, 'username');
    const result = await accounts.register({
      email: text(input, 'email') ?? '',
      name: text(input, 'name') ?? '',
      password: text(input, 'password') ?? '',
      username: username === '' ? undefined : username,
      ip: auth.clientIp,
    });
    if (result.ok && 'pending' in result) {
      // EMAIL_VERIFICATION=required: the same for a new and a taken address, nobody logged in (SEC-15).
      if (isJson(c)) return json(c, 202, { message: PENDING });
      auth.flash(PENDING, 'info');
      return redirect(c, '/login');
    }
    if (result.ok) {
      try {
        await auth.login(result.user);
      } catch (error) {
        if (!isServiceUnavailable(error)) throw error;
        // The account exists now (a retry would be told so, 409): say that, rather than a bare 503.
        return problem(c, 503, 'Your account was created, but the server could not log you in right now. Log in again shortly.', {
          headers: { 'retry-after': '5' },
        });
      }
      if (isJson(c)) return json(c, 201, { message: 'Registration successful!', user_id: Number(result.user.id) });
      auth.flash('Registration successful!', 'success');
      return redirect(c, '/dashboard');
    }
    if (result.reason === 'invalid') {
      const errors = Object.assign(fieldErrors(), result.errors);
      if (isJson(c)) return json(c, 400, { message: Object.values(errors).join(' '), errors });
      return showRegister(c, 400, { input, errors });
    }
    if (result.reason === 'throttled') {
      const wait = result.retryAfter;
      return problem(c, 429, `Too many registrations from your network. Please wait ${wait} second${wait === 1 ? '' : 's'} and try again.`, {
        headers: { 'retry-after': String(wait) },
      });
    }
    if (result.field === 'username') {
      // The unique index refused the username, not the address.
      const errors = Object.assign(fieldErrors(), { username: 'This username is taken. Choose another one.' });
      if (isJson(c)) return json(c, 409, { message: 'Username already taken.', errors });
      return showRegister(c, 409, { input, errors });
    }
    if (isJson(c)) return json(c, 409, { message: EXISTS });
    auth.flash(EXISTS, 'info');
    return redirect(c, '/login');
  }


  async function postLogout(c: AppContext): Promise<Response> {
    try {
      await c.get('auth').logout();
    } catch (error) {
      if (!isServiceUnavailable(error)) throw error;
      // the security requirements §5.6: say the server could not end the session; this browser's cookies are cleared anyway.
      return problem(c, 503, 'The server could not end your session right now; this browser is logged out. Try again shortly to end it on the server.', {
        headers: { 'retry-after': '5' },
      });
    }
    if (isJson(c)) return json(c, 200, { message: 'Logout successful!' });
    c.get('auth').flash('Logout successful!', 'success');
    return redirect(c, '/');
  }

  /** GET of a form page: logged-in users go to the dashboard; API clients get the fields to send. */
  const formPage = (fields: string, show: (c: AppContext) => Promise<Response>) => async (c: AppContext) => {
    if (await c.get('auth').user()) return redirect(c, '/dashboard');
    if (isJson(c)) return json(c, 200, { message: `POST ${fields} as JSON to this URL.` });
    return show(c);
  };

  return [
    {
      path: '/register',
      GET: [formPage('email, name, password (and optionally username)', (c) => showRegister(c))],
      POST: [readInput({ email: 'text', name: 'text', username: 'text', password: 'text' }), guard, postRegister],
    },
    {
      path: '/login',
      GET: [formPage('login (or email, or username), password and optionally remember (true or false)', (c) => showLogin(c))],
      POST: [readInput({ login: 'text', email: 'text', username: 'text', password: 'text', remember: 'flag', next: 'text' }), guard, postLogin],
    },
    { path: '/logout', POST: [readInput({}), guard, postLogout] },
    ...reauthRoute(deps, guard, loginRequired()),
    twoFactorRoute(deps, guard),
  ];
}
