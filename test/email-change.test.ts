/**
 * Email change through the public accounts API on a real SQLite user store and a MemoryStore:
 * the new address held as pending until its link is confirmed, the notices to the old address,
 * the same answer for a taken address, and uniqueness decided at the confirmation (SEC-63, SEC-71).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BETTER, linkToken, mailsTo, mailWorld, registerUser, settle } from './support/mail-accounts.ts';

const CONFIRM = '/confirm-email/';
const NOTICE = 'The email address of your Latchkey account is being changed';

describe('email change (SEC-63)', () => {
  it('SEC-63: the new address is pending until its link is confirmed; the old one is told at once and at the change', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    assert.deepEqual(await w.accounts.requestEmailChange({ userId: ada.id, email: ' Ada@New.Example ', ip: '203.0.113.7' }), { ok: true });
    await settle();
    assert.equal((await w.users.getUserById(ada.id))?.email, 'ada@example.com', 'pending: nothing changed yet');
    assert.equal((await w.accounts.authenticate({ login: 'ada@new.example', password: 'correct horse battery staple' })).ok, false);
    assert.deepEqual(mailsTo(w, 'ada@example.com').map((m) => m.subject), [NOTICE]);
    const link = mailsTo(w, 'Ada@New.Example');
    assert.equal(link[0]?.subject, 'Confirm your new email address for Latchkey');
    assert.doesNotMatch(mailsTo(w, 'ada@example.com')[0]?.text ?? '', /confirm-email/, 'the old address never sees the link');

    const confirmed = await w.accounts.confirmEmailChange({ token: linkToken(link[0], CONFIRM) });
    assert.ok(confirmed.ok);
    assert.deepEqual([confirmed.user.email, confirmed.user.emailCanonical, confirmed.user.emailVerified], ['Ada@New.Example', 'ada@new.example', true]);
    const stored = await w.users.getUserById(ada.id);
    assert.deepEqual([stored?.email, stored?.emailCanonical, stored?.emailVerified], ['Ada@New.Example', 'ada@new.example', true]);
    assert.equal((await w.accounts.authenticate({ login: 'ada@new.example', password: 'correct horse battery staple' })).ok, true);
    await settle();
    assert.deepEqual(mailsTo(w, 'ada@example.com').map((m) => m.subject), [NOTICE, NOTICE]);
    assert.deepEqual(w.events.filter((e) => e.name === 'emailChanged').map((e) => e.payload.previousEmail), ['ada@example.com']);
  });

  it('SEC-63 as the attacker probing for accounts: a taken address gets the same answer and the same mail; at the confirmation it is refused', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    await registerUser(w, 'bob@example.com', 'Bob');
    const free = await w.accounts.requestEmailChange({ userId: ada.id, email: 'free@example.com' });
    const taken = await w.accounts.requestEmailChange({ userId: ada.id, email: 'BOB@example.com' });
    assert.deepEqual(free, taken);
    await settle();
    const token = linkToken(mailsTo(w, 'BOB@example.com')[0], CONFIRM);
    assert.deepEqual(await w.accounts.confirmEmailChange({ token }), { ok: false, reason: 'taken' });
    assert.equal((await w.users.getUserById(ada.id))?.email, 'ada@example.com');
    assert.deepEqual(await w.accounts.confirmEmailChange({ token }), { ok: false, reason: 'invalid-token' }, 'used up');
  });

  it('SEC-63: registered by another account between request and confirmation, the address is taken (the unique index decides)', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    await w.accounts.requestEmailChange({ userId: ada.id, email: 'wanted@example.com' });
    await settle();
    const token = linkToken(mailsTo(w, 'wanted@example.com')[0], CONFIRM);
    await registerUser(w, 'Wanted@example.com', 'Quick');
    assert.deepEqual(await w.accounts.confirmEmailChange({ token }), { ok: false, reason: 'taken' });
  });

  it('SEC-63: only the latest request is pending, and a link lives 24 hours', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    await w.accounts.requestEmailChange({ userId: ada.id, email: 'one@example.com' });
    await w.accounts.requestEmailChange({ userId: ada.id, email: 'two@example.com' });
    await settle();
    assert.deepEqual(await w.accounts.confirmEmailChange({ token: linkToken(mailsTo(w, 'one@example.com')[0], CONFIRM) }), { ok: false, reason: 'invalid-token' });
    w.clock.advance(24 * 60 * 60_000);
    assert.deepEqual(await w.accounts.confirmEmailChange({ token: linkToken(mailsTo(w, 'two@example.com')[0], CONFIRM) }), { ok: false, reason: 'invalid-token' });
  });

  it('SEC-60, SEC-63 as the intruder with a stolen session: a pending change to their address dies when the owner resets the password', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    await w.accounts.requestEmailChange({ userId: ada.id, email: 'mallory@evil.example' });
    await w.accounts.requestPasswordReset({ email: 'ada@example.com' });
    await settle();
    const stolen = linkToken(mailsTo(w, 'mallory@evil.example')[0], CONFIRM);
    const reset = linkToken(mailsTo(w, 'ada@example.com').find((m) => m.subject.startsWith('Reset')), '/reset-password/');
    assert.equal((await w.accounts.resetPassword({ token: reset, password: BETTER })).ok, true);
    assert.deepEqual(await w.accounts.confirmEmailChange({ token: stolen }), { ok: false, reason: 'invalid-token' });
    assert.equal((await w.users.getUserById(ada.id))?.email, 'ada@example.com');
  });

  it('refuses a malformed address or the current one with a field error, and limits requests per new address (SEC-54)', async (t) => {
    const w = mailWorld(t);
    const ada = await registerUser(w, 'ada@example.com');
    for (const email of ['not an address', 42, ['a@b.example'], 'ADA@example.com']) {
      const refused = await w.accounts.requestEmailChange({ userId: ada.id, email });
      assert.ok(!refused.ok && refused.reason === 'invalid' && refused.errors.email, JSON.stringify(email));
    }
    for (let i = 0; i < 3; i++) assert.deepEqual(await w.accounts.requestEmailChange({ userId: ada.id, email: 'new@example.com' }), { ok: true });
    const refused = await w.accounts.requestEmailChange({ userId: ada.id, email: 'new@example.com' });
    assert.ok(!refused.ok && refused.reason === 'throttled');
  });
});
