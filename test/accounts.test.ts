/**
 * The accounts module on real SQLite stores: registration, login, rehash, password change,
 * deactivation and import, with the security requirements's numbers in the test names.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createAccounts } from '../src/accounts/accounts.ts';
import type { AccountEvents, ImportUserResult, RegisterResult } from '../src/accounts/results.ts';
import type { UserRecord, UserStore } from '../src/user-store.ts';
import { createLoginManager } from '../src/manager.ts';
import { PasswordHasher } from '../src/passwords/hasher.ts';
import { SqliteStore } from '../src/sqlite/index.ts';
import { SqliteUserStore } from '../src/sqlite/user-store.ts';
import { createLoginThrottle } from '../src/throttle.ts';

const SECRET = 'accounts-test-secret-0123456789abcdef!!';

/** The account a registration made (with verification not required, every success has one). */
function userOf(result: RegisterResult | ImportUserResult): UserRecord {
  assert.ok(result.ok && 'user' in result, JSON.stringify(result));
  return result.user;
}
const GOOD = 'correct horse battery staple';
const vectors: Array<{ scheme: string; password: string; hash: string }> = JSON.parse(
  readFileSync(join(import.meta.dirname, 'vectors', 'password-hashes.json'), 'utf8'),
);

/** A real hasher that counts its verifications (SEC-14: exactly one per attempt). */
class CountingHasher extends PasswordHasher {
  verifications = 0;
  hashes = 0;
  override async hash(password: string): Promise<string> {
    this.hashes++;
    return super.hash(password);
  }
  override async verify(password: string, stored: string) {
    this.verifications++;
    return super.verify(password, stored);
  }
  override async verifyDummy(password: string): Promise<void> {
    this.verifications++;
    return super.verifyDummy(password);
  }
}

async function setup(t: { after(fn: () => unknown): void }, overrides: { users?: UserStore; throttle?: false } = {}) {
  const clock = { now: Date.UTC(2026, 0, 5) };
  const store = new SqliteStore({ path: ':memory:', now: () => clock.now, sweepInterval: 0 });
  const sqliteUsers = new SqliteUserStore({ path: ':memory:' });
  const users = overrides.users ?? sqliteUsers;
  const hasher = new CountingHasher();
  const manager = createLoginManager({ store, secret: SECRET, loadUser: (id) => users.getUserById(id), now: () => clock.now });
  const throttle = overrides.throttle === false ? false : createLoginThrottle({ store, secret: SECRET, now: () => clock.now });
  const accounts = createAccounts({ users, throttle, revokeSessions: async (id) => (await manager.revokeUserSessions(id)).sessions, hasher, appName: 'Latchkey' });
  const events: Array<[keyof AccountEvents, unknown]> = [];
  for (const name of ['registered', 'loginFailed', 'throttled', 'passwordChanged', 'passwordRehashed', 'rehashFailed'] as const) {
    accounts.on(name, (payload) => events.push([name, payload]));
  }
  t.after(async () => {
    await store.close();
    await sqliteUsers.close();
  });
  return { accounts, users, hasher, manager, store, clock, events };
}

