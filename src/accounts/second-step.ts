/**
 * The second step of a login: a code from the account's authenticator app, or one of its recovery
 * codes. Throttled per account like passwords (SEC-79), under a counter of its own
 * (`2fa:id:<user id>`), so that failed codes neither lock the password step nor are forgiven by it;
 * reserved before checking and settled after, one attempt at a time per account (attempts.ts). A
 * TOTP code is accepted once (SEC-78), a recovery code too (SEC-81), and using a recovery code
 * mails the owner a notice (SEC-71). Whether a password came first is the app's pending state
 * (SEC-80); this checks the code only.
 *
 * @module accounts/second-step
 */
import type { FactorStore } from '../factor-store.ts';
import { hashRecoveryCode, normalizeRecoveryCode } from '../recovery-codes.ts';
import { verifyTotp } from '../totp.ts';
import { loginKey, type UserRecord } from '../user-store.ts';
import { reserveAttempt, serializeAttempt } from './attempts.ts';
import { sendNotice } from './mailer.ts';
import type { AccountsCore } from './options.ts';
import type { VerifySecondFactorResult } from './results.ts';
import { factorsOf } from './second-factors.ts';

/** What an authenticator app shows; anything else is tried as a recovery code. */
const SIX_DIGITS = /^[0-9]{6}$/;

/** What `Accounts.verifySecondFactor` does (documented there). */
export async function verifySecondFactor(
  core: AccountsCore,
  input: { userId: string; code?: unknown; ip?: string | null },
): Promise<VerifySecondFactorResult> {
  const factors = factorsOf(core, 'verifySecondFactor');
  if (typeof input?.userId !== 'string' || input.userId === '') throw new TypeError('verifySecondFactor: userId must be a non-empty string');
  // The account of a pending step can be gone by its second step (deleted meanwhile): that is an
  // outcome the caller answers like a wrong code, not a misuse that would become a 500.
  const user = await core.users.getUserById(input.userId);
  if (user === null) return { ok: false, reason: 'invalid' };
  const ip = input.ip ?? null;
  const key = `2fa:id:${user.id}`;
  const login = loginKey(user);
  return serializeAttempt(core, key, login, ip, async () => {
    const attempt = await reserveAttempt(core, key, login, ip, null);
    if (!attempt.ok) return attempt;
    // Every refusal counts, malformed input included: a guesser gets no free tries (SEC-79).
    const method = await check(core, factors, user, input.code, ip);
    if (method === null) {
      const failures = await attempt.fail();
      core.events.emit('secondFactorFailed', { userId: user.id, ip, failures });
      return { ok: false, reason: 'invalid' };
    }
    await attempt.succeed();
    return { ok: true, method };
  });
}

/** The method the code passed by, spending it, or null. */
async function check(core: AccountsCore, factors: FactorStore, user: UserRecord, code: unknown, ip: string | null): Promise<'otp' | 'recovery' | null> {
  if (typeof code === 'string' && SIX_DIGITS.test(code)) {
    const record = await factors.getTotp(user.id);
    if (record === null || !record.confirmed) return null;
    const verdict = verifyTotp(record.secret, code, core.now());
    // The store refuses any step ≤ the last one used, atomically: a replay fails (SEC-78).
    return verdict.ok && (await factors.useTotpStep(user.id, verdict.step)) ? 'otp' : null;
  }
  const canonical = normalizeRecoveryCode(code);
  if (canonical === null || !(await factors.useRecoveryCode(user.id, hashRecoveryCode(canonical)))) return null;
  const remaining = await factors.countRecoveryCodes(user.id);
  sendNotice(core, 'recoveryCodeUsed', user); // SEC-81, SEC-71
  core.events.emit('recoveryCodeUsed', { userId: user.id, ip, remaining });
  return 'recovery';
}
