/**
 * The passkey contract ({@link CredentialStore}), as a suite every implementation runs unchanged:
 * SQLite, PostgreSQL, and one you write. Passkeys belong to accounts, so the store under test is a
 * user store too: each test creates its own accounts and random credential ids, so runs against a
 * shared server never collide.
 *
 * @module testing/credential-store-conformance
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { CredentialStore, NewPasskeyCredential } from '../credential-store.ts';
import type { UserStore } from '../user-store.ts';
import { checkSuiteArguments, type StoreUnderTest } from './conformance-fixture.ts';
import { newUser, storeWithAccount } from './user-store-fixture.ts';

/** Options of {@link describeCredentialStoreConformance}. */
export interface CredentialStoreConformanceOptions {
  /** Makes a fresh store, accounts and passkeys, for one test (a table, schema or file of its own). */
  readonly makeStore: () => Promise<StoreUnderTest<UserStore & CredentialStore>>;
}

/** A new credential of `userId` with a random 16-byte id, as authenticators make them. */
const credential = (userId: string, overrides: Partial<NewPasskeyCredential> = {}): NewPasskeyCredential => ({
  id: randomBytes(16).toString('base64url'),
  userId,
  publicKey: randomBytes(77).toString('base64url'),
  counter: 0,
  transports: ['internal', 'hybrid'],
  name: 'Laptop',
  ...overrides,
});

/**
 * Registers the {@link CredentialStore} conformance suite for one implementation, under the suite
 * name `credential store conformance: <name>`. Call it at the top level of a test file run by `node --test`.
 *
 * @example
 * ```ts
 * import { describeCredentialStoreConformance } from 'latchkey/testing';
 * import { SqliteUserStore } from 'latchkey/sqlite';
 *
 * describeCredentialStoreConformance('SqliteUserStore', {
 *   makeStore: async () => {
 *     const store = new SqliteUserStore({ path: ':memory:' });
 *     return { store, cleanup: () => store.close() };
 *   },
 * });
 * ```
 */
