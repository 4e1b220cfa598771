/**
 * Email verification through the public accounts API on a real SQLite user store and a
 * MemoryStore: the link and its binding to the address (SEC-61), the unverified login (SEC-62),
 * verify-first registration (SEC-15), the resend limit (SEC-54), and the mail texts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAccounts } from '../src/accounts/accounts.ts';
import { SqliteUserStore } from '../src/sqlite/user-store.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';
import { GOOD, linkToken, mailsTo, mailWorld, settle, type MailWorld } from './support/mail-accounts.ts';

const VERIFY = '/verify-email/';

/** Registers `email` and returns the token of the verification link mailed at registration. */
async function registerWithLink(w: MailWorld, email: string): Promise<{ id: string; token: string }> {
  const result = await w.accounts.register({ email, name: 'Ada', password: GOOD });
  assert.ok(result.ok && 'user' in result);
  await settle();
  return { id: result.user.id, token: linkToken(mailsTo(w, email).at(-1), VERIFY) };
}

describe('email verification (SEC-61)', () => {
  it('SEC-61: registration mails a link, valid once, that marks the address verified', async (t) => {
    const w = mailWorld(t);
    const { id, token } = await registerWithLink(w, 'Ada@Example.com');
    assert.equal(w.mails[0]?.subject, 'Confirm your email address for Latchkey');
    assert.equal((await w.users.getUserById(id))?.emailVerified, false);
    const verified = await w.accounts.verifyEmail({ token });
    assert.ok(verified.ok);
    assert.equal(verified.user.emailVerified, true);
    assert.equal((await w.users.getUserById(id))?.emailVerified, true);
    assert.deepEqual(await w.accounts.verifyEmail({ token }), { ok: false, reason: 'invalid-token' });
    assert.deepEqual(w.events.filter((e) => e.name === 'emailVerified').map((e) => e.payload.user.id), [id]);
  });

  it('SEC-61: a link is valid for 24 hours, not a minute more (injected clock)', async (t) => {
    const w = mailWorld(t);
    const { token } = await registerWithLink(w, 'ada@example.com');
    w.clock.advance(24 * 60 * 60_000);
    assert.deepEqual(await w.accounts.verifyEmail({ token }), { ok: false, reason: 'invalid-token' });
  });

  it('SEC-61 as the attacker: a link sent to the old address does not verify the account once its address changed', async (t) => {
    const w = mailWorld(t);
    const { id, token } = await registerWithLink(w, 'ada@example.com');
    // An operator changes the address behind the accounts' back: the new one is not verified.
    w.db.prepare("UPDATE users SET email = 'ada@other.example', email_canonical = 'ada@other.example', email_verified = 0 WHERE id = ?").run(Number(id));
    assert.deepEqual(await w.accounts.verifyEmail({ token }), { ok: false, reason: 'invalid-token' });
    assert.equal((await w.users.getUserById(id))?.emailVerified, false);
  });

  it('SEC-61: a reset link verifies nothing, and a verification link resets nothing', async (t) => {
    const w = mailWorld(t);
    const { id, token } = await registerWithLink(w, 'ada@example.com');
    assert.deepEqual(await w.accounts.resetPassword({ token, password: 'a brand new and long passphrase' }), { ok: false, reason: 'invalid-token' });
    await w.accounts.requestPasswordReset({ email: 'ada@example.com' });
    await settle();
    const reset = linkToken(mailsTo(w, 'ada@example.com').at(-1), '/reset-password/');
    assert.deepEqual(await w.accounts.verifyEmail({ token: reset }), { ok: false, reason: 'invalid-token' });
    assert.equal((await w.users.getUserById(id))?.emailVerified, false);
  });

  it('SEC-61, SEC-54: a resend mails a new link within the address limit; verified and address-less accounts are told so', async (t) => {
    const w = mailWorld(t);
    const { id } = await registerWithLink(w, 'ada@example.com'); // mail 1 of 3 this hour
    assert.deepEqual(await w.accounts.sendEmailVerification(id), { ok: true });
    assert.deepEqual(await w.accounts.sendEmailVerification(id), { ok: true });
    const refused = await w.accounts.sendEmailVerification(id);
    assert.ok(!refused.ok && refused.reason === 'throttled' && refused.retryAfter > 0 && refused.retryAfter <= 3600);
    await settle();
    assert.equal(mailsTo(w, 'ada@example.com').length, 3);
    assert.equal((await w.accounts.verifyEmail({ token: linkToken(w.mails.at(-1), VERIFY) })).ok, true);
    assert.deepEqual(await w.accounts.sendEmailVerification(id), { ok: false, reason: 'verified' });
    const bob = await w.accounts.register({ username: 'bob', name: 'Bob', password: GOOD });
    assert.ok(bob.ok && 'user' in bob);
    assert.deepEqual(await w.accounts.sendEmailVerification(bob.user.id), { ok: false, reason: 'no-email' });
  });

  it("emailVerification 'off' sends no mail at registration", async (t) => {
    const w = mailWorld(t, { emailVerification: 'off' });
    await w.accounts.register({ email: 'ada@example.com', name: 'Ada', password: GOOD });
    await settle();
    assert.equal(w.mails.length, 0);
  });
});

