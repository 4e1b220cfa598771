/**
 * New accounts: registration, and the import of accounts hashed elsewhere. Both check and
 * canonicalise the identifiers (SEC-18) and the display name the same way, and leave uniqueness
 * to the store's unique indexes; registration also checks the password policy, then counts
 * the IP's registrations (SEC-53), all before any hashing (SEC-12). With `emailVerification`, a
 * new account is mailed a verification link; 'required' answers the same for a new and a taken
 * address, and tells the owner of a taken one (SEC-15).
 *
 * @module accounts/registration
 */
import type { UserRecord } from '../user-store.ts';
import { mailVerificationLink } from './email-verification.ts';
import { canonicalizeEmail, canonicalizeUsername, typedForm } from './identifier.ts';
import { countMail, inBackground, sendMail } from './mailer.ts';
import type { AccountsCore } from './options.ts';
import type { ImportUserResult, RegisterResult } from './results.ts';

const NAME_MAX = 100;
const PENDING: RegisterResult = Object.freeze({ ok: true as const, pending: true as const });
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A display name: NFKC, trimmed, 1…100 code points, no control characters. */
function checkName(input: unknown): { ok: true; value: string } | { ok: false; reason: string } {
  if (typeof input !== 'string') return { ok: false, reason: 'Name must be a string.' };
  if (input.length > 4 * NAME_MAX || !input.isWellFormed()) return { ok: false, reason: `Name must be at most ${NAME_MAX} characters.` };
  const value = input.normalize('NFKC').trim();
  if (value.length === 0) return { ok: false, reason: 'Name is required.' };
  if ([...value].length > NAME_MAX) return { ok: false, reason: `Name must be at most ${NAME_MAX} characters.` };
  if (CONTROL.test(value)) return { ok: false, reason: 'Name must not contain control characters.' };
  return { ok: true, value };
}

/** An identifier as the user typed it (after NFKC, trimmed: what is shown and mailed) and its canonical key. */
interface Identifier {
  readonly typed: string;
  readonly canonical: string;
}

/** Absent: undefined, null, or an empty form field. */
const given = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

/**
 * The identifiers of a new account, each given one checked and canonicalised (SEC-18), and at
 * least one of them, or the email when `requireEmail`; reasons go into `errors` by field.
 */
function checkIdentifiers(
  input: { email?: unknown; username?: unknown },
  requireEmail: boolean,
  errors: Record<string, string>,
): { email: Identifier | null; username: Identifier | null } {
  let email: Identifier | null = null;
  let username: Identifier | null = null;
  if (given(input.email) || requireEmail || !given(input.username)) {
    const checked = canonicalizeEmail(input.email);
    if (checked.ok) email = { typed: typedForm(input.email as string), canonical: checked.value };
    else errors.email = given(input.email) || requireEmail ? checked.reason : 'Enter an email address or a username.';
  }
  if (given(input.username)) {
    const checked = canonicalizeUsername(input.username);
    if (checked.ok) username = { typed: typedForm(input.username as string), canonical: checked.value };
    else errors.username = checked.reason;
  }
  return { email, username };
}

