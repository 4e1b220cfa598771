/**
 * Logging in with a passkey (the app's HTTP contract, "Second factors"), in two forms:
 * - **passwordless**: a discoverable passkey with user verification is a full, fresh login by
 *   itself (SEC-82, SEC-84: something held, and something known or are), recorded as `hwk`
 *   (RFC 8176). It keeps what a password login keeps: an inactive account is refused as a wrong
 *   password is (401, the same words for every refusal), an unverified one under
 *   `EMAIL_VERIFICATION=required` is told to verify first (403, SEC-62), and failures are
 *   throttled per IP (SEC-53: 429 with `Retry-After`). New challenges are counted per IP too: each
 *   is a row in the store, asked for by anyone;
 * - **the second step** after a password (SEC-80): the pending step's user's passkeys only, its
 *   challenge issued to that user; completed as `['pwd', 'hwk']` (SEC-84). A refused passkey counts
 *   as a wrong code does: the fifth failure of one pending step ends it (SEC-79), and per IP.
 * Both answer as a login does, with the target in the JSON (`next`) for the passkey script.
 *
 * @module app/routes/passkey-login
 */
import { readInput, text } from '../body.ts';
import { json, problem, throttledMessage } from '../answers.ts';
import { codeFailures } from '../second-step.ts';
import { passkeyAttempt } from '../throttles.ts';
import type { AppContext, Deps, Route } from '../types.ts';
import { formGuard } from './guard.ts';
import { credentialOf, NOT_ACCEPTED, passkeysOf, passkeysOn } from './passkey-input.ts';
import { loginSucceeded, logInAgain } from './two-factor.ts';

const UNVERIFIED = 'Please verify your email address first.';
const NO_STORE = { 'cache-control': 'no-store' };

export function passkeyLoginRoutes(deps: Deps): Route[] {
  const { accounts, config, throttles } = deps;
  const guard = formGuard();
  const on = passkeysOn(deps);
  const failures = codeFailures(deps.stores.sessions, config.secretKey);
  const throttled = (c: AppContext, retryAfter: number) => problem(c, 429, throttledMessage(retryAfter), { headers: { 'retry-after': String(retryAfter) } });

  async function loginOptions(c: AppContext): Promise<Response> {
    const verdict = await throttles.challenge.countRequest({ ip: c.get('auth').clientIp });
    if (!verdict.ok) return throttled(c, verdict.retryAfter);
    return json(c, 200, await passkeysOf(deps).authenticationOptions(), NO_STORE);
  }

  async function login(c: AppContext): Promise<Response> {
    const auth = c.get('auth');
    const given = credentialOf(c);
    if (!given.ok) return given.answer;
    const attempt = await throttles.passkey.reserve(passkeyAttempt(auth.clientIp));
    if (!attempt.ok) return throttled(c, attempt.retryAfter);
    const result = await passkeysOf(deps).authenticate({ response: given.credential });
    const user = result.ok ? await accounts.loadUser(result.userId) : null;
    // An inactive account's passkey is refused as any other (SEC-13: the same answer).
    if (user === null || !user.isActive) {
      await attempt.fail();
      return problem(c, 401, NOT_ACCEPTED);
    }
    await attempt.succeed();
    // Said only after a verified passkey, so it reveals nothing to a prober (SEC-62).
    if (config.emailVerification === 'required' && !user.emailVerified) return problem(c, 403, UNVERIFIED);
    if (!(await auth.login(user, { remember: c.get('input').fields.remember === true, methods: ['hwk'] }))) return problem(c, 401, NOT_ACCEPTED);
    return loginSucceeded(c, user, auth.nextTarget(text(c.get('input'), 'next'), '/dashboard'), true);
  }

  async function stepOptions(c: AppContext): Promise<Response> {
    const pending = await c.get('auth').pendingSecondStep();
    if (pending === null) return logInAgain(c, 'Log in first.');
    if (!(await passkeysOf(deps).has(pending.userId))) return problem(c, 409, 'This account has no passkey.');
    return json(c, 200, await passkeysOf(deps).authenticationOptions({ userId: pending.userId }), NO_STORE);
  }

  async function step(c: AppContext): Promise<Response> {
    const auth = c.get('auth');
    const pending = await auth.pendingSecondStep();
    if (pending === null) return logInAgain(c);
    const given = credentialOf(c);
    if (!given.ok) return given.answer;
    const attempt = await throttles.passkey.reserve(passkeyAttempt(auth.clientIp));
    if (!attempt.ok) return throttled(c, attempt.retryAfter);
    const result = await passkeysOf(deps).authenticate({ response: given.credential, userId: pending.userId });
    if (!result.ok) {
      await attempt.fail();
      if (!(await failures.record(c))) return problem(c, 401, NOT_ACCEPTED);
      await failures.clear(c);
      await auth.cancelSecondStep(); // SEC-79: the fifth failure ends this pending step
      return logInAgain(c, `${NOT_ACCEPTED} Too many failed attempts: log in again.`);
    }
    await attempt.succeed();
    const user = await accounts.loadUser(pending.userId);
    await failures.clear(c);
    if (user === null || !(await auth.completeSecondStep(user, { method: 'hwk' }))) return logInAgain(c);
    return loginSucceeded(c, user, pending.next ?? '/dashboard', true);
  }

  return [
    { path: '/login/passkey/options', POST: [readInput({}), guard, on, loginOptions] },
    { path: '/login/passkey', POST: [readInput({ credential: 'object', remember: 'flag', next: 'text' }), guard, on, login] },
    { path: '/login/two-factor/passkey/options', POST: [readInput({}), guard, on, stepOptions] },
    { path: '/login/two-factor/passkey', POST: [readInput({ credential: 'object' }), guard, on, step] },
  ];
}
