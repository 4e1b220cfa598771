/**
 * Password reset by mailed link, through the public accounts API on a real SQLite user store, a
 * MemoryStore (sessions, counters, tokens) and a real login manager: the constant answer of the
 * request (SEC-16), its limits (SEC-54), the token's life (SEC-57), what a reset ends and clears
 * (SEC-60), the stored address (SEC-18), and mail failures that change nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256 } from '../src/lib/encoding.ts';
import type { UserRecord, UserStore } from '../src/user-store.ts';
import { BETTER, GOOD, linkToken, mailsTo, mailWorld, registerUser, settle, type MailWorld } from './support/mail-accounts.ts';

const RESET = '/reset-password/';

/** Asks for a reset for `email`, lets the background run, and returns the reset link's token mailed to `to`. */
async function resetToken(world: MailWorld, email: string, to = email): Promise<string> {
  assert.deepEqual(await world.accounts.requestPasswordReset({ email, ip: '203.0.113.7' }), { ok: true });
  await settle();
  return linkToken(mailsTo(world, to).at(-1), RESET);
}

/** A login through the real manager: its cookies, session and remember-me. */
async function logIn(world: MailWorld, user: UserRecord): Promise<string> {
  const auth = world.manager.forRequest(new Request('http://localhost/'));
  assert.equal(await auth.login(user, { remember: true }), true);
  return auth.setCookies().map((cookie) => cookie.split(';')[0]).join('; ');
}

async function userBehind(world: MailWorld, cookie: string): Promise<UserRecord | null> {
  return world.manager.forRequest(new Request('http://localhost/', { headers: { cookie } })).user();
}

describe('requestPasswordReset: the same answer for every address (SEC-16)', () => {
  it('SEC-16: a known, an unknown and a malformed address get the same answer; only the known one is mailed, and its account is unchanged', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    const answers = [];
    for (const email of ['ada@example.com', 'nobody@example.com', 'not an address', { $ne: null }]) {
      answers.push(await w.accounts.requestPasswordReset({ email, ip: '203.0.113.7' }));
    }
    assert.deepEqual(answers, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    await settle();
    assert.deepEqual(w.mails.map((mail) => mail.to), ['ada@example.com']);
    assert.equal(w.mails[0]?.subject, 'Reset your Latchkey password');
    assert.deepEqual(await w.users.getUserById(ada.id), ada, 'no account state changes (no lock, no flag)');
  });

  it('SEC-16 as the attacker timing it: the answer comes before any user-store call, for a known and an unknown address alike, and does not wait for the mail', async (t) => {
    let calls = 0;
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => { release = resolve; });
    const counted = (store: UserStore): UserStore =>
      new Proxy(store, { get: (target, name) => { const value = Reflect.get(target, name); return typeof value === 'function' ? (...args: unknown[]) => { calls++; return value.apply(target, args); } : value; } });
    const base = mailWorld(t);
    const w = mailWorld(t, { users: counted(base.users), mail: () => stuck });
    await base.users.createUser({ email: 'ada@example.com', emailCanonical: 'ada@example.com', username: null, usernameCanonical: null, name: 'Ada', passwordHash: 'x' });
    for (const email of ['ada@example.com', 'nobody@example.com']) {
      calls = 0;
      await w.accounts.requestPasswordReset({ email, ip: '203.0.113.7' });
      assert.equal(calls, 0, `${email}: nothing was read before the answer`);
    }
    await settle();
    assert.equal(calls, 2, 'both were looked up, after the answer');
    release();
  });

  it('SEC-16, SEC-54: past 3 requests an hour for one address the answer stays the same and no mail goes out; an hour later one does', async (t) => {
    const w = mailWorld(t, { emailVerification: 'off' }); // no verification mail: it would count as one of the 3
    await registerUser(w, 'ada@example.com');
    for (let i = 0; i < 6; i++) assert.deepEqual(await w.accounts.requestPasswordReset({ email: 'ADA@example.com', ip: `198.51.100.${i}` }), { ok: true });
    await settle();
    assert.equal(w.mails.length, 3);
    w.clock.advance(60 * 60_000);
    await w.accounts.requestPasswordReset({ email: 'ada@example.com', ip: '198.51.100.9' });
    await settle();
    assert.equal(w.mails.length, 4);
  });

  it('SEC-17 as the attacker probing the limit: an unknown address is refused at the same request as a known one', async (t) => {
    const w = mailWorld(t, { emailVerification: 'off' });
    await registerUser(w, 'ada@example.com');
    const refusedAt = async (email: string) => {
      for (let i = 1; i <= 6; i++) {
        const before = w.events.filter((e) => e.name === 'throttled').length;
        await w.accounts.requestPasswordReset({ email, ip: `198.51.100.${i}` });
        if (w.events.filter((e) => e.name === 'throttled').length > before) return i;
      }
      return null;
    };
    assert.equal(await refusedAt('ada@example.com'), 4);
    assert.equal(await refusedAt('nobody@example.com'), 4);
  });

  it('SEC-54: one IP asking for many addresses is cut off at its cap, with the same answer', async (t) => {
    const w = mailWorld(t);
    for (let i = 0; i < 12; i++) await registerUser(w, `user${i}@example.com`, `User ${i}`);
    for (let i = 0; i < 12; i++) assert.deepEqual(await w.accounts.requestPasswordReset({ email: `user${i}@example.com`, ip: '203.0.113.66' }), { ok: true });
    await settle();
    assert.equal(w.mails.length, 10, 'the recovery throttle allows 10 requests per hour from one IP');
  });

  it('SEC-18 as the attacker: a reset for "mıke@" (dotless ı) never reaches "mike@"; it mails the stored address of its own account, or nobody', async (t) => {
    const w = mailWorld(t);
    await registerUser(w, 'Mike@Example.com', 'Mike');
    await w.accounts.requestPasswordReset({ email: 'mıke@example.com' });
    await settle();
    assert.equal(w.mails.length, 0, 'no account has that address: nobody is mailed');
    await registerUser(w, 'mıke@example.com', 'Other');
    await w.accounts.requestPasswordReset({ email: 'MIKE@EXAMPLE.COM' });
    await w.accounts.requestPasswordReset({ email: 'mıke@example.com' });
    await settle();
    assert.deepEqual(w.mails.map((mail) => mail.to), ['Mike@Example.com', 'mıke@example.com'], 'each to the address as stored');
  });
});

