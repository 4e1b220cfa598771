/**
 * Email change (SEC-63, SEC-71): the new address is held as pending, in a link mailed
 * to it (valid 24 hours), until that link is confirmed; the old address gets a notice at once and
 * again at the change. The request answers the same whether the new address belongs to another
 * account (no enumeration through this form); uniqueness is decided at the confirmation, by the
 * store's unique index. A fresh login before the request is the app's job (SEC-35).
 *
 * @module accounts/email-change
 */
import type { UserRecord } from '../user-store.ts';
import { canonicalizeEmail, typedForm } from './identifier.ts';
import { countMail, inBackground, sendMail, sendNotice, throttledAnswer } from './mailer.ts';
import { consumeLinkToken, issueLinkToken, LINKS, requireRecovery } from './one-time-links.ts';
import { writeUser, type AccountsCore } from './options.ts';
import type { ConfirmEmailChangeResult, RequestEmailChangeResult } from './results.ts';

/** What `Accounts.requestEmailChange` does (documented there). */
export async function requestEmailChange(core: AccountsCore, input: { userId: string; email: unknown; ip?: string | null }): Promise<RequestEmailChangeResult> {
  const recovery = requireRecovery(core, 'requestEmailChange');
  const user = await core.users.getUserById(input.userId);
  if (user === null) throw new TypeError(`requestEmailChange: no account ${String(input.userId)}`);
  const canonical = canonicalizeEmail(input.email);
  if (!canonical.ok) return { ok: false, reason: 'invalid', errors: { email: canonical.reason } };
  if (canonical.value === user.emailCanonical) return { ok: false, reason: 'invalid', errors: { email: 'This is the address of your account already.' } };
  const verdict = await countMail(core, canonical.value, input.ip ?? null);
  if (!verdict.ok) return throttledAnswer(verdict);
  // The address as typed (NFKC, trimmed) is where the mail goes and what is stored (SEC-18).
  const typed = typedForm(input.email as string);
  // Only the latest request is pending. Stored before the answer (a store failure is a 503); taken
  // or not, the same answer and the same mail.
  await recovery.tokens.deleteUserTokens(user.id, LINKS.emailChange.purpose);
  const token = await issueLinkToken(recovery, 'emailChange', user.id, typed);
  inBackground(core, 'emailChange', typed, () => sendMail(core, 'emailChange', typed, user, recovery.links.confirmEmail(token)));
  sendNotice(core, 'emailChangeNotice', user);
  return { ok: true };
}

/** What `Accounts.confirmEmailChange` does (documented there). */
export async function confirmEmailChange(core: AccountsCore, input: { token: unknown }): Promise<ConfirmEmailChangeResult> {
  const recovery = requireRecovery(core, 'confirmEmailChange');
  const token = await consumeLinkToken(recovery, 'emailChange', input?.token);
  if (token === null || token.email === null) return { ok: false, reason: 'invalid-token' };
  const user = await core.users.getUserById(token.userId);
  // Canonicalised again: the rules may have changed since the request (SEC-18).
  const canonical = canonicalizeEmail(token.email);
  if (user === null || !user.isActive || !canonical.ok) return { ok: false, reason: 'invalid-token' };
  const outcome = await writeUser(core, user.id, () => core.users.changeEmail(user.id, token.email as string, canonical.value));
  if (outcome === 'missing') return { ok: false, reason: 'invalid-token' };
  // Registered by another account since the request: the unique index decided (SEC-63).
  if (outcome === 'taken') return { ok: false, reason: 'taken' };
  const changed: UserRecord = Object.freeze({ ...user, email: token.email, emailCanonical: canonical.value, emailVerified: true });
  sendNotice(core, 'emailChangeNotice', user);
  core.events.emit('emailChanged', { user: changed, previousEmail: user.email });
  return { ok: true, user: changed };
}