describe('register', () => {
  it('creates an account with an argon2id hash and emits registered (SEC-01)', async (t) => {
    const s = await setup(t);
    const result = await s.accounts.register({ email: 'Ada@Example.com', name: 'Ada', password: GOOD });
    assert.ok(result.ok);
    assert.equal(userOf(result).email, 'Ada@Example.com');
    assert.equal(userOf(result).emailCanonical, 'ada@example.com');
    assert.match(userOf(result).passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(s.events[0]?.[0], 'registered');
  });

  it('refuses every bad field at once, each with its reason, without hashing (SEC-05, SEC-72, SEC-75)', async (t) => {
    const s = await setup(t);
    const result = await s.accounts.register({ email: 'not-an-email', name: '', password: 'short' });
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.reason === 'invalid');
    if (!result.ok && result.reason === 'invalid') {
      assert.deepEqual(Object.keys(result.errors).sort(), ['email', 'name', 'password']);
      assert.match(result.errors.password as string, /at least 15/);
    }
    assert.equal(s.hasher.hashes, 0);
  });

  it('refuses JSON type confusion in every field (SEC-72)', async (t) => {
    const s = await setup(t);
    for (const bad of [{ $ne: null }, ['a', 'b'], 123456789012345, true, null]) {
      const result = await s.accounts.register({ email: bad, name: bad, password: bad });
      assert.ok(!result.ok && result.reason === 'invalid', JSON.stringify(bad));
    }
  });

  it('refuses a common password and one built from the email or app name, with the reason (SEC-08)', async (t) => {
    const s = await setup(t);
    for (const password of ['passwordpassword1', '123456789012345', 'Latchkey2025!Latchkey', 'adalovelaceadalovelace']) {
      const result = await s.accounts.register({ email: 'adalovelace@example.com', name: 'Ada', password });
      assert.ok(!result.ok && result.reason === 'invalid', password);
      if (!result.ok && result.reason === 'invalid') assert.ok(result.errors.password, password);
    }
  });

  it('answers exists for an address already registered, in any case or Unicode form (SEC-18, R-04)', async (t) => {
    const s = await setup(t);
    assert.ok((await s.accounts.register({ email: 'big@example.com', name: 'A', password: GOOD })).ok);
    for (const email of ['BIG@example.com', 'ᴮᴵᴳ@example.com', 'ｂｉｇ@example.com']) {
      const again = await s.accounts.register({ email, name: 'B', password: GOOD });
      assert.deepEqual(again, { ok: false, reason: 'exists', field: 'email' }, email);
    }
  });

  it('says which identifier is taken: a username in use gives field username', async (t) => {
    const s = await setup(t);
    assert.ok((await s.accounts.register({ email: 'one@example.com', name: 'One', username: 'taken', password: GOOD })).ok);
    assert.deepEqual(await s.accounts.register({ email: 'two@example.com', name: 'Two', username: 'TAKEN', password: GOOD }), { ok: false, reason: 'exists', field: 'username' });
  });

  it('keeps look-alikes that are different addresses apart: mıke is not mike (SEC-18)', async (t) => {
    const s = await setup(t);
    assert.ok((await s.accounts.register({ email: 'mike@example.com', name: 'Mike', password: GOOD })).ok);
    assert.ok((await s.accounts.register({ email: 'mıke@example.com', name: 'Other', password: GOOD })).ok);
  });

  it('ten concurrent registrations of one address make one account and nine clean "exists" (R-04)', async (t) => {
    const s = await setup(t);
    const results = await Promise.all(Array.from({ length: 10 }, () => s.accounts.register({ email: 'race@example.com', name: 'R', password: GOOD })));
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.equal(results.filter((r) => !r.ok && r.reason === 'exists').length, 9);
  });
});

describe('authenticate', () => {
  async function withUser(t: { after(fn: () => unknown): void }) {
    const s = await setup(t);
    const registered = await s.accounts.register({ email: 'ada@example.com', name: 'Ada', username: 'ada', password: GOOD });
    assert.ok(registered.ok);
    s.hasher.verifications = 0;
    return { ...s, user: userOf(registered) };
  }

  it('logs in by email or username, in any case (SEC-18)', async (t) => {
    const s = await withUser(t);
    for (const login of ['ada@example.com', 'ADA@Example.COM', 'ada', 'ADA']) {
      const result = await s.accounts.authenticate({ login, password: GOOD });
      assert.ok(result.ok, login);
    }
  });

  it('answers unknown user, wrong password and inactive account alike, each after exactly one verification (SEC-13, SEC-14)', async (t) => {
    const s = await withUser(t);
    const inactive = await s.accounts.register({ email: 'off@example.com', name: 'Off', password: GOOD });
    assert.ok(inactive.ok);
    await s.users.setUserActive(userOf(inactive).id, false);
    s.hasher.verifications = 0;
    const outcomes = [];
    for (const attempt of [
      { login: 'nobody@example.com', password: GOOD },
      { login: 'ada@example.com', password: `${GOOD}!` },
      { login: 'off@example.com', password: GOOD },
    ]) {
      const before = s.hasher.verifications;
      outcomes.push(await s.accounts.authenticate(attempt));
      assert.equal(s.hasher.verifications - before, 1, attempt.login);
    }
    assert.deepEqual(outcomes, [{ ok: false, reason: 'invalid' }, { ok: false, reason: 'invalid' }, { ok: false, reason: 'invalid' }]);
    assert.deepEqual(s.events.filter(([n]) => n === 'loginFailed').map(([, p]) => (p as { reason: string }).reason), ['unknown', 'password', 'inactive']);
  });

  it('refuses an oversized or non-string password before any hashing (SEC-06, SEC-72)', async (t) => {
    const s = await withUser(t);
    for (const password of ['x'.repeat(1_000_000), 'x'.repeat(257), { $ne: null }, ['a'], 123, null]) {
      const started = performance.now();
      const result = await s.accounts.authenticate({ login: 'ada@example.com', password });
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.reason === 'malformed');
      assert.ok(performance.now() - started < 100);
    }
    assert.equal(s.hasher.verifications, 0);
  });

  it('verifies the whole password: a prefix fails (SEC-06), trailing space matters and NFKC forms match (SEC-09)', async (t) => {
    const s = await setup(t);
    const long = 'The quick brown fox jumps over the lazy dog; sphinx of black quartz, judge my vow! Pack my box with five dozen liquor jugs, how vexingly quick daft zebras jump while the five boxing wizards jump quickly.'.slice(0, 200);
    assert.ok((await s.accounts.register({ email: 'long@example.com', name: 'L', password: long })).ok);
    assert.equal((await s.accounts.authenticate({ login: 'long@example.com', password: long.slice(0, 199) })).ok, false);
    assert.equal((await s.accounts.authenticate({ login: 'long@example.com', password: long })).ok, true);
    const nfc = 'café crème brûlée au four';
    assert.ok((await s.accounts.register({ email: 'nfc@example.com', name: 'N', password: nfc })).ok);
    assert.equal((await s.accounts.authenticate({ login: 'nfc@example.com', password: nfc.normalize('NFD') })).ok, true);
    assert.equal((await s.accounts.authenticate({ login: 'nfc@example.com', password: `${nfc} ` })).ok, false);
  });

  it('throttles after five failures with a growing delay, the same for unknown accounts (SEC-51, SEC-17)', async (t) => {
    const s = await withUser(t);
    for (const login of ['ada@example.com', 'ghost@example.com']) {
      for (let i = 0; i < 5; i++) assert.deepEqual(await s.accounts.authenticate({ login, password: 'wrong wrong wrong' }), { ok: false, reason: 'invalid' });
      const throttled = await s.accounts.authenticate({ login, password: GOOD });
      assert.ok(!throttled.ok && throttled.reason === 'throttled', login);
      if (!throttled.ok && throttled.reason === 'throttled') assert.equal(throttled.retryAfter, 1);
    }
    s.clock.now += 1000;
    assert.ok((await s.accounts.authenticate({ login: 'ada@example.com', password: GOOD })).ok, 'the right password after the wait');
  });

  it('lets a burst of 200 parallel wrong passwords reach the hasher only a handful of times (SEC-51, SEC-12)', async (t) => {
    const s = await withUser(t);
    const results = await Promise.all(Array.from({ length: 200 }, () => s.accounts.authenticate({ login: 'ada@example.com', password: 'wrong wrong wrong' })));
    assert.ok(s.hasher.verifications <= 6, `${s.hasher.verifications} verifications`);
    assert.ok(results.every((r) => !r.ok));
    assert.ok(results.filter((r) => !r.ok && r.reason === 'throttled').length >= 194);
  });

  it('fails closed when the throttle store is down: a coded 503 error, never a login (SEC-55)', async (t) => {
    const s = await withUser(t);
    await s.store.close();
    await assert.rejects(s.accounts.authenticate({ login: 'ada@example.com', password: GOOD }), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
  });
});

