/**
 * The account's second factor (the app's HTTP contract, "Second factors"): set up an authenticator app
 * (a secret and its QR code, nothing on until a right code, SEC-77), confirm it (the 10 recovery
 * codes, shown once, SEC-81), turn it off, and a new set of recovery codes (the old void). Setup,
 * turning off and new codes need a fresh login (SEC-84, SEC-35): someone holding a remembered or
 * stale session cannot change the factors that protect the account.
 *
 * @module app/routes/totp
 */
import { freshLoginRequired, loginRequired } from 'latchkey/hono';
import { readInput, text } from '../body.ts';
import { isJson, json, page, problem, redirect } from '../answers.ts';
import type { AppContext, Deps, Route } from '../types.ts';
import { formGuard } from './guard.ts';
import { recoveryCodesPage, totpSetupPage } from '../views/totp.ts';
import { confirmPath, type Confirmable } from '../views/confirm.ts';

const ENABLED = 'Two-factor authentication is on.';
const NOT_ON = 'Two-factor authentication is not on.';

export function totpRoutes(deps: Deps): Route[] {
  const { accounts } = deps;
  const guard = formGuard();
  const login = loginRequired();
  // After re-authenticating, back to the account page that asks to confirm the action (views/confirm.ts).
  const fresh = (action: Confirmable) => freshLoginRequired({ next: confirmPath(action) });
  const userId = async (c: AppContext) => (await c.get('auth').user())!.id;

  async function setup(c: AppContext): Promise<Response> {
    const result = await accounts.beginTotpSetup(await userId(c));
    if (!result.ok) return problem(c, 409, `${ENABLED} Turn it off first to set up another app.`);
    if (isJson(c)) return json(c, 200, { secret: result.secret, otpauth_url: result.uri });
    // Loaded at the first setup, not at start-up: most requests never draw a QR code (issue 12's memory).
    const { default: QRCode } = await import('qrcode');
    const qrSvg = await QRCode.toString(result.uri, { type: 'svg' });
    // The secret is on this page: no cache keeps it (SEC-77, shown once).
    return page(c, (v) => totpSetupPage({ csrf: v.csrf, secret: result.secret, qrSvg }), 200, { 'cache-control': 'no-store' });
  }

  function showCodes(c: AppContext, body: Record<string, unknown>, codes: string[], heading: string): Promise<Response> | Response {
    if (isJson(c)) return json(c, 200, { ...body, recovery_codes: codes }, { 'cache-control': 'no-store' });
    return page(c, recoveryCodesPage({ codes, heading }), 200, { 'cache-control': 'no-store' });
  }

  async function confirm(c: AppContext): Promise<Response> {
    const result = await accounts.confirmTotpSetup({ userId: await userId(c), code: text(c.get('input'), 'code') ?? '' });
    if (!result.ok) return problem(c, 400, 'Invalid code. Type the code your app shows now, or set it up again from your account page.', { errors: { code: 'Invalid code.' } });
    return showCodes(c, { message: ENABLED }, result.recoveryCodes, ENABLED);
  }

  async function disable(c: AppContext): Promise<Response> {
    if (!(await accounts.disableTotp(await userId(c)))) return problem(c, 409, NOT_ON);
    const message = 'Two-factor authentication is off.';
    if (isJson(c)) return json(c, 200, { message });
    c.get('auth').flash(message, 'success');
    return redirect(c, '/account');
  }

  async function newCodes(c: AppContext): Promise<Response> {
    const id = await userId(c);
    // Recovery codes belong to the authenticator app (regenerateRecoveryCodes throws, a misuse, for
    // an account without one): a passkey-only account is told so, 409, never a 500.
    if (!(await accounts.secondFactorMethods(id)).includes('totp')) return problem(c, 409, NOT_ON);
    return showCodes(c, {}, await accounts.regenerateRecoveryCodes(id), 'Your new recovery codes');
  }

  const action = (...handlers: Route['POST'] & {}) => [login, readInput({}), guard, ...handlers];
  return [
    { path: '/account/totp/setup', POST: action(fresh('totp-setup'), setup) },
    { path: '/account/totp/confirm', POST: [login, readInput({ code: 'text' }), guard, confirm] },
    { path: '/account/totp/disable', POST: action(fresh('totp-disable'), disable) },
    { path: '/account/recovery-codes', POST: action(fresh('recovery-codes'), newCodes) },
  ];
}