describe("emailVerification: 'required' (SEC-15, SEC-62)", () => {
  it('SEC-15 as the attacker enumerating: a new and a taken address get the same answer and the same hashing; the owner is told someone tried', async (t) => {
    const w = mailWorld(t, { emailVerification: 'required' });
    assert.deepEqual(await w.accounts.register({ email: 'Owner@Example.com', name: 'Owner', password: GOOD }), { ok: true, pending: true });
    await settle();
    assert.equal((await w.accounts.verifyEmail({ token: linkToken(w.mails[0], VERIFY) })).ok, true);
    const owner = await w.users.getUserByLogin('owner@example.com');
    w.mails.length = 0;
    w.hasher.hashes = 0;
    const fresh = await w.accounts.register({ email: 'new@example.com', name: 'New', password: GOOD });
    const taken = await w.accounts.register({ email: 'owner@EXAMPLE.com', name: 'Mallory', password: 'mallory picks a long password' });
    assert.deepEqual(fresh, { ok: true, pending: true });
    assert.deepEqual(taken, { ok: true, pending: true });
    assert.equal(w.hasher.hashes, 2, 'one hash each (SEC-14 timing)');
    await settle();
    assert.deepEqual(w.mails.map((m) => [m.to, m.subject]).sort(), [
      ['Owner@Example.com', 'Someone tried to sign up to Latchkey with your address'],
      ['new@example.com', 'Confirm your email address for Latchkey'],
    ]);
    assert.deepEqual(await w.users.getUserByLogin('owner@example.com'), owner, 'the account is untouched');
  });

  it('SEC-62: the right password of an unverified account answers unverified, a wrong one invalid; after verifying, the login works', async (t) => {
    const w = mailWorld(t, { emailVerification: 'required' });
    assert.deepEqual(await w.accounts.register({ email: 'ada@example.com', name: 'Ada', password: GOOD }), { ok: true, pending: true });
    await settle();
    const token = linkToken(w.mails[0], VERIFY);
    assert.deepEqual(await w.accounts.authenticate({ login: 'ada@example.com', password: 'a wrong but long password' }), { ok: false, reason: 'invalid' });
    assert.deepEqual(await w.accounts.authenticate({ login: 'ada@example.com', password: GOOD }), { ok: false, reason: 'unverified' });
    assert.equal((await w.accounts.verifyEmail({ token })).ok, true);
    assert.equal((await w.accounts.authenticate({ login: 'ada@example.com', password: GOOD })).ok, true);
  });

  it('SEC-15: registration needs an email address when verification is required', async (t) => {
    const w = mailWorld(t, { emailVerification: 'required' });
    const result = await w.accounts.register({ username: 'bob', name: 'Bob', password: GOOD });
    assert.ok(!result.ok && result.reason === 'invalid' && result.errors.email);
  });
});

describe('mail texts and options', () => {
  it('texts are overridable by key and go through localize before the placeholders are filled; each link stands on its own line', async (t) => {
    const w = mailWorld(t, {
      messages: { verifySubject: 'Bitte bestätigen: {app}', verifyText: 'Hallo {name}, bitte hier:\n{link}\nDanke.' },
      localize: (text) => text.replace('Hallo', 'Servus'),
    });
    await w.accounts.register({ email: 'ada@example.com', name: 'Ada {link}', password: GOOD });
    await settle();
    const mail = w.mails[0];
    assert.equal(mail?.subject, 'Bitte bestätigen: Latchkey');
    assert.match(mail?.text ?? '', /^Servus Ada \{link\}, bitte hier:\nhttps:\/\/app\.example\/verify-email\/[A-Za-z0-9_-]{43}\nDanke\.$/);
  });

  it('misuse throws TypeError: recovery without tokens and mail, an unknown text key, tokens without links or a throttle', async (t) => {
    const users = new SqliteUserStore({ path: ':memory:' });
    t.after(() => users.close());
    const store = new MemoryStore();
    const plain = createAccounts({ users, throttle: false });
    await assert.rejects(plain.requestPasswordReset({ email: 'a@example.com' }), { name: 'TypeError', message: /recovery needs tokens and mail/ });
    await assert.rejects(plain.verifyEmail({ token: 'x' }), TypeError);
    const mail = () => {};
    const revokeSessions = async () => 0;
    const links = { resetPassword: String, verifyEmail: String, confirmEmail: String };
    assert.throws(() => createAccounts({ users, throttle: false, tokens: store }), TypeError);
    assert.throws(() => createAccounts({ users, throttle: false, tokens: store, mail, appName: 'A', revokeSessions, recoveryThrottle: false }), /links/);
    assert.throws(() => createAccounts({ users, throttle: false, tokens: store, mail, links, appName: 'A', revokeSessions }), /recoveryThrottle/);
    assert.throws(() => createAccounts({ users, throttle: false, tokens: store, mail, links, appName: 'A', recoveryThrottle: false }), /revokeSessions/);
    assert.throws(() => createAccounts({ users, throttle: false, mail, appName: 'A', messages: { resetSubjet: 'x' } as never }), /unknown mail text resetSubjet/);
    assert.throws(() => createAccounts({ users, throttle: false, emailVerification: 'required' }), TypeError);
  });
});
