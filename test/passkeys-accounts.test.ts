/**
 * A passkey as the accounts see it: a second factor (SEC-80: "a user has two-factor login once
 * they confirm TOTP or add a passkey"), listed by `secondFactorMethods`, and told to its owner by
 * `notifySecondFactor` (SEC-71, SEC-84), which the app calls after `passkeys.register` and
 * `passkeys.remove`. On the mail world of test/support/mail-accounts.ts (a SqliteUserStore, which is
 * the accounts' FactorStore and CredentialStore, and a MemoryStore), with real passkeys over them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAccounts } from '../src/accounts/accounts.ts';
import type { AccountEvents } from '../src/accounts/results.ts';
import { createPasskeys } from '../src/passkeys/index.ts';
import { SqliteUserStore } from '../src/sqlite/user-store.ts';
import { totpCode, totpStep } from '../src/totp.ts';
import type { UserStore } from '../src/user-store.ts';
import { SoftwareAuthenticator } from './support/authenticator.ts';
import { mailsTo, mailWorld, ORIGIN, registerUser, settle, type MailWorld } from './support/mail-accounts.ts';

/** The mail world, passkeys over its stores, an account, and the second-factor events seen. */
async function setUp(t: { after(fn: () => unknown): void }) {
  const world = mailWorld(t);
  const passkeys = createPasskeys({ rpId: new URL(ORIGIN).hostname, rpName: 'Latchkey', origin: ORIGIN, credentials: world.users, challenges: world.store });
  const user = await registerUser(world, 'ada@example.com');
  const events: Array<[keyof AccountEvents, unknown]> = [];
  for (const name of ['secondFactorAdded', 'secondFactorRemoved'] as const) world.accounts.on(name, (payload) => events.push([name, payload]));
  return { world, passkeys, user, events };
}

/** Adds a passkey for the user as the app would: register, then notify. */
async function addPasskey(world: MailWorld, passkeys: ReturnType<typeof createPasskeys>, userId: string): Promise<string> {
  const options = await passkeys.registrationOptions({ userId, userName: 'ada@example.com' });
  const result = await passkeys.register({ userId, response: new SoftwareAuthenticator({ origin: ORIGIN }).startRegistration(options), name: 'Laptop' });
  assert.ok(result.ok);
  await world.accounts.notifySecondFactor(userId, 'added', 'passkey');
  return result.credential.id;
}

describe('a passkey as a second factor (SEC-80, SEC-84)', () => {
  it('SEC-80: an account with only a passkey has two-factor login; its methods list the passkey, and TOTP first once confirmed', async (t) => {
    const { world, passkeys, user } = await setUp(t);
    assert.equal(await world.accounts.hasSecondFactor(user.id), false);
    assert.deepEqual(await world.accounts.secondFactorMethods(user.id), []);
    const id = await addPasskey(world, passkeys, user.id);
    assert.equal(await world.accounts.hasSecondFactor(user.id), true);
    assert.deepEqual(await world.accounts.secondFactorMethods(user.id), ['passkey']);
    const begun = await world.accounts.beginTotpSetup(user.id);
    assert.ok(begun.ok);
    assert.deepEqual(await world.accounts.secondFactorMethods(user.id), ['passkey'], 'an unconfirmed setup is no factor');
    assert.ok((await world.accounts.confirmTotpSetup({ userId: user.id, code: totpCode(begun.secret, totpStep(Date.now())) })).ok); // the mail world's accounts run on Date.now
    assert.deepEqual(await world.accounts.secondFactorMethods(user.id), ['totp', 'passkey']);
    assert.equal(await passkeys.remove(user.id, id), true);
    assert.deepEqual(await world.accounts.secondFactorMethods(user.id), ['totp']);
    assert.equal(await world.accounts.disableTotp(user.id), true);
    assert.equal(await world.accounts.hasSecondFactor(user.id), false, 'neither left');
  });

  it('SEC-71, SEC-84: notifySecondFactor mails the owner a passkey notice and emits the event with its method, for an addition and a removal', async (t) => {
    const { world, passkeys, user, events } = await setUp(t);
    const id = await addPasskey(world, passkeys, user.id);
    await settle();
    assert.equal(await passkeys.remove(user.id, id), true);
    await world.accounts.notifySecondFactor(user.id, 'removed', 'passkey');
    await world.accounts.idle();
    assert.deepEqual(mailsTo(world, 'ada@example.com').map((m) => m.subject), ['A passkey was added to your Latchkey account', 'A passkey was removed from your Latchkey account']);
    assert.match(mailsTo(world, 'ada@example.com')[0]!.text, /^Hello Ada,/);
    assert.deepEqual(events, [
      ['secondFactorAdded', { userId: user.id, method: 'passkey' }],
      ['secondFactorRemoved', { userId: user.id, method: 'passkey' }],
    ]);
    await world.accounts.notifySecondFactor(user.id, 'removed', 'totp');
    await world.accounts.idle();
    assert.equal(world.mails.at(-1)?.subject, 'The second factor of your Latchkey account was removed', 'TOTP keeps its own notice');
  });

  it('notifySecondFactor throws TypeError for misuse: an unknown account, change or method', async (t) => {
    const { world, user } = await setUp(t);
    await assert.rejects(() => world.accounts.notifySecondFactor('999', 'added', 'passkey'), TypeError);
    await assert.rejects(() => world.accounts.notifySecondFactor(user.id, 'changed' as never, 'passkey'), TypeError);
    await assert.rejects(() => world.accounts.notifySecondFactor(user.id, 'added', 'sms' as never), TypeError);
    await world.accounts.idle();
    assert.deepEqual(world.mails, []);
  });

  it('takes a credentials option beside a users store that is not one, and refuses one that is not a CredentialStore', async (t) => {
    const sqlite = new SqliteUserStore({ path: ':memory:' });
    t.after(() => sqlite.close());
    const user = await sqlite.createUser({ email: null, emailCanonical: null, username: 'ada', usernameCanonical: 'ada', name: 'Ada', passwordHash: 'x' });
    assert.ok(user);
    const methods = ['createUser', 'getUserById', 'getUserByLogin', 'updatePasswordHash', 'setUserActive', 'listUsers', 'markEmailVerified', 'changeEmail'] as const;
    const usersOnly = Object.fromEntries(methods.map((m) => [m, (...args: unknown[]) => (sqlite[m] as (...a: unknown[]) => unknown)(...args)])) as unknown as UserStore;
    await sqlite.addCredential({ id: 'AAAAAAAAAAAAAAAAAAAAAA', userId: user.id, publicKey: 'pQECAyYgASFYIA', counter: 0, transports: [], name: 'Key' });
    const accounts = createAccounts({ users: usersOnly, credentials: sqlite, throttle: false });
    assert.deepEqual(await accounts.secondFactorMethods(user.id), ['passkey'], 'passkeys alone, without a FactorStore');
    assert.throws(() => createAccounts({ users: sqlite, throttle: false, credentials: {} as never }), /credentials must be a CredentialStore/);
  });
});
