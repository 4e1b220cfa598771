/**
 * Password login: a login (email or username) and a password checked with exactly one password
 * verification whatever the outcome (SEC-13, SEC-14), throttled and queued before verifying
 * (attempts.ts), and a stored hash of older parameters or another scheme replaced by argon2id
 * after a success (SEC-03). With `emailVerification: 'required'`, the right password of an
 * unverified account answers `unverified` (SEC-62).
 *
 * @module accounts/authentication
 */
import type { UserRecord } from '../user-store.ts';
import { reserveAttempt, serializeAttempt, type Reservation } from './attempts.ts';
import { canonicalizeEmail, canonicalizeUsername } from './identifier.ts';
import { writeUser, type AccountsCore } from './options.ts';
import { normalizePassword } from './policy.ts';
import type { AuthenticateResult, FieldErrors } from './results.ts';

/** Email or username, chosen by the presence of `@` (usernames cannot contain one). */
function canonicalLogin(input: unknown): { ok: true; value: string } | { ok: false; reason: string } {
  if (typeof input !== 'string') return { ok: false, reason: 'Login must be a string.' };
  return input.includes('@') ? canonicalizeEmail(input) : canonicalizeUsername(input);
}

/** What `Accounts.authenticate` does (documented there). */
export async function authenticate(
  core: AccountsCore,
  input: { login?: unknown; password?: unknown; ip?: string | null; device?: string | null },
): Promise<AuthenticateResult> {
  const login = canonicalLogin(input.login);
  if (!login.ok) return malformed(core, input, input.login, { login: login.reason });
  const limits = core.policy.limits(input.password);
  if (!limits.ok) return malformed(core, input, login.value, { password: limits.reason });
  const raw = input.password as string;
  const password = normalizePassword(raw);
  const ip = input.ip ?? null;
  const device = typeof input.device === 'string' ? input.device : null;
  // A read, no hashing: the account's own counter whichever identifier was typed (finding 7); an
  // unknown identifier has one of its own, with the same thresholds (SEC-17).
  const user = await core.users.getUserByLogin(login.value);
  const key = user === null ? `login:${login.value}` : `id:${user.id}`;
  return serializeAttempt(core, key, login.value, ip, async () => {
    const attempt = await reserveAttempt(core, key, login.value, ip, device);
    return attempt.ok ? verify(core, user, login.value, password, raw, ip, attempt) : attempt;
  });
}

/** An attempt that could never be a login: no hashing, no throttle count, but an event (SEC-68). */
function malformed(core: AccountsCore, input: { ip?: string | null }, login: unknown, errors: FieldErrors): AuthenticateResult {
  const sent = typeof login === 'string' ? login : null;
  core.events.emit('loginFailed', { login: sent, ip: input.ip ?? null, reason: 'malformed', userId: null, failures: null });
  return { ok: false, reason: 'malformed', errors };
}

async function verify(
  core: AccountsCore,
  user: UserRecord | null,
  login: string,
  password: string,
  raw: string,
  ip: string | null,
  attempt: Reservation,
): Promise<AuthenticateResult> {
  let failure: 'unknown' | 'password' | 'inactive' | null = null;
  let rehash = false;
  if (user === null) {
    await core.hasher.verifyDummy(password);
    failure = 'unknown';
  } else {
    let verdict = await core.hasher.verify(password, user.passwordHash);
    // Hashes imported from werkzeug, Django or bcrypt were made from the password as typed, not
    // its NFKC form (SEC-09): try that too, then the rehash below stores the NFKC form.
    if (!verdict.ok && raw !== password && !/^\$(argon2|scrypt\$)/.test(user.passwordHash)) {
      verdict = await core.hasher.verify(raw, user.passwordHash);
    }
    rehash = verdict.needsRehash;
    if (!verdict.ok) failure = 'password';
    else if (!user.isActive) failure = 'inactive';
  }
  if (failure !== null || user === null) {
    const failures = await attempt.fail();
    core.events.emit('loginFailed', { login, ip, reason: failure ?? 'unknown', userId: user?.id ?? null, failures });
    return { ok: false, reason: 'invalid' };
  }
  const { device } = await attempt.succeed();
  if (core.emailVerification === 'required' && !user.emailVerified) {
    // Said only after the right password, so it reveals nothing to a guesser (SEC-62).
    core.events.emit('loginFailed', { login, ip, reason: 'unverified', userId: user.id, failures: null });
    return { ok: false, reason: 'unverified' };
  }
  return { ok: true, user: rehash ? await rehashPassword(core, user, password) : user, device };
}

/** Replaces an outdated hash; a failed write never fails the login (SEC-03). */
async function rehashPassword(core: AccountsCore, user: UserRecord, password: string): Promise<UserRecord> {
  try {
    const hash = await core.hasher.hash(password);
    if (!(await writeUser(core, user.id, () => core.users.updatePasswordHash(user.id, hash, user.passwordHash)))) return user;
    const updated: UserRecord = Object.freeze({ ...user, passwordHash: hash });
    core.events.emit('passwordRehashed', { user: updated });
    return updated;
  } catch (error) {
    core.events.emit('rehashFailed', { user, error });
    return user;
  }
}
