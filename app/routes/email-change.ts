/**
 * Changing the account's address (the app's HTTP contract; SEC-63, SEC-71): a fresh login asks for it
 * (SEC-35), the accounts mail a link to the NEW address and a notice to the old one, and the
 * address changes only when that link is confirmed, by a POST from the page it opens (SEC-42).
 * The answer is the same whether the new address belongs to someone already (SEC-16); the
 * holder of the link is told at confirmation, having proven the address is theirs. The POST looks
 * the token up only within the per-IP limit (SEC-54, token-throttle.ts), and a confirmation from
 * the account's own browser rotates its session and ends the others (SEC-61, links.ts).
 *
 * @module app/routes/email-change
 */
import { freshLoginRequired, loginRequired } from 'latchkey/hono';
import { confirmPath } from '../views/confirm.ts';
import { readInput, text } from '../body.ts';
import { fieldErrors, isJson, json, problem, redirect } from '../answers.ts';
import type { AppContext, Deps, Route } from '../types.ts';
import { formGuard } from './guard.ts';
import { ASK_AGAIN, endOtherSessionsOf, invalidLink, openTokenLink, TOKEN_PAGE_HEADERS, tokenField } from './links.ts';
import { tokenGate } from './token-throttle.ts';
import { CONFIRM_EMAIL_ACTION } from '../views/recovery.ts';

export const CHANGE_REQUESTED = 'Check your new address for a confirmation link.';
export const EMAIL_CHANGED = 'Your email address has been changed.';

export function emailChangeRoutes(deps: Deps): Route[] {
  const { accounts } = deps;
  const guard = formGuard();
  const gate = tokenGate(deps.throttles.token);

  async function requestChange(c: AppContext): Promise<Response> {
    const auth = c.get('auth');
    const user = (await auth.user())!;
    const result = await accounts.requestEmailChange({ userId: user.id, email: text(c.get('input'), 'email') ?? '', ip: auth.clientIp });
    if (result.ok) {
      if (isJson(c)) return json(c, 202, { message: CHANGE_REQUESTED });
      auth.flash(CHANGE_REQUESTED, 'success');
      return redirect(c, '/account');
    }
    if (result.reason === 'throttled') {
      const wait = result.retryAfter;
      return problem(c, 429, `Too many requests. Please wait ${wait} second${wait === 1 ? '' : 's'} and try again.`, { headers: { 'retry-after': String(wait) } });
    }
    const errors = Object.assign(fieldErrors(), result.errors);
    return problem(c, 400, Object.values(errors).join(' '), { errors });
  }

  const openLink = openTokenLink(CONFIRM_EMAIL_ACTION, ASK_AGAIN.emailChange);

  async function confirm(c: AppContext): Promise<Response> {
    const token = tokenField(text(c.get('input'), 'token'));
    if (token === null) return invalidLink(c, ASK_AGAIN.emailChange);
    const refused = await gate(c);
    if (refused) return refused;
    const result = await accounts.confirmEmailChange({ token });
    if (!result.ok && result.reason === 'invalid-token') return invalidLink(c, ASK_AGAIN.emailChange);
    if (!result.ok) return problem(c, 409, 'That address now belongs to another account; your address was not changed.', { headers: TOKEN_PAGE_HEADERS });
    await endOtherSessionsOf(c, result.user.id);
    if (isJson(c)) return json(c, 200, { message: EMAIL_CHANGED }, TOKEN_PAGE_HEADERS);
    c.get('auth').flash(EMAIL_CHANGED, 'success');
    return redirect(c, (await c.get('auth').user()) ? '/account' : '/login');
  }

  return [
    { path: '/account/email', POST: [loginRequired(), readInput({ email: 'text' }), guard, freshLoginRequired({ next: confirmPath('email') }), requestChange] },
    { path: '/confirm-email/:token', GET: [openLink] },
    { path: '/confirm-email', POST: [readInput({ token: 'text' }), guard, confirm] },
  ];
}
