/**
 * Accounts with the mail path, for the recovery, verification and email-change tests: a real
 * SQLite user store on ':memory:', a MemoryStore for sessions, throttle counters and one-time
 * tokens (all on one test clock), a real login manager and login throttle, a recovery throttle of
 * 3 mails per hour per address, and a `mail` that collects messages in an array.
 */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { createAccounts, type Accounts } from '../../src/accounts/accounts.ts';
import type { AccountsOptions } from '../../src/accounts/options.ts';
import type { AccountMail } from '../../src/accounts/recovery-options.ts';
import type { AccountEvents } from '../../src/accounts/results.ts';
import { createLoginManager, type LoginManager } from '../../src/manager.ts';
import { PasswordHasher } from '../../src/passwords/hasher.ts';
import { SqliteUserStore } from '../../src/sqlite/user-store.ts';
import { createTestClock, type TestClock } from '../../src/testing/clock.ts';
import { MemoryStore } from '../../src/testing/memory-store.ts';
import { createLoginThrottle } from '../../src/throttle.ts';
import type { LoginThrottle } from '../../src/login-throttle.ts';
import type { UserRecord } from '../../src/user-store.ts';

export const SECRET = 'recovery-test-secret-0123456789abcdef!!';
export const GOOD = 'correct horse battery staple';
export const BETTER = 'a brand new and long passphrase';
export const ORIGIN = 'https://app.example';

/** Argon2id with test parameters, counting its hashes (SEC-15: the same cost for a taken address). */
export class CountingHasher extends PasswordHasher {
  hashes = 0;
  constructor() {
    super({ memory: 1024, passes: 1, allowWeakParameters: true });
  }
  override async hash(password: string): Promise<string> {
    this.hashes++;
    return super.hash(password);
  }
}

export interface MailWorld {
  readonly accounts: Accounts;
  readonly users: SqliteUserStore;
  /** The users' database, for changes made behind the accounts' back (an operator's SQL). */
  readonly db: DatabaseSync;
  readonly store: MemoryStore;
  readonly manager: LoginManager<UserRecord>;
  readonly throttle: LoginThrottle;
  readonly clock: TestClock;
  readonly hasher: CountingHasher;
  readonly mails: AccountMail[];
  readonly events: Array<{ name: keyof AccountEvents; payload: any }>;
}

/** Builds the world; `options` override the accounts' options (`mail`, `emailVerification`…). */
export function mailWorld(t: { after(fn: () => unknown): void }, options: Partial<AccountsOptions> = {}): MailWorld {
  const clock = createTestClock(Date.UTC(2026, 0, 5, 9));
  const store = new MemoryStore({ now: clock.now });
  const db = new DatabaseSync(':memory:');
  const users = new SqliteUserStore({ database: db, now: clock.now });
  const manager = createLoginManager<UserRecord>({ store, secret: SECRET, loadUser: (id) => users.getUserById(id), now: clock.now });
  const throttle = createLoginThrottle({ store, secret: SECRET, now: clock.now });
  const recoveryThrottle = createLoginThrottle({
    store,
    secret: SECRET,
    now: clock.now,
    scope: 'recovery',
    account: { freeFailures: 3, baseDelay: '1h', maxDelay: '1h', ttl: '1h' },
    ip: { maxFailures: 10, window: '1h' },
  });
  const mails: AccountMail[] = [];
  const hasher = new CountingHasher();
  const accounts = createAccounts({
    users,
    throttle,
    revokeSessions: async (id) => (await manager.revokeUserSessions(id)).sessions,
    hasher,
    appName: 'Latchkey',
    tokens: store,
    mail: (message) => {
      mails.push(message);
    },
    links: {
      resetPassword: (token) => `${ORIGIN}/reset-password/${token}`,
      verifyEmail: (token) => `${ORIGIN}/verify-email/${token}`,
      confirmEmail: (token) => `${ORIGIN}/confirm-email/${token}`,
    },
    recoveryThrottle,
    ...options,
  });
  const events: MailWorld['events'] = [];
  for (const name of ['registered', 'loginFailed', 'throttled', 'passwordChanged', 'mailFailed', 'passwordReset', 'emailVerified', 'emailChanged'] as const) {
    accounts.on(name, (payload) => events.push({ name, payload }));
  }
  t.after(async () => {
    await users.close();
    db.close();
    await store.close();
  });
  return { accounts, users, db, store, manager, throttle, clock, hasher, mails, events };
}

/** Lets the background work (lookups, tokens, mails) run: every store here answers within a turn. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Registers an account and returns it, with the mails of registration settled and cleared. */
export async function registerUser(world: MailWorld, email: string, name = 'Ada', password = GOOD): Promise<UserRecord> {
  const result = await world.accounts.register({ email, name, password });
  assert.ok(result.ok && 'user' in result, JSON.stringify(result));
  await settle();
  world.mails.length = 0;
  return result.user;
}

/** The token in the link of `mail` whose path starts with `path` (e.g. '/reset-password/'); the link stands on a line of its own. */
export function linkToken(mail: AccountMail | undefined, path: string): string {
  assert.ok(mail, 'a mail was sent');
  const escaped = `${ORIGIN}${path}`.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`^${escaped}([A-Za-z0-9_-]{43})$`, 'm').exec(mail.text);
  assert.ok(match, `a link ${path}… on a line of its own in:\n${mail.text}`);
  return match[1] as string;
}

/** The mails sent to `to` (as the mail function received them). */
export function mailsTo(world: MailWorld, to: string): AccountMail[] {
  return world.mails.filter((mail) => mail.to === to);
}
