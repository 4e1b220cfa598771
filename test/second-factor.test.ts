/**
 * The accounts' second factors on a real SqliteUserStore (its FactorStore) and the login throttle
 * over a MemoryStore, on an injected clock: TOTP setup and confirmation, replay, recovery codes,
 * the throttled second step and the notices, with the security requirements's numbers in the test names.
 */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { createAccounts } from '../src/accounts/accounts.ts';
import type { AccountMail } from '../src/accounts/recovery-options.ts';
import type { AccountEvents } from '../src/accounts/results.ts';
import { SqliteUserStore } from '../src/sqlite/user-store.ts';
import { createTestClock } from '../src/testing/clock.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';
import { createLoginThrottle } from '../src/throttle.ts';
import { totpCode, totpStep } from '../src/totp.ts';
import type { UserStore } from '../src/user-store.ts';

const SECRET = 'second-factor-test-secret-0123456789abcdef';
/** A step boundary (a multiple of 30 s), so that moving by 30 s moves exactly one step. */
const START = Date.UTC(2026, 0, 5, 9, 0, 0);
const STEP = 30_000;
const EVENTS = ['secondFactorAdded', 'secondFactorRemoved', 'secondFactorFailed', 'recoveryCodeUsed', 'throttled'] as const;

async function setup(t: { after(fn: () => unknown): void }, overrides: { users?: UserStore } = {}) {
  const clock = createTestClock(START);
  const store = new MemoryStore({ now: clock.now });
  const database = new DatabaseSync(':memory:');
  const sqlite = new SqliteUserStore({ database });
  const throttle = createLoginThrottle({ store, secret: SECRET, now: clock.now });
  const mails: AccountMail[] = [];
  const accounts = createAccounts({ users: overrides.users ?? sqlite, throttle, appName: 'Latchkey', mail: (m) => void mails.push(m), now: clock.now });
  const events: Array<[string, unknown]> = [];
  for (const name of EVENTS) accounts.on(name, (payload: AccountEvents[typeof name]) => events.push([name, payload]));
  const user = await sqlite.createUser({ email: 'Ada@Example.com', emailCanonical: 'ada@example.com', username: null, usernameCanonical: null, name: 'Ada', passwordHash: 'x' });
  assert.ok(user);
  t.after(async () => {
    await sqlite.close();
    database.close();
  });
  /** The TOTP code of `secret` at the clock's time. */
  const code = (secret: string, offset = 0) => totpCode(secret, totpStep(clock.now()) + offset);
  const names = () => events.map(([name]) => name);
  return { accounts, sqlite, database, store, throttle, clock, mails, events, names, user, code };
}

/** Sets up and confirms an authenticator; its secret and recovery codes. */
async function enable(s: Awaited<ReturnType<typeof setup>>) {
  const begun = await s.accounts.beginTotpSetup(s.user.id);
  assert.ok(begun.ok);
  const confirmed = await s.accounts.confirmTotpSetup({ userId: s.user.id, code: s.code(begun.secret) });
  assert.ok(confirmed.ok);
  return { secret: begun.secret, codes: confirmed.recoveryCodes };
}

