/**
 * Email verification (SEC-15, SEC-61, SEC-62): a link, valid 24 hours, mailed to the
 * account's address at registration (with `emailVerification` 'optional' or 'required') and on
 * request, limited per address (SEC-54). The link is bound to the address it was sent to: after
 * an email change, a link for the old address verifies nothing (SEC-61). Consuming it is a POST's
 * job (SEC-42); rotating the session after it is the app's.
 *
 * @module accounts/email-verification
 */
import type { UserRecord } from '../user-store.ts';
import { countMail, inBackground, sendMail, throttledAnswer } from './mailer.ts';
import { consumeLinkToken, issueLinkToken, requireRecovery, tokenOwner, type RecoveryCore } from './one-time-links.ts';
import { writeUser, type AccountsCore } from './options.ts';
import type { SendEmailVerificationResult, VerifyEmailResult } from './results.ts';

/**
 * Mails `user` a verification link in the background, within the address's limit (registration:
 * the caller does not wait, and a refused or failed mail changes nothing, SEC-15). Nothing without
 * tokens or an address.
 */
export function mailVerificationLink(core: AccountsCore, user: UserRecord, ip: string | null): void {
  const { email, emailCanonical } = user;
  if (core.tokens === null || email === null || emailCanonical === null) return;
  const recovery = core as RecoveryCore;
  inBackground(core, 'verify', email, async () => {
    if ((await countMail(core, emailCanonical, ip)).ok) await sendVerification(recovery, user, email, emailCanonical);
  });
}

async function sendVerification(core: RecoveryCore, user: UserRecord, email: string, emailCanonical: string): Promise<void> {
  const token = await issueLinkToken(core, 'verify', user.id, emailCanonical);
  await sendMail(core, 'verify', email, user, core.links.verifyEmail(token));
}

/** What `Accounts.sendEmailVerification` does (documented there). */
export async function sendEmailVerification(core: AccountsCore, userId: string): Promise<SendEmailVerificationResult> {
  const recovery = requireRecovery(core, 'sendEmailVerification');
  const user = await core.users.getUserById(userId);
  if (user === null) throw new TypeError(`sendEmailVerification: no account ${String(userId)}`);
  const { email, emailCanonical } = user;
  if (email === null || emailCanonical === null) return { ok: false, reason: 'no-email' };
  if (user.emailVerified) return { ok: false, reason: 'verified' };
  const verdict = await countMail(core, emailCanonical, null);
  if (!verdict.ok) return throttledAnswer(verdict);
  // The token is stored before the answer (a store failure is a 503); the mail goes out after it.
  const token = await issueLinkToken(recovery, 'verify', user.id, emailCanonical);
  inBackground(core, 'verify', email, () => sendMail(core, 'verify', email, user, recovery.links.verifyEmail(token)));
  return { ok: true };
}

/** What `Accounts.verifyEmail` does (documented there). */
export async function verifyEmail(core: AccountsCore, input: { token: unknown }): Promise<VerifyEmailResult> {
  const recovery = requireRecovery(core, 'verifyEmail');
  const token = await consumeLinkToken(recovery, 'verify', input?.token);
  const user = token === null ? null : await tokenOwner(recovery, token);
  if (token === null || user === null) return { ok: false, reason: 'invalid-token' };
  // The store checks the address again in the same statement: an email change in between wins (SEC-61).
  if (!(await writeUser(core, user.id, () => core.users.markEmailVerified(user.id, token.email as string)))) return { ok: false, reason: 'invalid-token' };
  const verified: UserRecord = Object.freeze({ ...user, emailVerified: true });
  core.events.emit('emailVerified', { user: verified });
  return { ok: true, user: verified };
}