describe('reset tokens (SEC-57)', () => {
  it('SEC-57: the link carries 32 random bytes, of which only the SHA-256 is stored, bound to the user and the address, for 60 minutes', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'Ada@Example.com');
    const token = await resetToken(w, 'ada@example.com', 'Ada@Example.com');
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    const stored = await w.store.findToken(sha256(token), 'reset');
    assert.ok(stored);
    assert.deepEqual({ userId: stored.userId, email: stored.email, life: stored.expiresAt - stored.createdAt }, { userId: ada.id, email: 'ada@example.com', life: 60 * 60_000 });
    assert.equal(await w.store.findToken(sha256(token), 'verify'), null, 'a reset token verifies nothing');
  });

  it('SEC-57: a link works once; used again it is invalid', async (t) => {
    const w = mailWorld(t);
    await registerUser(w, 'ada@example.com');
    const token = await resetToken(w, 'ada@example.com');
    assert.equal(await w.accounts.checkResetToken(token), true);
    assert.equal(await w.accounts.checkResetToken(token), true, 'checking does not use it up (SEC-42)');
    assert.equal((await w.accounts.resetPassword({ token, password: BETTER })).ok, true);
    assert.equal(await w.accounts.checkResetToken(token), false);
    assert.deepEqual(await w.accounts.resetPassword({ token, password: 'yet another long passphrase' }), { ok: false, reason: 'invalid-token' });
  });

  it('SEC-57: a link still works at 59 minutes and is invalid at 61 (injected clock)', async (t) => {
    const w = mailWorld(t);
    await registerUser(w, 'ada@example.com');
    const early = await resetToken(w, 'ada@example.com');
    w.clock.advance(59 * 60_000);
    assert.equal(await w.accounts.checkResetToken(early), true);
    w.clock.advance(2 * 60_000);
    assert.equal(await w.accounts.checkResetToken(early), false);
    assert.deepEqual(await w.accounts.resetPassword({ token: early, password: BETTER }), { ok: false, reason: 'invalid-token' });
  });

  it('SEC-57: a new request invalidates the older link', async (t) => {
    const w = mailWorld(t);
    await registerUser(w, 'ada@example.com');
    const first = await resetToken(w, 'ada@example.com');
    const second = await resetToken(w, 'ada@example.com');
    assert.notEqual(first, second);
    assert.deepEqual(await w.accounts.resetPassword({ token: first, password: BETTER }), { ok: false, reason: 'invalid-token' });
    assert.equal((await w.accounts.resetPassword({ token: second, password: BETTER })).ok, true);
  });

  it('SEC-57 as the attacker racing the owner: two parallel resets with one link, exactly one succeeds', async (t) => {
    const w = mailWorld(t);
    await registerUser(w, 'ada@example.com');
    const token = await resetToken(w, 'ada@example.com');
    const results = await Promise.all([
      w.accounts.resetPassword({ token, password: BETTER }),
      w.accounts.resetPassword({ token, password: 'the attacker wants this one' }),
    ]);
    assert.deepEqual(results.map((r) => r.ok).sort(), [false, true]);
    assert.deepEqual(results.find((r) => !r.ok), { ok: false, reason: 'invalid-token' });
    const winner = results[0]?.ok ? BETTER : 'the attacker wants this one';
    assert.equal((await w.accounts.authenticate({ login: 'ada@example.com', password: winner })).ok, true);
  });

  it('SEC-57 as the attacker: a forged, truncated or non-string token is invalid', async (t) => {
    const w = mailWorld(t);
    await registerUser(w, 'ada@example.com');
    const token = await resetToken(w, 'ada@example.com');
    const forged = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [forged, token.slice(0, 42), `${token}=`, sha256(token), '', null, 42, [token], { token }]) {
      assert.deepEqual(await w.accounts.resetPassword({ token: bad, password: BETTER }), { ok: false, reason: 'invalid-token' }, JSON.stringify(bad));
      assert.equal(await w.accounts.checkResetToken(bad), false);
    }
    assert.equal(await w.accounts.checkResetToken(token), true, 'the real one is untouched');
  });

  it('SEC-57: a password change voids the reset links', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    const token = await resetToken(w, 'ada@example.com');
    assert.equal((await w.accounts.changePassword({ userId: ada.id, currentPassword: GOOD, newPassword: BETTER })).ok, true);
    assert.equal(await w.accounts.checkResetToken(token), false);
  });
});