describe('TOTP setup', () => {
  it('enables TOTP with a code computed at the clock\'s time, answering 10 distinct recovery codes (SEC-77, SEC-81)', async (t) => {
    const s = await setup(t);
    const begun = await s.accounts.beginTotpSetup(s.user.id);
    assert.ok(begun.ok);
    assert.match(begun.secret, /^[A-Z2-7]{32}$/); // 160 bits of base32 (SEC-77)
    assert.equal(begun.uri, `otpauth://totp/Latchkey:Ada%40Example.com?secret=${begun.secret}&issuer=Latchkey&algorithm=SHA1&digits=6&period=30`);
    assert.equal(await s.accounts.hasSecondFactor(s.user.id), false, 'not enabled before a correct code');
    const confirmed = await s.accounts.confirmTotpSetup({ userId: s.user.id, code: s.code(begun.secret) });
    assert.ok(confirmed.ok);
    assert.equal(confirmed.recoveryCodes.length, 10);
    assert.equal(new Set(confirmed.recoveryCodes).size, 10);
    for (const c of confirmed.recoveryCodes) assert.match(c, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    assert.equal(await s.accounts.hasSecondFactor(s.user.id), true);
    assert.equal(await s.accounts.countRecoveryCodes(s.user.id), 10);
    assert.deepEqual(s.events, [['secondFactorAdded', { userId: s.user.id, method: 'totp' }]]);
  });

  it('stores only hashes of the recovery codes (SEC-81)', async (t) => {
    const s = await setup(t);
    const { codes } = await enable(s);
    const table = s.database.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%recovery_codes'").get() as { name: string };
    const rows = s.database.prepare(`SELECT * FROM ${table.name}`).all();
    const dump = JSON.stringify(rows);
    assert.equal(rows.length, 10);
    for (const c of codes) assert.ok(!dump.includes(c) && !dump.includes(c.replace('-', '')), 'a code stored in clear');
  });

  it('as the attacker: a wrong, malformed, out-of-window or superseded code does not enable TOTP (SEC-77)', async (t) => {
    const s = await setup(t);
    const first = await s.accounts.beginTotpSetup(s.user.id);
    assert.ok(first.ok);
    const second = await s.accounts.beginTotpSetup(s.user.id); // a new setup replaces an unconfirmed one
    assert.ok(second.ok);
    const right = s.code(second.secret);
    const wrong = right === '000000' ? '000001' : '000000';
    for (const code of [wrong, s.code(second.secret, -2), s.code(second.secret, 2), s.code(first.secret), ` ${right}`, Number(right), null, undefined]) {
      assert.deepEqual(await s.accounts.confirmTotpSetup({ userId: s.user.id, code }), { ok: false, reason: 'invalid' }, String(code));
    }
    assert.equal(await s.accounts.hasSecondFactor(s.user.id), false);
    assert.equal(await s.accounts.countRecoveryCodes(s.user.id), 0);
    assert.ok((await s.accounts.confirmTotpSetup({ userId: s.user.id, code: right })).ok, 'the right code still confirms');
  });

  it('as the attacker with the session: a new setup while one is enabled is refused and the old secret stays (SEC-77, SEC-84)', async (t) => {
    const s = await setup(t);
    const { secret } = await enable(s);
    assert.deepEqual(await s.accounts.beginTotpSetup(s.user.id), { ok: false, reason: 'enabled' });
    s.clock.advance(STEP);
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: s.code(secret) }), { ok: true, method: 'otp' });
    assert.deepEqual(await s.accounts.confirmTotpSetup({ userId: s.user.id, code: s.code(secret) }), { ok: false, reason: 'invalid' }, 'nothing left to confirm');
  });
});

