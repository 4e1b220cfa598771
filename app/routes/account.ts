/**
 * The account page and its three actions (the app's HTTP contract): change the password, log out every
 * other session, log out one session. The page and its JSON also show the second factors: TOTP
 * (on only with a confirmed authenticator app) and the passkeys (routes/passkeys.ts). The actions need a fresh login (SEC-35): a login restored
 * from remember-me, or older than the fresh window, is sent to `/reauth` (JSON: 403). Anonymous
 * visitors are sent to log in before anything else is read, the CSRF check included, so that a
 * form left open past the session's end leads to the login page rather than to a 403.
 *
 * @module app/routes/account
 */
import type { PasskeyCredential, SessionInfo } from 'latchkey';
import { freshLoginRequired, loginRequired } from 'latchkey/hono';
import { readInput, text } from '../body.ts';
import { fieldErrors, isJson, json, page, problem, redirect, throttledMessage } from '../answers.ts';
import type { AppContext, Deps, FieldErrors, Handler, Route } from '../types.ts';
import { confirmCard, confirmPath, readConfirm, type Confirmable } from '../views/confirm.ts';
import { formGuard } from './guard.ts';
import { accountPage } from '../views/account.ts';
import { describeAuthMethods } from '../views/auth-methods.ts';
import { describeDevice } from '../views/device.ts';
import { endedSummary } from '../views/session-status.ts';

/** Session ids are 16 random bytes in base64url (latchkey's token format): anything else names no session. */
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

function sessionJson(s: SessionInfo) {
  return {
    id: s.id,
    current: s.current,
    device: describeDevice(s.userAgent),
    ip_address: s.ipAddress,
    created_at: new Date(s.createdAt).toISOString(),
    last_seen_at: new Date(s.lastSeenAt).toISOString(),
    remembered: s.remembered,
    // How the user authenticated, as recorded and in words (SEC-84).
    methods: [...s.methods],
    signed_in_with: describeAuthMethods(s.methods),
  };
}

/** A passkey as the account JSON lists it (the app's HTTP contract), with its last use. */
function passkeyJson(p: PasskeyCredential) {
  return { id: p.id, name: p.name, created_at: new Date(p.createdAt).toISOString(), last_used_at: p.lastUsedAt === null ? null : new Date(p.lastUsedAt).toISOString() };
}

export function accountRoutes(deps: Deps): Route[] {
  const { accounts, config } = deps;
  const guard = formGuard();
  const login = loginRequired();
  // The fresh-only routes are POST-only: after re-authenticating, come back to the account page,
  // which asks to confirm the action in one click (views/confirm.ts).
  const freshFor = (action: Confirmable) => freshLoginRequired({ next: confirmPath(action) });
  /** The guard of one session's revoke: back to the confirmation of that very session. */
  const freshForSession: Handler = async (c, next) => {
    const id = c.req.param('id') ?? '';
    const denied = await c.get('auth').requireLogin({ fresh: true, next: SESSION_ID.test(id) ? confirmPath('revoke-session', id) : '/account' });
    if (denied) return denied;
    await next();
  };

  async function show(c: AppContext, status = 200, errors?: FieldErrors): Promise<Response> {
    const auth = c.get('auth');
    const user = (await auth.user())!;
    const sessions = await auth.listSessions();
    const isFresh = await auth.isFresh();
    // TOTP is the authenticator app alone: a passkey is a second factor too, but not "TOTP on".
    const [methods, codesLeft, passkeys] = await Promise.all([
      accounts.secondFactorMethods(user.id),
      accounts.countRecoveryCodes(user.id),
      deps.passkeys === null ? [] : deps.passkeys.list(user.id),
    ]);
    const totp = { enabled: methods.includes('totp'), codesLeft };
    if (isJson(c)) {
      // The contract's fields at the top level; `user` repeats them for clients written before.
      const account = { id: Number(user.id), email: user.email, name: user.name, username: user.username, email_verified: user.emailVerified };
      return json(c, status, {
        ...account,
        user: account,
        fresh: isFresh,
        totp_enabled: totp.enabled,
        passkeys: passkeys.map(passkeyJson),
        recovery_codes_left: totp.codesLeft,
        sessions: sessions.map(sessionJson),
      });
    }
    const action = errors ? null : readConfirm(c.req.query('confirm'));
    const focus = action === 'password' ? 'current_password' : action === 'email' ? 'email' : undefined;
    return page(
      c,
      (v) => {
        const confirm = action ? confirmCard(action, sessions, c.req.query('session'), v.csrf, passkeys) : undefined;
        const shown = deps.passkeys === null ? null : passkeys;
        return accountPage({ user, sessions, now: deps.now(), csrf: v.csrf, fresh: isFresh, totp, passkeys: shown, minLength: config.passwordMinLength, emailVerified: user.emailVerified, errors, confirm, focus });
      },
      status,
    );
  }

  async function done(c: AppContext, message: string, extra: Record<string, unknown> = {}): Promise<Response> {
    if (isJson(c)) return json(c, 200, { message, ...extra });
    c.get('auth').flash(message, 'success');
    return redirect(c, '/account');
  }

  async function changePassword(c: AppContext): Promise<Response> {
    const auth = c.get('auth');
    const user = (await auth.user())!;
    const input = c.get('input');
    const result = await accounts.changePassword({
      userId: user.id,
      currentPassword: text(input, 'current_password') ?? '',
      newPassword: text(input, 'new_password') ?? '',
      auth,
      ip: auth.clientIp,
    });
    if (result.ok) {
      const n = result.sessionsEnded;
      const ended = n === 0 ? 'You were not logged in anywhere else.' : `${n === 1 ? '1 other session was' : `${n} other sessions were`} logged out.`;
      return done(c, `Your password has been changed. ${ended}`, { sessions_ended: n });
    }
    if (result.reason === 'throttled') {
      return problem(c, 429, throttledMessage(result.retryAfter), { headers: { 'retry-after': String(result.retryAfter) } });
    }
    const errors = Object.assign(fieldErrors(), result.errors);
    if (isJson(c)) return json(c, 400, { message: Object.values(errors).join(' '), errors });
    return show(c, 400, errors);
  }

  async function revokeOthers(c: AppContext): Promise<Response> {
    // The list first, to say which devices were logged out; the count is what the store ended.
    const before = await c.get('auth').listSessions();
    const n = await c.get('auth').revokeOtherSessions();
    return done(c, endedSummary(n, before, deps.now()), { sessions_ended: n });
  }

  async function revokeOne(c: AppContext): Promise<Response> {
    const auth = c.get('auth');
    const id = c.req.param('id') ?? '';
    const current = await auth.session();
    if (!SESSION_ID.test(id) || !(await auth.revokeSession(id))) return problem(c, 404, 'No such session.');
    if (id === current?.id) {
      // Ending this very session is a logout.
      if (isJson(c)) return json(c, 200, { message: 'Logout successful!' });
      auth.flash('Logout successful!', 'success');
      return redirect(c, '/');
    }
    return done(c, 'Session ended.');
  }

  const action = (fields: Parameters<typeof readInput>[0], fresh: Handler) => [login, readInput(fields), guard, fresh];
  return [
    { path: '/account', GET: [login, (c) => show(c)] },
    { path: '/account/password', POST: [...action({ current_password: 'text', new_password: 'text', username: 'text' }, freshFor('password')), changePassword] },
    { path: '/account/sessions/revoke-others', POST: [...action({}, freshFor('revoke-others')), revokeOthers] },
    { path: '/account/sessions/:id/revoke', POST: [...action({}, freshForSession), revokeOne] },
  ];
}
