/**
 * TEMPORARY (issue 13, remove at merge): the recovery methods of RECOVERY_API.md §3 over the
 * library's accounts as they are on this branch, so that the app's routes can be tested before
 * src/accounts/ has them. Tokens live in a MemoryStore (the contract's TokenStore), verification
 * state and changed addresses in maps; mails go through the app's `mail` with the app's `links`,
 * each link on a line of its own. Passed to `createApp` as `createAccounts`; at merge, the tests
 * that use it drop the option and run on the real accounts unchanged.
 *
 * @module test/app/recovery-adapter
 */
import { createHash, randomBytes } from 'node:crypto';
import { canonicalizeEmail, createAccounts, createPasswordPolicy, PasswordHasher, type AccountsOptions, type UserRecord } from 'latchkey';
import { MemoryStore } from 'latchkey/testing';
import type { AppAccounts, RecoveryAccounts, RecoveryOptions } from '../../app/recovery-accounts.ts';

const LIFETIME = { reset: 3_600_000, verify: 86_400_000, 'email-change': 86_400_000 } as const;
type Purpose = keyof typeof LIFETIME;
const sha = (token: string) => createHash('sha256').update(token).digest('base64url');

export function recoveryAdapter(options: AccountsOptions & RecoveryOptions): AppAccounts {
  const real = createAccounts(options);
  const { mail, links } = options;
  if (!mail || !links) throw new TypeError('recovery needs tokens and mail');
  const tokens = new MemoryStore({ now: options.now });
  const hasher = new PasswordHasher();
  const policy = options.policy ?? createPasswordPolicy({});
  const mode = options.emailVerification ?? 'optional';
  const verified = new Set<string>();
  const emails = new Map<string, string>();
  const resetRequests = new Map<string, number>();
  const users = options.users;

  const view = (user: UserRecord | null) => (user === null ? null : { ...user, email: emails.get(user.id) ?? user.email, emailVerified: verified.has(user.id) });
  const load = async (id: string) => view(await users.getUserById(id));
  const send = (to: string, subject: string, ...lines: string[]) => void mail({ to, subject, text: `${lines.join('\n')}\n` });
  async function issue(user: UserRecord, purpose: Purpose, email: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await tokens.createToken({ hash: sha(token), userId: user.id, purpose, email, lifetime: LIFETIME[purpose] });
    return token;
  }
  async function consume(token: unknown, purpose: Purpose) {
    return typeof token === 'string' ? tokens.consumeToken(sha(token), purpose) : null;
  }
  async function mailVerification(user: UserRecord): Promise<void> {
    const email = emails.get(user.id) ?? user.email;
    if (email) send(email, 'Verify your email address', 'Open this link to verify your address:', links!.verifyEmail(await issue(user, 'verify', email)));
  }

  const recovery: RecoveryAccounts & { loadUser(id: string): Promise<UserRecord | null> } = {
    loadUser: load,
    async requestPasswordReset({ email }) {
      const canonical = canonicalizeEmail(email);
      if (!canonical.ok) return { ok: true };
      const count = (resetRequests.get(canonical.value) ?? 0) + 1;
      resetRequests.set(canonical.value, count);
      const user = count > 3 ? null : await users.getUserByLogin(canonical.value);
      if (user?.email) {
        void issue(user, 'reset', user.email).then((token) =>
          send(user.email!, 'Reset your password', 'Open this link to choose a new password:', links.resetPassword(token)),
        );
      }
      return { ok: true };
    },
    async checkResetToken(token) {
      return typeof token === 'string' && (await tokens.findToken(sha(token), 'reset')) !== null;
    },
    async resetPassword({ token, password }) {
      const check = policy.check(password);
      if (!check.ok) return { ok: false, reason: 'invalid', errors: { password: check.reason } };
      const found = await consume(token, 'reset');
      if (found === null) return { ok: false, reason: 'invalid-token' };
      await users.updatePasswordHash(found.userId, await hasher.hash(check.password));
      await options.revokeSessions?.(found.userId);
      await tokens.deleteUserTokens(found.userId, 'reset');
      await real.unlockAccount(found.userId);
      verified.add(found.userId);
      const user = (await load(found.userId))!;
      send(user.email!, 'Your password was changed', 'Your password was just reset.');
      return { ok: true, user };
    },
    async sendEmailVerification(userId) {
      const user = await load(userId);
      if (!user?.email) return { ok: false, reason: 'no-email' };
      if (user.emailVerified) return { ok: false, reason: 'verified' };
      await mailVerification(user);
      return { ok: true };
    },
    async verifyEmail({ token }) {
      const found = await consume(token, 'verify');
      const user = found && (await load(found.userId));
      if (!found || !user || user.email !== found.email) return { ok: false, reason: 'invalid-token' };
      verified.add(user.id);
      return { ok: true, user: { ...user, emailVerified: true } };
    },
    async requestEmailChange({ userId, email }) {
      const canonical = canonicalizeEmail(email);
      if (!canonical.ok) return { ok: false, reason: 'invalid', errors: { email: canonical.reason } };
      const user = (await load(userId))!;
      const address = (email as string).normalize('NFKC').trim();
      send(address, 'Confirm your new email address', 'Open this link to confirm your new address:', links.confirmEmail(await issue(user, 'email-change', address)));
      if (user.email) send(user.email, 'Your email address is changing', `Someone asked to change your address to ${address}.`);
      return { ok: true };
    },
    async confirmEmailChange({ token }) {
      const found = await consume(token, 'email-change');
      if (found === null || found.email === null) return { ok: false, reason: 'invalid-token' };
      const owner = await users.getUserByLogin((canonicalizeEmail(found.email) as { value: string }).value);
      if (owner !== null && owner.id !== found.userId) return { ok: false, reason: 'taken' };
      emails.set(found.userId, found.email);
      verified.add(found.userId);
      return { ok: true, user: (await load(found.userId))! };
    },
    async notifyRememberTheft(userId) {
      const user = await load(userId);
      if (user?.email) send(user.email, 'Someone used your remember-me login', 'Every session of your account was ended.');
    },
    async register(input) {
      const result = await real.register(input);
      if (mode === 'required') {
        if (result.ok) void mailVerification(result.user);
        else if (result.reason === 'exists' && result.field === 'email') send(String(input.email), 'Someone tried to sign up', 'Someone tried to register with your address. Log in, or reset your password.');
        else return result;
        return { ok: true, pending: true };
      }
      if (result.ok && mode === 'optional') void mailVerification(result.user);
      return result;
    },
    async authenticate(input) {
      const result = await real.authenticate(input);
      if (result.ok && mode === 'required' && !verified.has(result.user.id)) return { ok: false, reason: 'unverified' };
      return result;
    },
  };
  // Everything else is the real accounts' (bound: their fields are private).
  return new Proxy(real, {
    get(target, name, receiver) {
      if (Object.hasOwn(recovery, name)) return recovery[name as keyof typeof recovery];
      const value = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as unknown as AppAccounts;
}
