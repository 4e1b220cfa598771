/**
 * Password reset by a mailed link (SEC-16, SEC-52, SEC-57, SEC-60, SEC-71): the way
 * back in for an owner who forgot the password, and out of a lock that strangers' failures put on
 * the account.
 *
 * The request answers the same, in the same time, whatever the address: known, unknown, or past
 * its limit (SEC-16). Only the canonical form of what was typed is counted (the same for every
 * address, SEC-17); the lookup, the token and the mail happen after the answer, in the background.
 * The mail goes to the address as stored, found by its canonical form alone (SEC-18: "mıke@x"
 * finds the account of "mıke@x", never that of "mike@x").
 *
 * The reset checks the new password against the policy first, so a refusal leaves the link usable,
 * then consumes the token (one of two parallel resets wins, SEC-57), sets the password, ends every
 * session and remember-me series (SEC-60), every other link of the user (reset: SEC-57; a pending
 * email change, which an intruder may have asked for), and the account's failed-login lock
 * (SEC-52), marks the address verified (the mail was read there), and sends a notice (SEC-71).
 * Nobody is logged in.
 *
 * @module accounts/password-reset
 */
import type { UserRecord } from '../user-store.ts';
import { clearAccountFailures } from './attempts.ts';
import { canonicalizeEmail } from './identifier.ts';
import { countMail, inBackground, sendMail, sendNotice } from './mailer.ts';
import { consumeLinkToken, findLinkToken, issueLinkToken, LINKS, requireRecovery, tokenOwner, type RecoveryCore } from './one-time-links.ts';
import { writeUser, type AccountsCore } from './options.ts';
import type { ResetPasswordResult } from './results.ts';

const REQUESTED: { readonly ok: true } = Object.freeze({ ok: true });
const INVALID_TOKEN = Object.freeze({ ok: false as const, reason: 'invalid-token' as const });

/** What `Accounts.requestPasswordReset` does (documented there). */
export async function requestPasswordReset(core: AccountsCore, input: { email: unknown; ip?: string | null }): Promise<{ ok: true }> {
  const recovery = requireRecovery(core, 'requestPasswordReset');
  const email = canonicalizeEmail(input?.email);
  if (!email.ok) return REQUESTED;
  // Fails closed when the throttle's store is down (SEC-55): a 503, the same for every address.
  const verdict = await countMail(core, email.value, input.ip ?? null);
  if (!verdict.ok) return REQUESTED;
  inBackground(core, 'reset', email.value, () => mailResetLink(recovery, email.value));
  return REQUESTED;
}

/** Looks the address up and, when it is an active account's, mails it a new reset link. */
async function mailResetLink(core: RecoveryCore, canonical: string): Promise<void> {
  const user = await core.users.getUserByLogin(canonical);
  // A username equal to the string is not the address; an inactive account gets no way back in.
  if (user === null || user.emailCanonical !== canonical || user.email === null || !user.isActive) return;
  // A new request invalidates the older links (SEC-57): only the latest mail works.
  await core.tokens.deleteUserTokens(user.id, LINKS.reset.purpose);
  const token = await issueLinkToken(core, 'reset', user.id, canonical);
  await sendMail(core, 'reset', user.email, user, core.links.resetPassword(token));
}

/** What `Accounts.checkResetToken` does (documented there). */
export async function checkResetToken(core: AccountsCore, token: unknown): Promise<boolean> {
  const recovery = requireRecovery(core, 'checkResetToken');
  const found = await findLinkToken(recovery, 'reset', token);
  return found !== null && (await tokenOwner(recovery, found)) !== null;
}

/** What `Accounts.resetPassword` does (documented there). */
export async function resetPassword(core: AccountsCore, input: { token: unknown; password: unknown; ip?: string | null }): Promise<ResetPasswordResult> {
  const recovery = requireRecovery(core, 'resetPassword');
  const found = await findLinkToken(recovery, 'reset', input?.token);
  const user = found === null ? null : await tokenOwner(recovery, found);
  if (found === null || user === null) return INVALID_TOKEN;
  // The policy first (SEC-60, as at registration): a refused password leaves the link usable.
  const password = core.policy.check(input.password, { email: user.email ?? undefined, name: user.name, username: user.username ?? undefined });
  if (!password.ok) return { ok: false, reason: 'invalid', errors: { password: password.reason } };
  const hash = await core.hasher.hash(password.password);
  // Single use: of two parallel resets with one link, exactly one consumes it (SEC-57).
  if ((await consumeLinkToken(recovery, 'reset', input.token)) === null) return INVALID_TOKEN;
  await writeUser(core, user.id, () => core.users.updatePasswordHash(user.id, hash));
  await endEverything(recovery, user.id);
  const verified = await writeUser(core, user.id, () => core.users.markEmailVerified(user.id, found.email as string));
  const updated: UserRecord = Object.freeze({ ...user, passwordHash: hash, emailVerified: user.emailVerified || verified });
  sendNotice(core, 'passwordChanged', updated);
  core.events.emit('passwordReset', { user: updated, ip: input.ip ?? null });
  return { ok: true, user: updated };
}

/**
 * After a reset: every session and remember-me series ends (SEC-60), every other link of the user
 * dies (the other reset links, SEC-57; an email change an intruder may have asked for, SEC-63),
 * and the account's failed-login counter is cleared, lifting its lock (SEC-52).
 */
async function endEverything(core: RecoveryCore, userId: string): Promise<void> {
  await Promise.all([
    core.revokeSessions === null ? null : core.revokeSessions(userId),
    core.tokens.deleteUserTokens(userId),
    clearAccountFailures(core, userId),
  ]);
}