describe('throttle reservations and keys (findings 3, 4, 7, 8)', () => {
  it('finding 4, a per-IP burst never overshoots the cap: 60 concurrent wrong logins from one IP with a cap of 50, on two instances sharing one store, reach the hasher at most 50 times (SEC-12, SEC-53)', async (t) => {
    const s = await setup(t);
    const second = createAccounts({ users: s.users, throttle: createLoginThrottle({ store: s.store, secret: SECRET, now: () => s.clock.now }), hasher: s.hasher });
    s.hasher.verifications = 0;
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? s.accounts : second).authenticate({ login: `user${i}@example.com`, password: 'wrong wrong wrong', ip: '203.0.113.9' })),
    );
    assert.ok(s.hasher.verifications <= 50, `${s.hasher.verifications} verifications`);
    assert.equal(results.filter((r) => !r.ok && r.reason === 'throttled').length, 60 - s.hasher.verifications);
  });

  it('finding 4: a success gives the IP its attempt back, so 60 users behind one address all log in (SEC-53)', async (t) => {
    const s = await setup(t);
    for (let i = 0; i < 60; i++) assert.ok((await s.accounts.register({ email: `u${i}@example.com`, name: 'U', password: GOOD })).ok);
    for (let i = 0; i < 60; i++) assert.ok((await s.accounts.authenticate({ login: `u${i}@example.com`, password: GOOD, ip: '198.51.100.20' })).ok, `user ${i}`);
  });

  it('finding 7, one counter per account: email and username failures count together and a success by username clears them; unknown identifiers throttle at the same attempt (SEC-17)', async (t) => {
    const s = await setup(t);
    assert.ok((await s.accounts.register({ email: 'ada@example.com', name: 'Ada', username: 'ada', password: GOOD })).ok);
    const wrong = (login: string) => s.accounts.authenticate({ login, password: 'wrong wrong wrong' });
    for (const login of ['ada@example.com', 'ada', 'ada@example.com', 'ADA']) assert.deepEqual(await wrong(login), { ok: false, reason: 'invalid' });
    assert.ok((await s.accounts.authenticate({ login: 'ada', password: GOOD })).ok, 'the success by username');
    for (const login of ['ada@example.com', 'ada', 'ada@example.com', 'ada', 'ada@example.com']) assert.deepEqual(await wrong(login), { ok: false, reason: 'invalid' }, login);
    const transcripts = [];
    for (const login of ['ada', 'ghost@example.com']) {
      if (login !== 'ada') for (let i = 0; i < 5; i++) await wrong(login);
      transcripts.push(await s.accounts.authenticate({ login, password: GOOD }));
    }
    assert.deepEqual(transcripts, [{ ok: false, reason: 'throttled', retryAfter: 1 }, { ok: false, reason: 'throttled', retryAfter: 1 }]);
  });

  it('finding 8: the device token of a login exempts that browser from the lock, for its own account only, and an owner logged in confirms the password and changes it through the lock (SEC-52)', async (t) => {
    const s = await setup(t);
    const ada = await s.accounts.register({ email: 'ada@example.com', name: 'Ada', password: GOOD });
    assert.ok(ada.ok);
    const bob = await s.accounts.register({ email: 'bob@example.com', name: 'Bob', password: GOOD });
    assert.ok(bob.ok);
    const first = await s.accounts.authenticate({ login: 'ada@example.com', password: GOOD });
    assert.ok(first.ok && typeof first.device === 'string');
    const bobs = await s.accounts.authenticate({ login: 'bob@example.com', password: GOOD });
    assert.ok(bobs.ok);
    const auth = s.manager.forRequest(new Request('http://localhost/'));
    await auth.login(userOf(ada));
    for (let i = 0; i < 100; i++) {
      s.clock.now += 15 * 60_000;
      await s.accounts.authenticate({ login: 'ada@example.com', password: `guess ${i} guess guess` });
    }
    const locked = { ok: false, reason: 'throttled', retryAfter: 900 };
    assert.deepEqual(await s.accounts.authenticate({ login: 'ada@example.com', password: GOOD }), locked, 'without a token (SEC-51)');
    assert.deepEqual(await s.accounts.authenticate({ login: 'ada@example.com', password: GOOD, device: bobs.device }), locked, "another account's token");
    assert.ok((await s.accounts.authenticate({ login: 'ada@example.com', password: GOOD, device: first.device })).ok, 'with her token');
    for (let i = 0; i < 100; i++) {
      s.clock.now += 15 * 60_000;
      await s.accounts.authenticate({ login: 'ada@example.com', password: `guess ${i} guess guess` });
    }
    assert.deepEqual(await s.accounts.confirmPassword({ userId: userOf(ada).id, password: GOOD, auth }), { ok: true, user: userOf(ada) });
    assert.deepEqual(await s.accounts.confirmPassword({ userId: userOf(ada).id, password: 'wrong wrong wrong', auth }), { ok: false, reason: 'invalid' });
    const changed = await s.accounts.changePassword({ userId: userOf(ada).id, currentPassword: GOOD, newPassword: 'a brand new passphrase', auth });
    assert.ok(changed.ok);
    assert.deepEqual(await s.accounts.authenticate({ login: 'ada@example.com', password: 'a brand new passphrase' }), locked, 'still locked for strangers');
    assert.equal(await s.accounts.unlockAccount(userOf(ada).id), true);
    assert.ok((await s.accounts.authenticate({ login: 'ada@example.com', password: 'a brand new passphrase' })).ok, 'unlocked');
  });

  it("finding 8: an owner's password re-entry is throttled by the session: 5 free failures, then a wait, and the account's own counter stays untouched (SEC-51)", async (t) => {
    const s = await setup(t);
    const ada = await s.accounts.register({ email: 'ada@example.com', name: 'Ada', password: GOOD });
    assert.ok(ada.ok);
    const auth = s.manager.forRequest(new Request('http://localhost/'));
    await auth.login(userOf(ada));
    for (let i = 0; i < 5; i++) assert.deepEqual(await s.accounts.confirmPassword({ userId: userOf(ada).id, password: 'wrong wrong wrong', auth }), { ok: false, reason: 'invalid' });
    assert.deepEqual(await s.accounts.confirmPassword({ userId: userOf(ada).id, password: GOOD, auth }), { ok: false, reason: 'throttled', retryAfter: 1 });
    assert.ok((await s.accounts.authenticate({ login: 'ada@example.com', password: GOOD })).ok, 'the account counter is not the session one');
  });

  it('finding 3: a taken address or username answers exists without hashing, and a registrationThrottle refuses the (N+1)th registration from one IP before any hashing (SEC-12, SEC-53)', async (t) => {
    const s = await setup(t);
    const accounts = createAccounts({
      users: s.users,
      throttle: false,
      hasher: s.hasher,
      registrationThrottle: createLoginThrottle({ store: s.store, secret: SECRET, now: () => s.clock.now, scope: 'register', ip: { maxFailures: 2, window: '1h' } }),
    });
    assert.ok((await accounts.register({ email: 'ada@example.com', name: 'Ada', username: 'ada', password: GOOD, ip: '203.0.113.1' })).ok);
    s.hasher.hashes = 0;
    assert.deepEqual(await accounts.register({ email: 'ADA@example.com', name: 'M', password: GOOD, ip: '203.0.113.2' }), { ok: false, reason: 'exists', field: 'email' });
    assert.deepEqual(await accounts.register({ email: 'new@example.com', name: 'M', username: 'ADA', password: GOOD, ip: '203.0.113.2' }), { ok: false, reason: 'exists', field: 'username' });
    assert.equal(s.hasher.hashes, 0);
    assert.deepEqual(await accounts.register({ email: 'ben@example.com', name: 'Ben', password: GOOD, ip: '203.0.113.2' }), { ok: false, reason: 'throttled', retryAfter: 3600 });
    assert.equal(s.hasher.hashes, 0);
    assert.ok((await accounts.register({ email: 'ben@example.com', name: 'Ben', password: GOOD, ip: '203.0.113.3' })).ok);
  });
});

