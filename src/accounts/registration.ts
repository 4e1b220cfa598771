/**
 * New accounts: registration, and the import of accounts hashed elsewhere. Both check and
 * canonicalise the identifiers (SEC-18) and the display name the same way, and leave uniqueness
 * to the store's unique indexes; registration also checks the password policy, then counts
 * the IP's registrations (SEC-53), all before any hashing (SEC-12).
 *
 * @module accounts/registration
 */
import { canonicalizeEmail, canonicalizeUsername } from './identifier.ts';
import type { AccountsCore } from './options.ts';
import type { ImportUserResult, RegisterResult } from './results.ts';

const NAME_MAX = 100;
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
  const typed = (value: unknown) => (value as string).normalize('NFKC').trim();
  let email: Identifier | null = null;
  let username: Identifier | null = null;
  if (given(input.email) || requireEmail || !given(input.username)) {
    const checked = canonicalizeEmail(input.email);
    if (checked.ok) email = { typed: typed(input.email), canonical: checked.value };
    else errors.email = given(input.email) || requireEmail ? checked.reason : 'Enter an email address or a username.';
  }
  if (given(input.username)) {
    const checked = canonicalizeUsername(input.username);
    if (checked.ok) username = { typed: typed(input.username), canonical: checked.value };
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
  const { email, username } = checkIdentifiers(input, core.requireEmail, errors);
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
  if (core.registrationThrottle) {
    const ip = input.ip ?? null;
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
  if (user === null) return taken(core, email?.canonical ?? null);
  core.events.emit('registered', { user });
  return { ok: true, user };
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
  return user === null ? taken(core, email?.canonical ?? null) : { ok: true, user };
}

/** Which identifier a refused insert collided on: one extra read, on the conflict path only. */
async function taken(core: AccountsCore, emailCanonical: string | null): Promise<Extract<RegisterResult, { reason: 'exists' }>> {
  const owner = emailCanonical === null ? null : await core.users.getUserByLogin(emailCanonical);
  return { ok: false, reason: 'exists', field: owner !== null && owner.emailCanonical === emailCanonical ? 'email' : 'username' };
}
