/**
 * The `verified addresses and email change` part of the {@link UserStore} conformance suite: an
 * account starts unverified unless created so (an account without an address never is); a proof
 * verifies only the address the account has now, so a link mailed to a former address verifies
 * nothing (SEC-61); an email change replaces both forms of the address and marks it verified,
 * and the unique index on the canonical address decides who gets an address, against another
 * change or a registration racing it (SEC-63, R-04).
 *
 * @module testing/user-email-conformance
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { newAddress, newUser, type FreshUserStore } from './user-store-fixture.ts';

/** Registers the tests of the `verified addresses and email change` part, in their order. */
export function registerUserEmailTests(fresh: FreshUserStore): void {
  it('a new account is unverified unless created verified, as it reads back; a username-only one cannot be created verified (SEC-61)', async (t) => {
    const store = await fresh(t);
    const plain = (await store.createUser(newUser()))!;
    const unset = (await store.createUser(newUser({ emailVerified: false })))!;
    const proven = (await store.createUser(newUser({ emailVerified: true })))!;
    const tag = randomUUID().slice(0, 8);
    const nameOnly = (await store.createUser(newUser({ email: null, emailCanonical: null, username: `Ada_${tag}`, usernameCanonical: `ada_${tag}` })))!;
    assert.deepEqual([plain, unset, proven, nameOnly].map((u) => u.emailVerified), [false, false, true, false]);
    assert.equal((await store.getUserById(plain.id))!.emailVerified, false);
    assert.equal((await store.getUserById(proven.id))!.emailVerified, true);
    assert.equal((await store.getUserByLogin(proven.emailCanonical!))!.emailVerified, true);
    await assert.rejects(store.createUser(newUser({ email: null, emailCanonical: null, username: 'x', usernameCanonical: `x${tag}`, emailVerified: true })), TypeError);
    await assert.rejects(store.createUser(newUser({ emailVerified: 'yes' as never })), TypeError);
  });

  it('markEmailVerified verifies the account\'s current canonical address, and again is still true (SEC-61)', async (t) => {
    const store = await fresh(t);
    const user = (await store.createUser(newUser()))!;
    assert.equal(await store.markEmailVerified(user.id, user.emailCanonical!), true);
    assert.deepEqual(await store.getUserById(user.id), { ...user, emailVerified: true });
    assert.equal(await store.markEmailVerified(user.id, user.emailCanonical!), true);
    assert.equal((await store.getUserById(user.id))!.emailVerified, true);
  });

  it('markEmailVerified for an address the account does not have verifies nothing: another address, the typed form, no address, no account (SEC-61)', async (t) => {
    const store = await fresh(t);
    const user = (await store.createUser(newUser()))!;
    const other = (await store.createUser(newUser()))!;
    assert.equal(await store.markEmailVerified(user.id, other.emailCanonical!), false); // another account's address
    assert.equal(await store.markEmailVerified(user.id, newAddress().emailCanonical), false);
    assert.equal(await store.markEmailVerified(user.id, user.email!), false); // only the canonical form is compared
    assert.deepEqual((await store.listUsers()).map((u) => u.emailVerified), [false, false]);
    const tag = randomUUID().slice(0, 8);
    const nameOnly = (await store.createUser(newUser({ email: null, emailCanonical: null, username: `Bo_${tag}`, usernameCanonical: `bo_${tag}` })))!;
    assert.equal(await store.markEmailVerified(nameOnly.id, `bo_${tag}`), false); // its username is no address
    assert.equal((await store.getUserById(nameOnly.id))!.emailVerified, false);
    for (const id of ['999999999', 'abc', '', "1' OR '1'='1"]) assert.equal(await store.markEmailVerified(id, user.emailCanonical!), false, id);
  });

  it('as the attacker: a verification link for an old address verifies neither the account that changed away from it nor the account that took it (SEC-61)', async (t) => {
    const store = await fresh(t);
    const old = newUser();
    const mover = (await store.createUser(old))!;
    // The link was issued for `old`; then the owner moved to a new address and someone else registered the old one.
    const moved = newAddress();
    assert.equal(await store.changeEmail(mover.id, moved.email, moved.emailCanonical), 'changed');
    const taker = (await store.createUser({ ...newUser(), email: old.email, emailCanonical: old.emailCanonical }))!;
    assert.equal(await store.markEmailVerified(mover.id, old.emailCanonical!), false);
    assert.equal((await store.getUserById(taker.id))!.emailVerified, false);
  });

  it('changeEmail sets the typed and canonical address and marks it verified; the account is found by the new address only (SEC-63)', async (t) => {
    const store = await fresh(t);
    const user = (await store.createUser(newUser()))!;
    const next = newAddress();
    assert.equal(await store.changeEmail(user.id, next.email, next.emailCanonical), 'changed');
    const changed = { ...user, email: next.email, emailCanonical: next.emailCanonical, emailVerified: true };
    assert.deepEqual(await store.getUserById(user.id), changed);
    assert.deepEqual(await store.getUserByLogin(next.emailCanonical), changed);
    assert.equal(await store.getUserByLogin(user.emailCanonical!), null);
    // The freed address can be registered again (R-04's index holds the new one, not the old).
    assert.ok(await store.createUser({ ...newUser(), email: user.email, emailCanonical: user.emailCanonical }));
  });

  it('changeEmail gives a username-only account an address, and to its own address in another case is changed, not taken (SEC-63)', async (t) => {
    const store = await fresh(t);
    const tag = randomUUID().slice(0, 8);
    const nameOnly = (await store.createUser(newUser({ email: null, emailCanonical: null, username: `Cy_${tag}`, usernameCanonical: `cy_${tag}` })))!;
    const next = newAddress();
    assert.equal(await store.changeEmail(nameOnly.id, next.email, next.emailCanonical), 'changed');
    assert.deepEqual(await store.getUserByLogin(`cy_${tag}`), { ...nameOnly, ...next, emailVerified: true });
    const user = (await store.createUser(newUser()))!;
    assert.equal(await store.changeEmail(user.id, user.email!.toUpperCase(), user.emailCanonical!), 'changed');
    assert.deepEqual(await store.getUserById(user.id), { ...user, email: user.email!.toUpperCase(), emailVerified: true });
  });

  it('changeEmail to an address another account has is taken, and both rows stay as they were (SEC-63, R-04)', async (t) => {
    const store = await fresh(t);
    const owner = (await store.createUser(newUser()))!;
    const user = (await store.createUser(newUser()))!;
    assert.equal(await store.changeEmail(user.id, owner.email!.toUpperCase(), owner.emailCanonical!), 'taken');
    assert.deepEqual(await store.getUserById(user.id), user);
    assert.deepEqual(await store.getUserById(owner.id), owner);
    assert.deepEqual(await store.getUserByLogin(owner.emailCanonical!), owner);
  });

  it('changeEmail of an unknown or malformed id is missing and creates nothing; an empty address is a TypeError (SEC-63)', async (t) => {
    const store = await fresh(t);
    const next = newAddress();
    for (const id of ['999999999', 'abc', '', "1' OR '1'='1"]) assert.equal(await store.changeEmail(id, next.email, next.emailCanonical), 'missing', id);
    assert.equal(await store.getUserByLogin(next.emailCanonical), null);
    const user = (await store.createUser(newUser()))!;
    for (const [email, canonical] of [['', ''], [next.email, ''], ['', next.emailCanonical], [null, null]] as const) {
      await assert.rejects(store.changeEmail(user.id, email as string, canonical as string), TypeError, `${email} ${canonical}`);
    }
    assert.deepEqual(await store.getUserById(user.id), user);
  });

  it('ten accounts changing to one address at once: exactly one changed, the others taken and unchanged (SEC-63, R-04)', async (t) => {
    const store = await fresh(t);
    const users = await Promise.all(Array.from({ length: 10 }, async () => (await store.createUser(newUser()))!));
    const target = newAddress();
    const results = await Promise.all(users.map((u) => store.changeEmail(u.id, target.email, target.emailCanonical)));
    assert.equal(results.filter((r) => r === 'changed').length, 1, results.join());
    assert.equal(results.filter((r) => r === 'taken').length, 9, results.join());
    const winner = users[results.indexOf('changed')]!;
    assert.equal((await store.getUserByLogin(target.emailCanonical))!.id, winner.id);
    for (const user of users.filter((u) => u !== winner)) assert.deepEqual(await store.getUserById(user.id), user);
  });

  it('an email change racing a registration of the same address: exactly one of them gets it (SEC-63, R-04)', async (t) => {
    const store = await fresh(t);
    const user = (await store.createUser(newUser()))!;
    const target = newAddress();
    const [changed, registered] = await Promise.all([
      store.changeEmail(user.id, target.email, target.emailCanonical),
      store.createUser({ ...newUser(), ...target }),
    ]);
    // The one that lost is told so: taken, or null (no account), never an error.
    assert.equal(changed, registered === null ? 'changed' : 'taken');
    assert.equal((await store.getUserByLogin(target.emailCanonical))!.id, changed === 'changed' ? user.id : registered!.id);
  });
}