describe('rehash and import (SEC-03)', () => {
  it('a werkzeug-hashed user (real werkzeug fixture) logs in with the old password and is stored as argon2id after', async (t) => {
    const s = await setup(t);
    const fixture = vectors.find((v) => v.scheme === 'werkzeug-pbkdf2' && v.password === GOOD)!;
    const imported = await s.accounts.importUser({ email: 'flask@example.com', name: 'Flask', passwordHash: fixture.hash });
    assert.ok(imported.ok);
    const result = await s.accounts.authenticate({ login: 'flask@example.com', password: GOOD });
    assert.ok(result.ok);
    const stored = (await s.users.getUserById(imported.user.id))!;
    assert.match(stored.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(s.events.some(([n]) => n === 'passwordRehashed'));
    assert.ok((await s.accounts.authenticate({ login: 'flask@example.com', password: GOOD })).ok, 'and again, on argon2id');
  });

  it('imports werkzeug scrypt, Django and bcrypt hashes that then log in (SEC-03)', async (t) => {
    const s = await setup(t);
    let n = 0;
    for (const scheme of ['werkzeug-scrypt', 'django-pbkdf2', 'bcrypt']) {
      const fixture = vectors.find((v) => v.scheme === scheme && v.password.length > 0 && v.password.length <= 64 && !v.password.includes('\u0000'))!;
      const email = `user${n++}@example.com`;
      assert.ok((await s.accounts.importUser({ email, name: scheme, passwordHash: fixture.hash })).ok, scheme);
      assert.ok((await s.accounts.authenticate({ login: email, password: fixture.password })).ok, scheme);
    }
  });

  it('a legacy hash of a password that is not in NFKC form still verifies, and is rehashed from the NFKC form (SEC-09)', async (t) => {
    const s = await setup(t);
    const { pbkdf2Sync } = await import('node:crypto');
    const typed = 'ｆｕｌｌｗｉｄｔｈ passphrase here'; // NFKC turns the full-width letters into ASCII
    const hash = `pbkdf2:sha256:1000$salt$${pbkdf2Sync(typed, 'salt', 1000, 32, 'sha256').toString('hex')}`;
    const imported = await s.accounts.importUser({ email: 'wide@example.com', name: 'W', passwordHash: hash });
    assert.ok(imported.ok);
    assert.ok((await s.accounts.authenticate({ login: 'wide@example.com', password: typed })).ok);
    assert.ok((await s.accounts.authenticate({ login: 'wide@example.com', password: typed.normalize('NFKC') })).ok, 'the NFKC form after the rehash');
  });

  it('a wrong password never rewrites the stored hash (SEC-03)', async (t) => {
    const s = await setup(t);
    const fixture = vectors.find((v) => v.scheme === 'werkzeug-pbkdf2' && v.password === GOOD)!;
    const imported = await s.accounts.importUser({ email: 'keep@example.com', name: 'K', passwordHash: fixture.hash });
    assert.ok(imported.ok);
    await s.accounts.authenticate({ login: 'keep@example.com', password: 'not the password at all' });
    assert.equal((await s.users.getUserById(imported.user.id))!.passwordHash, fixture.hash);
  });

  it('a failed rehash write does not fail the login (SEC-03)', async (t) => {
    const real = new SqliteUserStore({ path: ':memory:' });
    t.after(() => real.close());
    // Fault injection on the real store: only the rehash write fails.
    const users: UserStore = {
      createUser: (u) => real.createUser(u),
      getUserById: (id) => real.getUserById(id),
      getUserByLogin: (l) => real.getUserByLogin(l),
      updatePasswordHash: async () => { throw new Error('disk full (injected)'); },
      setUserActive: (id, a) => real.setUserActive(id, a),
      listUsers: (o) => real.listUsers(o),
      markEmailVerified: (id, c) => real.markEmailVerified(id, c),
      changeEmail: (id, e, c) => real.changeEmail(id, e, c),
    };
    const s = await setup(t, { users });
    const fixture = vectors.find((v) => v.scheme === 'werkzeug-pbkdf2' && v.password === GOOD)!;
    assert.ok((await s.accounts.importUser({ email: 'x@example.com', name: 'X', passwordHash: fixture.hash })).ok);
    assert.ok((await s.accounts.authenticate({ login: 'x@example.com', password: GOOD })).ok);
    assert.ok(s.events.some(([n]) => n === 'rehashFailed'));
  });
});

describe('changePassword and deactivate (SEC-10, SEC-32, SEC-33)', () => {
  it('needs the current password, checks the new one, and ends every session of the user', async (t) => {
    const s = await setup(t);
    const registered = await s.accounts.register({ email: 'ada@example.com', name: 'Ada', password: GOOD });
    assert.ok(registered.ok);
    const auth = s.manager.forRequest(new Request('http://localhost/'));
    await auth.login(userOf(registered), { remember: true });
    const wrong = await s.accounts.changePassword({ userId: userOf(registered).id, currentPassword: 'nope nope nope nope', newPassword: 'a brand new passphrase' });
    assert.ok(!wrong.ok && wrong.reason === 'invalid' && 'current_password' in wrong.errors);
    const weak = await s.accounts.changePassword({ userId: userOf(registered).id, currentPassword: GOOD, newPassword: 'short' });
    assert.ok(!weak.ok && weak.reason === 'invalid' && 'new_password' in weak.errors);
    const done = await s.accounts.changePassword({ userId: userOf(registered).id, currentPassword: GOOD, newPassword: 'a brand new passphrase' });
    assert.ok(done.ok);
    assert.deepEqual(await s.manager.listUserSessions(userOf(registered).id), []);
    assert.equal((await s.accounts.authenticate({ login: 'ada@example.com', password: GOOD })).ok, false);
    assert.equal((await s.accounts.authenticate({ login: 'ada@example.com', password: 'a brand new passphrase' })).ok, true);
    assert.ok(s.events.some(([n]) => n === 'passwordChanged'));
  });

  it('deactivation ends all sessions and the user can no longer log in (SEC-32)', async (t) => {
    const s = await setup(t);
    const registered = await s.accounts.register({ email: 'bye@example.com', name: 'Bye', password: GOOD });
    assert.ok(registered.ok);
    await s.manager.forRequest(new Request('http://localhost/')).login(userOf(registered));
    assert.equal(await s.accounts.deactivate(userOf(registered).id), true);
    assert.deepEqual(await s.manager.listUserSessions(userOf(registered).id), []);
    assert.deepEqual(await s.accounts.authenticate({ login: 'bye@example.com', password: GOOD }), { ok: false, reason: 'invalid' });
  });
});

describe('accounts with a username and no email (finding 13)', () => {
  it('finding 13: register takes a username alone; the account logs in by it, in any case, and changes its password', async (t) => {
    const s = await setup(t);
    const registered = await s.accounts.register({ username: 'Test_User', name: 'Test', password: GOOD });
    assert.ok(registered.ok);
    assert.equal(userOf(registered).email, null);
    assert.equal(userOf(registered).emailCanonical, null);
    assert.equal(userOf(registered).username, 'Test_User');
    assert.equal(userOf(registered).usernameCanonical, 'test_user');
    const login = await s.accounts.authenticate({ login: 'TEST_USER', password: GOOD });
    assert.equal(login.ok && login.user.id, userOf(registered).id);
    const changed = await s.accounts.changePassword({ userId: userOf(registered).id, currentPassword: GOOD, newPassword: 'a brand new passphrase' });
    assert.ok(changed.ok);
    const wrong = await s.accounts.changePassword({ userId: userOf(registered).id, currentPassword: GOOD, newPassword: 'another new passphrase' });
    assert.ok(!wrong.ok && wrong.reason === 'invalid' && 'current_password' in wrong.errors);
    assert.equal((await s.accounts.authenticate({ login: 'test_user', password: 'a brand new passphrase' })).ok, true);
  });

  it('finding 13: an account needs an email address or a username; with requireEmail, an email address', async (t) => {
    const s = await setup(t);
    for (const email of [undefined, null, '']) {
      const neither = await s.accounts.register({ email, username: '', name: 'Nobody', password: GOOD });
      assert.deepEqual(neither, { ok: false, reason: 'invalid', errors: { email: 'Enter an email address or a username.' } }, String(email));
    }
    assert.equal(s.hasher.hashes, 0);
    const strict = createAccounts({ users: s.users, throttle: false, requireEmail: true });
    const refused = await strict.register({ username: 'no_address', name: 'No', password: GOOD });
    assert.ok(!refused.ok && refused.reason === 'invalid' && refused.errors.email === 'Email address must be a string.');
    assert.ok((await strict.register({ email: 'has@example.com', username: 'has_address', name: 'Has', password: GOOD })).ok);
    assert.throws(() => createAccounts({ users: s.users, throttle: false, requireEmail: 'yes' as never }), TypeError);
  });

  it('finding 13, as the attacker: a username that looks like an email address, or is another account\'s once canonical, is refused', async (t) => {
    const s = await setup(t);
    assert.ok((await s.accounts.register({ email: 'victim@example.com', name: 'Victim', password: GOOD })).ok);
    assert.ok((await s.accounts.register({ username: 'admin', name: 'Admin', password: GOOD })).ok);
    // Read as an address at login, it would shadow the victim's account.
    for (const username of ['victim@example.com', 'victim＠example.com']) {
      const result = await s.accounts.register({ username, name: 'Mallory', password: 'mallorys own passphrase' });
      assert.ok(!result.ok && result.reason === 'invalid' && /must not contain "@"/.test(result.errors.username ?? ''), username);
      const imported = await s.accounts.importUser({ username, passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA' });
      assert.ok(!imported.ok && imported.reason === 'invalid' && 'username' in imported.errors, username);
    }
    for (const username of ['ADMIN', 'ａｄｍｉｎ', 'ᴬᴰᴹᴵᴺ', ' admin ']) {
      const result = await s.accounts.register({ username, name: 'Mallory', password: 'mallorys own passphrase' });
      assert.deepEqual(result, { ok: false, reason: 'exists', field: 'username' }, username);
      const imported = await s.accounts.importUser({ username, passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA' });
      assert.deepEqual(imported, { ok: false, reason: 'exists', field: 'username' }, username);
    }
    const hidden = await s.accounts.register({ username: 'admin\u200b', name: 'Mallory', password: 'mallorys own passphrase' });
    assert.ok(!hidden.ok && hidden.reason === 'invalid' && /invisible/.test(hidden.errors.username ?? ''));
    assert.equal((await s.users.listUsers()).length, 2);
  });
});

describe('createAccounts options', () => {
  it('requires an explicit throttle decision (TypeError), and accepts false', () => {
    const users = new SqliteUserStore({ path: ':memory:' });
    assert.throws(() => createAccounts({ users } as never), TypeError);
    assert.ok(createAccounts({ users, throttle: false }));
  });

  it('refuses the former manager option with a TypeError naming revokeSessions: ignored, it would leave sessions alive (SEC-33)', () => {
    const users = new SqliteUserStore({ path: ':memory:' });
    assert.throws(() => createAccounts({ users, throttle: false, manager: {} } as never), /revokeSessions/);
    assert.throws(() => createAccounts({ users, throttle: false, revokeSessions: 'all' as never }), TypeError);
  });
});

describe('storeTimeout: the user store is deadline-guarded like the other stores (R-01, R-03)', () => {
  /** The real SQLite user store, with one method that never answers (a database that accepts and never replies). */
  function hanging(users: SqliteUserStore, method: keyof UserStore): UserStore {
    return new Proxy(users, {
      get(target, name) {
        if (name === method) return () => new Promise(() => {});
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as UserStore;
  }

  it('a user store that never answers makes authenticate, register and loadUser reject with the coded timeout within the deadline', async (t) => {
    const users = new SqliteUserStore({ path: ':memory:' });
    t.after(() => users.close());
    const hasher = new CountingHasher();
    const cases: Array<[keyof UserStore, (accounts: ReturnType<typeof createAccounts>) => Promise<unknown>]> = [
      ['getUserByLogin', (a) => a.authenticate({ login: 'ada@example.com', password: GOOD })],
      ['createUser', (a) => a.register({ email: 'ada@example.com', name: 'Ada', password: GOOD })],
      ['getUserById', (a) => a.loadUser('1')],
    ];
    for (const [method, call] of cases) {
      const accounts = createAccounts({ users: hanging(users, method), throttle: false, hasher, storeTimeout: 100 });
      const started = performance.now();
      await assert.rejects(call(accounts), { code: 'ERR_LATCHKEY_STORE_TIMEOUT' }, method);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 90 && elapsed < 1_000, `${method}: rejected after ${Math.round(elapsed)} ms`);
    }
  });

  it('refuses a storeTimeout that is not a positive duration (TypeError)', () => {
    const users = new SqliteUserStore({ path: ':memory:' });
    for (const storeTimeout of [0, -1, 'soon']) {
      assert.throws(() => createAccounts({ users, throttle: false, storeTimeout }), TypeError, String(storeTimeout));
    }
  });
});

describe('userCache: loadUser results reused for up to ttl (R-07)', () => {
  /** The SQLite user store, counting getUserById, with a hook to hold a read open. */
  function counting(users: SqliteUserStore) {
    const counts = { reads: 0 };
    let hold: Promise<void> | null = null;
    const getUserById = async (id: string) => {
      counts.reads++;
      const row = await users.getUserById(id);
      if (hold) await hold;
      return row;
    };
    const wrapped = new Proxy(users, {
      get(target, name) {
        if (name === 'getUserById') return getUserById;
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as UserStore;
    return { wrapped, counts, holdReads: (p: Promise<void> | null) => (hold = p) };
  }

  async function cached(t: { after(fn: () => unknown): void }) {
    const clock = { now: Date.UTC(2026, 0, 5) };
    const sqliteUsers = new SqliteUserStore({ path: ':memory:' });
    const store = new SqliteStore({ path: ':memory:', now: () => clock.now, sweepInterval: 0 });
    t.after(async () => {
      await store.close();
      await sqliteUsers.close();
    });
    const c = counting(sqliteUsers);
    const manager = createLoginManager({ store, secret: SECRET, loadUser: (id) => c.wrapped.getUserById(id), now: () => clock.now });
    const accounts = createAccounts({ users: c.wrapped, throttle: false, revokeSessions: async (id) => (await manager.revokeUserSessions(id)).sessions, hasher: new CountingHasher(), userCache: { ttl: '5s' }, now: () => clock.now });
    const registered = await accounts.register({ email: 'ada@example.com', name: 'Ada', password: GOOD });
    assert.ok(registered.ok);
    return { accounts, clock, counts: c.counts, holdReads: c.holdReads, id: userOf(registered).id };
  }

  it('refuses a ttl over 5 s, of 0 or not a duration, and a clock that is not a function (TypeError)', () => {
    const users = new SqliteUserStore({ path: ':memory:' });
    for (const userCache of [{ ttl: '6s' }, { ttl: 0 }, { ttl: 'soon' }, { ttl: '1s', maxEntries: 0 }]) {
      assert.throws(() => createAccounts({ users, throttle: false, userCache }), TypeError, JSON.stringify(userCache));
    }
    assert.throws(() => createAccounts({ users, throttle: false, now: 5 as unknown as () => number }), TypeError);
    createAccounts({ users, throttle: false, userCache: { ttl: '5s' } });
    createAccounts({ users, throttle: false, userCache: null });
  });

  it('reads the store once per ttl, not once per call; without the option, every call', async (t) => {
    const s = await cached(t);
    for (let i = 0; i < 5; i++) assert.equal((await s.accounts.loadUser(s.id))?.email, 'ada@example.com');
    assert.equal(s.counts.reads, 1);
    s.clock.now += 4_999;
    await s.accounts.loadUser(s.id);
    assert.equal(s.counts.reads, 1);
    s.clock.now += 1;
    await s.accounts.loadUser(s.id);
    assert.equal(s.counts.reads, 2);

    const users = new SqliteUserStore({ path: ':memory:' });
    t.after(() => users.close());
    const c = counting(users);
    const plain = createAccounts({ users: c.wrapped, throttle: false, hasher: new CountingHasher() });
    const r = await plain.register({ email: 'bob@example.com', name: 'Bob', password: GOOD });
    assert.ok(r.ok);
    for (let i = 0; i < 3; i++) await plain.loadUser(userOf(r).id);
    assert.equal(c.counts.reads, 3);
  });

  it('a deactivation through the accounts shows at once: the next loadUser reads the store (SEC-32)', async (t) => {
    const s = await cached(t);
    assert.equal((await s.accounts.loadUser(s.id))?.isActive, true);
    assert.equal(await s.accounts.deactivate(s.id), true);
    assert.equal((await s.accounts.loadUser(s.id))?.isActive, false);
  });

  it('a password change through the accounts shows at once (SEC-33)', async (t) => {
    const s = await cached(t);
    const before = (await s.accounts.loadUser(s.id))!.passwordHash;
    const changed = await s.accounts.changePassword({ userId: s.id, currentPassword: GOOD, newPassword: 'a different long passphrase 42' });
    assert.ok(changed.ok);
    assert.notEqual((await s.accounts.loadUser(s.id))!.passwordHash, before);
  });

  it('a read that overlapped a deactivation does not cache the row it read before it (R-06)', async (t) => {
    const s = await cached(t);
    let release!: () => void;
    s.holdReads(new Promise<void>((resolve) => (release = resolve)));
    const stale = s.accounts.loadUser(s.id); // reads the active row, then waits
    await new Promise((resolve) => setImmediate(resolve));
    s.holdReads(null);
    await s.accounts.deactivate(s.id);
    release();
    assert.equal((await stale)?.isActive, true); // what that read saw
    assert.equal((await s.accounts.loadUser(s.id))?.isActive, false); // not what it cached
  });
});