describe('resetPassword (SEC-60)', () => {
  it('SEC-60: a reset ends every session and remember-me login, lifts a lock of 100 failures, marks the address verified, logs nobody in, and sends a notice', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    assert.equal(ada.emailVerified, false);
    const cookies = [await logIn(w, ada), await logIn(w, ada)];
    const rememberOnly = cookies[0]!.split('; ').filter((c) => c.startsWith('remember_token=')).join('; ');
    assert.ok(rememberOnly, 'a remember-me cookie was set');
    for (let i = 0; i < 100; i++) await w.throttle.recordFailure({ account: `id:${ada.id}`, ip: null });
    assert.equal((await w.accounts.authenticate({ login: 'ada@example.com', password: GOOD })).ok, false, 'locked');
    const token = await resetToken(w, 'ada@example.com');
    w.mails.length = 0;

    const result = await w.accounts.resetPassword({ token, password: BETTER, ip: '203.0.113.7' });
    assert.ok(result.ok);
    assert.deepEqual(Object.keys(result).sort(), ['ok', 'user'], 'no session, no cookie: nobody is logged in');
    assert.equal(result.user.emailVerified, true);
    assert.equal((await w.users.getUserById(ada.id))?.emailVerified, true);
    assert.deepEqual(await w.manager.listUserSessions(ada.id), []);
    for (const cookie of [...cookies, rememberOnly]) assert.equal(await userBehind(w, cookie), null);
    assert.equal((await w.accounts.authenticate({ login: 'ada@example.com', password: GOOD })).ok, false);
    assert.equal((await w.accounts.authenticate({ login: 'ada@example.com', password: BETTER })).ok, true, 'the lock is gone');
    await settle();
    assert.deepEqual(w.mails.map((m) => [m.to, m.subject]), [['ada@example.com', 'Your Latchkey password was changed']]);
    assert.deepEqual(w.events.filter((e) => e.name === 'passwordReset').map((e) => [e.payload.user.id, e.payload.ip]), [[ada.id, '203.0.113.7']]);
  });

  it('SEC-60: the new password meets the registration policy; a refused one leaves the link usable', async (t) => {
    const w = mailWorld(t);
    await registerUser(w, 'adalovelace@example.com', 'Ada');
    const token = await resetToken(w, 'adalovelace@example.com');
    for (const password of ['short', 'passwordpassword1', 'adalovelaceadalovelace', 'Latchkey2025!Latchkey', 42]) {
      const refused = await w.accounts.resetPassword({ token, password });
      assert.ok(!refused.ok && refused.reason === 'invalid' && refused.errors.password, String(password));
    }
    assert.equal(await w.accounts.checkResetToken(token), true);
    assert.equal((await w.accounts.resetPassword({ token, password: BETTER })).ok, true);
  });

  it('SEC-57 as the attacker holding an old link: after the address changed, a link sent to the old one is invalid', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    const token = await resetToken(w, 'ada@example.com');
    assert.equal(await w.users.changeEmail(ada.id, 'ada@new.example', 'ada@new.example'), 'changed');
    assert.equal(await w.accounts.checkResetToken(token), false);
    assert.deepEqual(await w.accounts.resetPassword({ token, password: BETTER }), { ok: false, reason: 'invalid-token' });
  });

  it('a deactivated account gets no reset mail, and a link issued before deactivation no longer works', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    const token = await resetToken(w, 'ada@example.com');
    await w.accounts.deactivate(ada.id);
    assert.deepEqual(await w.accounts.resetPassword({ token, password: BETTER }), { ok: false, reason: 'invalid-token' });
    w.mails.length = 0;
    await w.accounts.requestPasswordReset({ email: 'ada@example.com' });
    await settle();
    assert.deepEqual(w.mails, []);
  });
});