describe('the second step', () => {
  it('as the attacker: a replayed code is refused, at its step and at an earlier one, and the next step is accepted (SEC-78)', async (t) => {
    const s = await setup(t);
    const { secret } = await enable(s);
    const atConfirm = s.code(secret);
    // The step the confirmation used is spent (SEC-78).
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: atConfirm }), { ok: false, reason: 'invalid' });
    s.clock.advance(STEP);
    const next = s.code(secret);
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: next }), { ok: true, method: 'otp' });
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: next }), { ok: false, reason: 'invalid' }, 'same step');
    if (atConfirm !== next) {
      // Still inside the ±1 window, but earlier than the last step used.
      assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: atConfirm }), { ok: false, reason: 'invalid' }, 'earlier step');
    }
    s.clock.advance(STEP);
    const later = s.code(secret);
    const both = await Promise.all([1, 2].map(() => s.accounts.verifySecondFactor({ userId: s.user.id, code: later })));
    assert.deepEqual(both.filter((r) => r.ok), [{ ok: true, method: 'otp' }], 'two parallel uses of one code: exactly one passes');
  });

  it('accepts the next step\'s code within the window, then refuses the current one (SEC-77, SEC-78)', async (t) => {
    const s = await setup(t);
    const { secret } = await enable(s);
    s.clock.advance(STEP);
    assert.ok((await s.accounts.verifySecondFactor({ userId: s.user.id, code: s.code(secret, 1) })).ok, 'one step ahead (clock drift)');
    const current = s.code(secret);
    if (current !== s.code(secret, 1)) assert.equal((await s.accounts.verifySecondFactor({ userId: s.user.id, code: current })).ok, false);
  });

  it('accepts a recovery code once, in lower case or without its dash, and refuses it reused (SEC-81)', async (t) => {
    const s = await setup(t);
    const { codes } = await enable(s);
    const [a, b, c] = codes as [string, string, string];
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: a, ip: '192.0.2.1' }), { ok: true, method: 'recovery' });
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: b.toLowerCase() }), { ok: true, method: 'recovery' });
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: c.replace('-', '') }), { ok: true, method: 'recovery' });
    assert.equal(await s.accounts.countRecoveryCodes(s.user.id), 7);
    for (const reused of [a, a.toLowerCase().replace('-', ' '), b, c]) {
      assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: reused }), { ok: false, reason: 'invalid' }, reused);
    }
    const used = s.events.filter(([name]) => name === 'recoveryCodeUsed').map(([, payload]) => payload);
    assert.deepEqual(used, [
      { userId: s.user.id, ip: '192.0.2.1', remaining: 9 },
      { userId: s.user.id, ip: null, remaining: 8 },
      { userId: s.user.id, ip: null, remaining: 7 },
    ]);
  });

  it('regenerating the recovery codes voids the old set (SEC-81)', async (t) => {
    const s = await setup(t);
    const { codes: old } = await enable(s);
    const fresh = await s.accounts.regenerateRecoveryCodes(s.user.id);
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((c) => old.includes(c)).length, 0);
    assert.equal(await s.accounts.countRecoveryCodes(s.user.id), 10);
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: old[0] }), { ok: false, reason: 'invalid' });
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: fresh[0] }), { ok: true, method: 'recovery' });
  });

  it('as the attacker: after 5 free failures, any kind of input among them, the next attempt is throttled, even with the right code (SEC-79)', async (t) => {
    const s = await setup(t);
    const { secret } = await enable(s);
    s.clock.advance(STEP);
    const right = s.code(secret);
    const wrong = right === '123456' ? '654321' : '123456';
    // Input that is neither a 6-digit code nor a recovery code counts too: no free guesses.
    for (const code of [wrong, '12345', 'not a code', { code: right }, 'UUUUU-UUUUU']) {
      assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code, ip: '192.0.2.9' }), { ok: false, reason: 'invalid' });
    }
    const failures = s.events.filter(([name]) => name === 'secondFactorFailed').map(([, p]) => (p as AccountEvents['secondFactorFailed']).failures?.accountFailures);
    assert.deepEqual(failures, [1, 2, 3, 4, 5]);
    const throttled = await s.accounts.verifySecondFactor({ userId: s.user.id, code: right, ip: '192.0.2.9' });
    assert.equal(throttled.ok, false);
    assert.ok(!throttled.ok && throttled.reason === 'throttled' && throttled.retryAfter >= 1, JSON.stringify(throttled));
    assert.ok(!JSON.stringify(s.events).includes(right), 'no code in any event');
    // Its own counter: the password step of the account is not locked by second-step failures.
    assert.deepEqual(await s.throttle.check({ account: `id:${s.user.id}`, ip: null }), { ok: true });
  });

  it('a success clears the second step\'s failures (SEC-79)', async (t) => {
    const s = await setup(t);
    const { secret } = await enable(s);
    const failTimes = async (n: number) => {
      for (let i = 0; i < n; i++) assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: 'nope' }), { ok: false, reason: 'invalid' });
    };
    await failTimes(5);
    s.clock.advance(STEP); // past the 1 s delay, and a new step
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: s.code(secret) }), { ok: true, method: 'otp' });
    await failTimes(5); // five free failures again, none throttled
    assert.equal((await s.accounts.verifySecondFactor({ userId: s.user.id, code: 'nope' })).ok, false);
    assert.equal(s.names().filter((n) => n === 'throttled').length, 1, 'throttled only after the second run of five');
  });
});

describe('notices and removal', () => {
  it('mails a notice when a factor is added, a recovery code used and the factor removed, with no secret or code in it (SEC-71, SEC-81, SEC-84)', async (t) => {
    const s = await setup(t);
    const { secret, codes } = await enable(s);
    await s.accounts.verifySecondFactor({ userId: s.user.id, code: codes[0] });
    assert.equal(await s.accounts.disableTotp(s.user.id), true);
    await s.accounts.idle();
    assert.deepEqual(s.mails.map((m) => [m.to, m.subject]), [
      ['Ada@Example.com', 'A second factor was added to your Latchkey account'],
      ['Ada@Example.com', 'A recovery code of your Latchkey account was used'],
      ['Ada@Example.com', 'The second factor of your Latchkey account was removed'],
    ]);
    const sent = JSON.stringify(s.mails);
    for (const leaked of [secret, ...codes]) assert.ok(!sent.includes(leaked));
  });

  it('disabling removes the authenticator and every recovery code; its codes no longer pass (SEC-81, SEC-84)', async (t) => {
    const s = await setup(t);
    const { secret, codes } = await enable(s);
    assert.equal(await s.accounts.disableTotp(s.user.id), true);
    assert.equal(await s.accounts.hasSecondFactor(s.user.id), false);
    assert.equal(await s.accounts.countRecoveryCodes(s.user.id), 0);
    s.clock.advance(STEP);
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: codes[1] }), { ok: false, reason: 'invalid' });
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: s.user.id, code: s.code(secret) }), { ok: false, reason: 'invalid' });
    assert.equal(await s.accounts.disableTotp(s.user.id), false, 'nothing left to disable');
    assert.deepEqual(s.events.filter(([name]) => name === 'secondFactorRemoved'), [['secondFactorRemoved', { userId: s.user.id, method: 'totp' }]]);
  });

  it('an abandoned setup is removed without a notice (SEC-71: only real changes are news)', async (t) => {
    const s = await setup(t);
    assert.ok((await s.accounts.beginTotpSetup(s.user.id)).ok);
    assert.equal(await s.accounts.disableTotp(s.user.id), true);
    await s.accounts.idle();
    assert.deepEqual(s.mails, []);
    assert.deepEqual(s.names(), []);
  });
});