export function describeCredentialStoreConformance(name: string, options: CredentialStoreConformanceOptions): void {
  checkSuiteArguments('describeCredentialStoreConformance', name, options);
  const { makeStore } = options;
  describe(`credential store conformance: ${name}`, () => {
    /** A fresh store and an account in it; the store is cleaned up after the test. */
    const setUp = (t: { after(fn: () => unknown): void }) => storeWithAccount(t, makeStore);

    it('SEC-83: stores a credential with its id, key, counter, transports and name, and reads it back and in the list, oldest first', async (t) => {
      const { store, userId } = await setUp(t);
      assert.deepEqual(await store.listCredentials(userId), []);
      const first = credential(userId, { counter: 7, transports: [] });
      const added = await store.addCredential(first);
      assert.ok(added);
      assert.deepEqual({ ...added, transports: [...added.transports], createdAt: 0 }, { ...first, createdAt: 0, lastUsedAt: null });
      assert.ok(Number.isSafeInteger(added.createdAt));
      assert.deepEqual(await store.getCredential(first.id), added);
      const second = (await store.addCredential(credential(userId, { name: 'Téléphone 📱', transports: ['usb', 'nfc', 'ble', 'smart-card', 'hybrid', 'internal', 'a', 'b'] })))!;
      const third = (await store.addCredential(credential(userId, { name: 'x'.repeat(100) })))!;
      assert.deepEqual(second.transports, ['usb', 'nfc', 'ble', 'smart-card', 'hybrid', 'internal', 'a', 'b']);
      assert.deepEqual(await store.listCredentials(userId), [added, second, third]);
      const other = (await store.createUser(newUser()))!;
      assert.deepEqual(await store.listCredentials(other.id), []);
    });

    it('SEC-83: as the attacker, a taken credential id registers nothing and leaves the first as it was', async (t) => {
      const { store, userId } = await setUp(t);
      const first = (await store.addCredential(credential(userId)))!;
      const attacker = (await store.createUser(newUser()))!;
      assert.equal(await store.addCredential(credential(attacker.id, { id: first.id, counter: 999, name: 'Mine now' })), null);
      assert.equal(await store.addCredential(credential(userId, { id: first.id })), null);
      assert.deepEqual(await store.getCredential(first.id), first);
      assert.deepEqual(await store.listCredentials(attacker.id), []);
    });

    it('SEC-83: as the attacker, another user\'s credential can be neither renamed nor removed', async (t) => {
      const { store, userId } = await setUp(t);
      const victim = (await store.addCredential(credential(userId)))!;
      const attacker = (await store.createUser(newUser()))!;
      assert.equal(await store.renameCredential(attacker.id, victim.id, 'Owned'), false);
      assert.equal(await store.removeCredential(attacker.id, victim.id), false);
      assert.deepEqual(await store.getCredential(victim.id), victim);
      assert.equal(await store.renameCredential(userId, victim.id, 'Work key'), true);
      assert.deepEqual(await store.getCredential(victim.id), { ...victim, name: 'Work key' });
    });

    it('SEC-83: a greater counter is stored with lastUsedAt; an equal or lower one is refused as a possible clone and changes nothing', async (t) => {
      const { store, userId } = await setUp(t);
      const added = (await store.addCredential(credential(userId, { counter: 10 })))!;
      assert.equal(await store.useCredential(added.id, 11), 'ok');
      const used = (await store.getCredential(added.id))!;
      assert.equal(used.counter, 11);
      assert.ok(Number.isSafeInteger(used.lastUsedAt) && used.lastUsedAt! >= added.createdAt, String(used.lastUsedAt));
      assert.deepEqual({ ...used, counter: 10, lastUsedAt: null }, added);
      for (const counter of [11, 10, 0]) {
        assert.equal(await store.useCredential(added.id, counter), 'regressed', String(counter));
        assert.deepEqual(await store.getCredential(added.id), used);
      }
      assert.equal(await store.useCredential(added.id, 2 ** 32 - 1), 'ok'); // the largest counter on the wire
      assert.equal((await store.getCredential(added.id))?.counter, 2 ** 32 - 1);
    });

    it('SEC-83: an authenticator without a counter (0 after 0) is accepted each time; once it counts, 0 is a regression', async (t) => {
      const { store, userId } = await setUp(t);
      const added = (await store.addCredential(credential(userId, { counter: 0 })))!;
      assert.equal(await store.useCredential(added.id, 0), 'ok');
      assert.equal(await store.useCredential(added.id, 0), 'ok');
      assert.equal(typeof (await store.getCredential(added.id))?.lastUsedAt, 'number');
      assert.equal(await store.useCredential(added.id, 1), 'ok');
      assert.equal(await store.useCredential(added.id, 0), 'regressed');
      assert.equal((await store.getCredential(added.id))?.counter, 1);
    });

    it('SEC-83: as the attacker, ten parallel uses of one assertion (one counter): exactly one accepted', async (t) => {
      const { store, userId } = await setUp(t);
      const added = (await store.addCredential(credential(userId, { counter: 5 })))!;
      const results = await Promise.all(Array.from({ length: 10 }, () => store.useCredential(added.id, 6)));
      assert.deepEqual(results.filter((r) => r === 'ok').length, 1);
      assert.deepEqual(results.filter((r) => r === 'regressed').length, 9);
      assert.equal((await store.getCredential(added.id))?.counter, 6);
    });

    it('SEC-83: a removed credential is gone: not read, listed, used, renamed or removed again; the user\'s others stay', async (t) => {
      const { store, userId } = await setUp(t);
      const [gone, kept] = [(await store.addCredential(credential(userId)))!, (await store.addCredential(credential(userId)))!];
      assert.equal(await store.removeCredential(userId, gone.id), true);
      assert.equal(await store.getCredential(gone.id), null);
      assert.deepEqual(await store.listCredentials(userId), [kept]);
      assert.equal(await store.useCredential(gone.id, 1), null);
      assert.equal(await store.renameCredential(userId, gone.id, 'Back'), false);
      assert.equal(await store.removeCredential(userId, gone.id), false);
    });

    it('answers absent for unknown ids and accounts: null, [] or false', async (t) => {
      const { store, userId } = await setUp(t);
      const unknown = randomBytes(16).toString('base64url');
      assert.equal(await store.getCredential(unknown), null);
      assert.equal(await store.useCredential(unknown, 1), null);
      assert.equal(await store.renameCredential(userId, unknown, 'x'), false);
      assert.equal(await store.removeCredential(userId, unknown), false);
      for (const account of ['999999999', 'not-an-account']) {
        assert.deepEqual(await store.listCredentials(account), []);
        assert.equal(await store.addCredential(credential(account)), null); // no such account
      }
    });

    it('SEC-83: throws TypeError for misuse: bad ids, keys, counters, transports and names, and writes nothing', async (t) => {
      const { store, userId } = await setUp(t);
      const added = (await store.addCredential(credential(userId)))!;
      for (const id of ['', 'a+b', 'a/b', 'ab=', 'x'.repeat(1367), 42, null]) {
        await assert.rejects(store.getCredential(id as never), TypeError, String(id));
        await assert.rejects(store.useCredential(id as never, 1), TypeError, String(id));
        await assert.rejects(store.removeCredential(userId, id as never), TypeError, String(id));
        await assert.rejects(store.addCredential(credential(userId, { id: id as never })), TypeError, String(id));
      }
      for (const user of ['', 'x'.repeat(256), 42, null]) {
        await assert.rejects(store.listCredentials(user as never), TypeError, String(user));
        await assert.rejects(store.renameCredential(user as never, added.id, 'x'), TypeError, String(user));
      }
      for (const counter of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, '5', null]) {
        await assert.rejects(store.useCredential(added.id, counter as never), TypeError, String(counter));
        await assert.rejects(store.addCredential(credential(userId, { counter: counter as never })), TypeError, String(counter));
      }
      for (const transports of ['usb', ['USB'], ['usb', ''], [42], ['a'.repeat(33)], Array.from({ length: 9 }, () => 'usb'), null]) {
        await assert.rejects(store.addCredential(credential(userId, { transports: transports as never })), TypeError, JSON.stringify(transports));
      }
      for (const name of ['', 'x'.repeat(101), '\uD800', 42, null]) {
        await assert.rejects(store.renameCredential(userId, added.id, name as never), TypeError, String(name));
        await assert.rejects(store.addCredential(credential(userId, { name: name as never })), TypeError, String(name));
      }
      for (const publicKey of ['', 'a+b=', 42]) await assert.rejects(store.addCredential(credential(userId, { publicKey: publicKey as never })), TypeError);
      await assert.rejects(store.addCredential(null as never), TypeError);
      assert.deepEqual(await store.listCredentials(userId), [added]); // nothing was written by the refused calls
    });
  });
}
