/**
 * Email verification (the app's HTTP contract; SEC-61, SEC-62, SEC-42): the mailed link opens a page with
 * one button, and only its POST consumes the token, since mail scanners and link previews follow
 * GET links; a logged-in user whose address is not verified yet can ask for a new link (the
 * accounts rate-limit it). The POST looks the token up only within the per-IP limit (SEC-54,
 * token-throttle.ts), and a verification from the account's own browser rotates its session and
 * ends the others (SEC-61, links.ts). The registration and login answers of
 * `EMAIL_VERIFICATION=required` are in auth.ts.
 *
 * @module app/routes/verification
 */
import { loginRequired } from 'latchkey/hono';
import { readInput, text } from '../body.ts';
import { isJson, json, problem, redirect } from '../answers.ts';
import type { AppContext, Deps, Route } from '../types.ts';
import { formGuard } from './guard.ts';
import { ASK_AGAIN, endOtherSessionsOf, invalidLink, openTokenLink, TOKEN_PAGE_HEADERS, tokenField } from './links.ts';
import { tokenGate } from './token-throttle.ts';
import { VERIFY_ACTION } from '../views/recovery.ts';

export const VERIFIED = 'Your email address is verified.';
export const VERIFICATION_SENT = 'We have sent a new verification link to your address.';

export function verificationRoutes(deps: Deps): Route[] {
  const { accounts } = deps;
  const guard = formGuard();
  const gate = tokenGate(deps.throttles.token);

  const openLink = openTokenLink(VERIFY_ACTION, ASK_AGAIN.verify);

  async function postVerify(c: AppContext): Promise<Response> {
    const token = tokenField(text(c.get('input'), 'token'));
    if (token === null) return invalidLink(c, ASK_AGAIN.verify);
    const refused = await gate(c);
    if (refused) return refused;
    const result = await accounts.verifyEmail({ token });
    if (!result.ok) return invalidLink(c, ASK_AGAIN.verify);
    await endOtherSessionsOf(c, result.user.id);
    if (isJson(c)) return json(c, 200, { message: VERIFIED }, TOKEN_PAGE_HEADERS);
    c.get('auth').flash(VERIFIED, 'success');
    return redirect(c, (await c.get('auth').user()) ? '/dashboard' : '/login');
  }

  async function resend(c: AppContext): Promise<Response> {
    const user = (await c.get('auth').user())!;
    const result = await accounts.sendEmailVerification(user.id);
    if (result.ok) {
      if (isJson(c)) return json(c, 202, { message: VERIFICATION_SENT });
      c.get('auth').flash(VERIFICATION_SENT, 'success');
      return redirect(c, '/account');
    }
    if (result.reason === 'throttled') {
      const wait = result.retryAfter ?? 60;
      return problem(c, 429, `You asked for a link a moment ago. Please wait ${wait} second${wait === 1 ? '' : 's'} and try again.`, {
        headers: { 'retry-after': String(wait) },
      });
    }
    if (result.reason === 'verified') return problem(c, 409, 'Your email address is verified already.');
    return problem(c, 400, 'Your account has no email address to verify.');
  }

  return [
    // Before `/verify-email/:token`, whose 405 would otherwise answer this path's POST.
    { path: '/verify-email/resend', POST: [loginRequired(), readInput({}), guard, resend] },
    { path: '/verify-email/:token', GET: [openLink] },
    { path: '/verify-email', POST: [readInput({ token: 'text' }), guard, postVerify] },
  ];
}
