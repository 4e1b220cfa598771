/**
 * The password of an owner who is logged in already: re-authentication ("sudo mode", SEC-35) and
 * password change (SEC-10). Both check the password once, throttled by the owner's session rather
 * than by the account, so that strangers' failures on the account never refuse its owner (finding
 * 8, SEC-52); a change then ends every other session and remember-me series (SEC-33) and the
 * user's reset links (SEC-57), and mails the owner a notice (SEC-71).
 *
 * @module accounts/owner-password
 */
import type { RequestAuth } from '../request-auth.ts';
import { loginKey, type UserRecord } from '../user-store.ts';
import { reserveAttempt, serializeAttempt } from './attempts.ts';
import { sendNotice } from './mailer.ts';
import { LINKS } from './one-time-links.ts';
import { writeUser, type AccountsCore } from './options.ts';
import { normalizePassword } from './policy.ts';
import type { ChangePasswordResult, ConfirmPasswordResult } from './results.ts';

/**
 * The password of `user`, checked once, throttled by their session (`session:<user>:<session>`)
 * rather than by the account, while a stolen session still cannot guess without limit (the
 * session's own delays and lock, the IP's cap). Without a session (no `auth`), the account's
 * counter applies.
 */
async function confirmOwner(core: AccountsCore, user: UserRecord, input: unknown, auth: RequestAuth<any, any> | undefined, ip: string | null): Promise<ConfirmPasswordResult> {
  const limits = core.policy.limits(input);
  if (!limits.ok) return { ok: false, reason: 'malformed', errors: { password: limits.reason } };
  const session = auth ? await auth.session() : null;
  const key = session === null ? `id:${user.id}` : `session:${user.id}:${session.id}`;
  const login = loginKey(user);
  return serializeAttempt(core, key, login, ip, async () => {
    const attempt = await reserveAttempt(core, key, login, ip, null);
    if (!attempt.ok) return attempt;
    const verdict = await core.hasher.verify(normalizePassword(input as string), user.passwordHash);
    if (!verdict.ok) {
      const failures = await attempt.fail();
      core.events.emit('loginFailed', { login, ip, reason: 'password', userId: user.id, failures });
      return { ok: false, reason: 'invalid' };
    }
    await attempt.succeed();
    return { ok: true, user };
  });
}

/** What `Accounts.confirmPassword` does (documented there). */
export async function confirmPassword(
  core: AccountsCore,
  input: { userId: string; password?: unknown; auth?: RequestAuth<any, any>; ip?: string | null },
): Promise<ConfirmPasswordResult> {
  const user = await core.users.getUserById(input.userId);
  if (user === null) throw new TypeError(`confirmPassword: no account ${input.userId}`);
  if (!user.isActive) return { ok: false, reason: 'invalid' };
  return confirmOwner(core, user, input.password, input.auth, input.ip ?? null);
}

/** What `Accounts.changePassword` does (documented there). */
export async function changePassword(
  core: AccountsCore,
  input: { userId: string; currentPassword?: unknown; newPassword?: unknown; auth?: RequestAuth<any, any>; ip?: string | null },
): Promise<ChangePasswordResult> {
  const user = await core.users.getUserById(input.userId);
  if (user === null) throw new TypeError(`changePassword: no account ${input.userId}`);
  const next = core.policy.check(input.newPassword, { email: user.email ?? undefined, name: user.name, username: user.username ?? undefined });
  const current = await confirmOwner(core, user, input.currentPassword, input.auth, input.ip ?? null);
  if (!current.ok && current.reason === 'throttled') return current;
  if (!current.ok) return { ok: false, reason: 'invalid', errors: { current_password: 'Current password is incorrect.' } };
  if (!next.ok) return { ok: false, reason: 'invalid', errors: { new_password: next.reason } };
  const hash = await core.hasher.hash(next.password);
  await writeUser(core, user.id, () => core.users.updatePasswordHash(user.id, hash));
  const updated: UserRecord = Object.freeze({ ...user, passwordHash: hash });
  let sessionsEnded = 0;
  if (input.auth) sessionsEnded = await input.auth.revokeOtherSessions();
  else if (core.revokeSessions) sessionsEnded = await core.revokeSessions(user.id);
  if (core.tokens !== null) {
    // A password change voids the reset links (SEC-57) and a pending email change asked for before it.
    await Promise.all([core.tokens.deleteUserTokens(user.id, LINKS.reset.purpose), core.tokens.deleteUserTokens(user.id, LINKS.emailChange.purpose)]);
  }
  sendNotice(core, 'passwordChanged', updated); // SEC-71
  core.events.emit('passwordChanged', { user: updated });
  return { ok: true, user: updated, sessionsEnded };
}
