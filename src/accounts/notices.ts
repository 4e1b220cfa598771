/**
 * The notices an app triggers itself (SEC-71): a remember-me cookie used twice, which
 * the login manager detects (`rememberTheft`) and ends. The password and address notices are sent
 * by the operations that change them (owner-password.ts, password-reset.ts, email-change.ts).
 *
 * @module accounts/notices
 */
import { reportFailure, sendMail } from './mailer.ts';
import type { AccountsCore } from './options.ts';

/** What `Accounts.notifyRememberTheft` does (documented there). */
export async function notifyRememberTheft(core: AccountsCore, userId: string): Promise<void> {
  if (core.mail === null) throw new TypeError('notifyRememberTheft: needs mail');
  if (typeof userId !== 'string' || userId === '') throw new TypeError('notifyRememberTheft: userId must be a non-empty string');
  // Never rejected: an app calls it from an event listener, where a rejection would go unhandled.
  await reportFailure(core, 'rememberTheft', `id:${userId}`, async () => {
    const user = await core.users.getUserById(userId);
    if (user !== null && user.email !== null) await sendMail(core, 'rememberTheft', user.email, user);
  });
}