/** What `Accounts.register` does (documented there). */
export async function register(
  core: AccountsCore,
  input: { email?: unknown; name?: unknown; password?: unknown; username?: unknown; ip?: string | null },
): Promise<RegisterResult> {
  const errors: Record<string, string> = {};
  const required = core.emailVerification === 'required';
  // Verification required: an account without an address could never be used.
  const { email, username } = checkIdentifiers(input, core.requireEmail || required, errors);
  const name = checkName(input.name);
  if (!name.ok) errors.name = name.reason;
  const password = core.policy.check(input.password, {
    email: email?.canonical,
    name: name.ok ? name.value : undefined,
    username: username?.canonical,
  });
  if (!password.ok) errors.password = password.reason;
  if (!name.ok || !password.ok || Object.keys(errors).length > 0) return { ok: false, reason: 'invalid', errors };
  const login = (email ?? username)?.canonical ?? '';
  const ip = input.ip ?? null;
  if (core.registrationThrottle) {
    const verdict = await core.registrationThrottle.countRequest({ ip });
    if (!verdict.ok) {
      core.events.emit('throttled', { login, ip, scope: verdict.reason, retryAfter: verdict.retryAfter });
      return { ok: false, reason: 'throttled', retryAfter: verdict.retryAfter };
    }
  }
  const [byEmail, byUsername] = await Promise.all([
    email === null ? null : core.users.getUserByLogin(email.canonical),
    username === null ? null : core.users.getUserByLogin(username.canonical),
  ]);
  if (byEmail !== null && required) {
    // SEC-15: the cost of a registration (one hash), the same answer, and a word to the owner.
    await core.hasher.hash(password.password);
    return warnOwner(core, byEmail, ip);
  }
  if (byEmail !== null) return { ok: false, reason: 'exists', field: 'email' };
  if (byUsername !== null) return { ok: false, reason: 'exists', field: 'username' };
  const user = await core.users.createUser({
    email: email?.typed ?? null,
    emailCanonical: email?.canonical ?? null,
    username: username?.typed ?? null,
    usernameCanonical: username?.canonical ?? null,
    name: name.value,
    passwordHash: await core.hasher.hash(password.password),
  });
  if (user === null) {
    const conflict = await taken(core, email?.canonical ?? null);
    return required && conflict.owner !== null ? warnOwner(core, conflict.owner, ip) : conflict.result;
  }
  core.events.emit('registered', { user });
  if (core.emailVerification !== 'off') mailVerificationLink(core, user, ip);
  return required ? PENDING : { ok: true, user };
}

/**
 * Verification required and the address taken: the owner is told that someone tried to sign up
 * with it (in the background, within the address's mail limit), and the answer is a new account's
 * (SEC-15).
 */
function warnOwner(core: AccountsCore, owner: UserRecord, ip: string | null): RegisterResult {
  const { email, emailCanonical } = owner;
  if (core.mail !== null && email !== null && emailCanonical !== null) {
    inBackground(core, 'signupAttempt', email, async () => {
      if ((await countMail(core, emailCanonical, ip)).ok) await sendMail(core, 'signupAttempt', email, owner);
    });
  }
  return PENDING;
}

/** What `Accounts.importUser` does (documented there). */
export async function importUser(
  core: AccountsCore,
  input: { email?: unknown; name?: unknown; username?: unknown; passwordHash: string; isActive?: boolean },
): Promise<ImportUserResult> {
  const errors: Record<string, string> = {};
  const { email, username } = checkIdentifiers(input, false, errors);
  const name = checkName(input.name ?? (typeof input.username === 'string' ? input.username : input.email));
  if (!name.ok) errors.name = name.reason;
  if (typeof input.passwordHash !== 'string' || input.passwordHash.length === 0 || input.passwordHash.length > 1024) {
    errors.password = 'Password hash must be a non-empty string.';
  }
  if (!name.ok || Object.keys(errors).length > 0) return { ok: false, reason: 'invalid', errors };
  const user = await core.users.createUser({
    email: email?.typed ?? null,
    emailCanonical: email?.canonical ?? null,
    username: username?.typed ?? null,
    usernameCanonical: username?.canonical ?? null,
    name: name.value,
    passwordHash: input.passwordHash,
    isActive: input.isActive !== false,
  });
  return user === null ? (await taken(core, email?.canonical ?? null)).result : { ok: true, user };
}

/**
 * Which identifier a refused insert collided on, and the account that has the address when it is
 * the address: one extra read, on the conflict path only.
 */
async function taken(core: AccountsCore, emailCanonical: string | null): Promise<{ result: Extract<RegisterResult, { reason: 'exists' }>; owner: UserRecord | null }> {
  const found = emailCanonical === null ? null : await core.users.getUserByLogin(emailCanonical);
  const owner = found !== null && found.emailCanonical === emailCanonical ? found : null;
  return { result: { ok: false, reason: 'exists', field: owner !== null ? 'email' : 'username' }, owner };
}