describe('mail failures and notices (SEC-71)', () => {
  for (const [how, mail] of [
    ['throws', () => { throw new Error('smtp down (injected)'); }],
    ['rejects', async () => { throw new Error('smtp down (injected)'); }],
  ] as const) {
    it(`SEC-16: a mail function that ${how} changes no answer and emits mailFailed without the address`, async (t) => {
      const w = mailWorld(t, { mail });
      const registered = await w.accounts.register({ email: 'ada@example.com', name: 'Ada', password: GOOD });
      assert.ok(registered.ok && 'user' in registered);
      assert.deepEqual(await w.accounts.requestPasswordReset({ email: 'ada@example.com' }), { ok: true });
      const changed = await w.accounts.changePassword({ userId: registered.user.id, currentPassword: GOOD, newPassword: BETTER });
      assert.equal(changed.ok, true);
      await w.accounts.notifyRememberTheft(registered.user.id);
      await settle();
      const failed = w.events.filter((e) => e.name === 'mailFailed').map((e) => e.payload);
      assert.deepEqual(failed.map((f) => f.subject).sort(), [
        'A saved login of your Latchkey account was used twice',
        'Confirm your email address for Latchkey',
        'Reset your Latchkey password',
        'Your Latchkey password was changed',
      ]);
      for (const f of failed) {
        assert.match(f.error.message, /smtp down/);
        assert.doesNotMatch(JSON.stringify(f.to), /ada|example/i);
      }
      assert.equal(new Set(failed.map((f) => f.to)).size, 2, 'one hash per address: the address, and the user of the theft notice');
    });
  }

  it('SEC-71: a password change and a remember-me theft are told to the owner', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    await w.accounts.changePassword({ userId: ada.id, currentPassword: GOOD, newPassword: BETTER });
    await w.accounts.notifyRememberTheft(ada.id);
    await settle();
    assert.deepEqual(w.mails.map((m) => [m.to, m.subject]).sort(), [
      ['ada@example.com', 'A saved login of your Latchkey account was used twice'],
      ['ada@example.com', 'Your Latchkey password was changed'],
    ]);
    for (const mail of w.mails) assert.match(mail.text, /^Hello Ada,\n/);
  });
});