describe('misuse', () => {
  /** A user store that is not a FactorStore: the SQLite one's UserStore methods only. */
  function usersOnly(sqlite: SqliteUserStore): UserStore {
    const methods = ['createUser', 'getUserById', 'getUserByLogin', 'updatePasswordHash', 'setUserActive', 'listUsers', 'markEmailVerified', 'changeEmail'] as const;
    return Object.fromEntries(methods.map((m) => [m, (...args: unknown[]) => (sqlite[m] as (...a: unknown[]) => unknown)(...args)])) as unknown as UserStore;
  }

  it('throws TypeError for every second-factor method without a FactorStore, and for a factors option that is not one', async (t) => {
    const sqlite = new SqliteUserStore({ path: ':memory:' });
    t.after(() => sqlite.close());
    const accounts = createAccounts({ users: usersOnly(sqlite), throttle: false, appName: 'Latchkey' });
    const calls = [
      () => accounts.beginTotpSetup('1'),
      () => accounts.confirmTotpSetup({ userId: '1', code: '123456' }),
      () => accounts.disableTotp('1'),
      () => accounts.regenerateRecoveryCodes('1'),
      () => accounts.hasSecondFactor('1'),
      () => accounts.countRecoveryCodes('1'),
      () => accounts.verifySecondFactor({ userId: '1', code: '123456' }),
    ];
    for (const call of calls) await assert.rejects(call, (e: Error) => e instanceof TypeError && /second factors need a FactorStore/.test(e.message));
    assert.throws(() => createAccounts({ users: sqlite, throttle: false, factors: {} as never }), TypeError);
  });

  it('takes an explicit factors store beside a users store that is not one', async (t) => {
    const sqlite = new SqliteUserStore({ path: ':memory:' });
    t.after(() => sqlite.close());
    const user = await sqlite.createUser({ email: null, emailCanonical: null, username: 'ada', usernameCanonical: 'ada', name: 'Ada', passwordHash: 'x' });
    assert.ok(user);
    const accounts = createAccounts({ users: usersOnly(sqlite), factors: sqlite, throttle: false, appName: 'Latchkey' });
    const begun = await accounts.beginTotpSetup(user.id);
    assert.ok(begun.ok);
    assert.match(begun.uri, /^otpauth:\/\/totp\/Latchkey:ada\?/, 'the username names an account without an email address');
  });

  it('throws TypeError for an unknown account, an empty id, a setup without appName and new codes without a factor; a second step whose account is gone is invalid, not a throw', async (t) => {
    const s = await setup(t);
    await assert.rejects(() => s.accounts.beginTotpSetup('999'), TypeError);
    await assert.rejects(() => s.accounts.verifySecondFactor({ userId: '', code: '123456' }), TypeError);
    // A pending step whose account is gone by its second step is answered like a wrong code, never a 500.
    assert.deepEqual(await s.accounts.verifySecondFactor({ userId: '999', code: '123456' }), { ok: false, reason: 'invalid' });
    await assert.rejects(() => s.accounts.regenerateRecoveryCodes(s.user.id), TypeError);
    const nameless = createAccounts({ users: s.sqlite, throttle: false });
    await assert.rejects(() => nameless.beginTotpSetup(s.user.id), /appName/);
  });

  it('gives a factor store that never answers a coded timeout, not a hang (R-01, R-03)', async (t) => {
    const sqlite = new SqliteUserStore({ path: ':memory:' });
    t.after(() => sqlite.close());
    const user = await sqlite.createUser({ email: null, emailCanonical: null, username: 'ada', usernameCanonical: 'ada', name: 'Ada', passwordHash: 'x' });
    assert.ok(user);
    const hanging = Object.assign(Object.create(sqlite) as SqliteUserStore, { getTotp: () => new Promise<never>(() => {}) });
    const accounts = createAccounts({ users: sqlite, factors: hanging, throttle: false, storeTimeout: 50 });
    await assert.rejects(() => accounts.hasSecondFactor(user.id), { code: 'ERR_LATCHKEY_STORE_TIMEOUT' });
  });
});
