/**
 * The user store contract ({@link UserStore}), as a suite every implementation runs unchanged:
 * SQLite, PostgreSQL, and one you write. Each test makes its own store and uses random addresses,
 * so runs against a shared server never collide.
 *
 * @module testing/user-store-conformance
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { NewUser, UserRecord, UserStore } from '../user-store.ts';
import { checkSuiteArguments, type StoreUnderTest } from './conformance-fixture.ts';
import { registerUserEmailTests } from './user-email-conformance.ts';
import { newUser, type FreshUserStore } from './user-store-fixture.ts';

/** Options of {@link describeUserStoreConformance}. */
export interface UserStoreConformanceOptions {
  /**
   * Makes a fresh user store for one test. Each test expects a store that starts empty (two of
   * them list every account), so give each store a table, schema or file of its own.
   */
  readonly makeStore: () => Promise<StoreUnderTest<UserStore>>;
}

/**
 * Registers the {@link UserStore} conformance suite for one implementation, under the suite name
 * `user store conformance: <name>`. Call it at the top level of a test file run by
 * `node --test`; it registers tests and runs none by itself.
 *
 * @example
 * ```ts
 * import { describeUserStoreConformance } from 'latchkey/testing';
 * import { MyUserStore } from '../src/my-user-store.ts';
 *
 * describeUserStoreConformance('MyUserStore', {
 *   makeStore: async () => {
 *     const store = new MyUserStore({ table: `users_${crypto.randomUUID().slice(0, 8)}` });
 *     return { store, cleanup: () => store.close() };
 *   },
 * });
 * ```
 */
export function describeUserStoreConformance(name: string, options: UserStoreConformanceOptions): void {
  checkSuiteArguments('describeUserStoreConformance', name, options);
  const { makeStore } = options;
  describe(`user store conformance: ${name}`, () => {
    const fresh: FreshUserStore = async (t) => {
      const { store, cleanup } = await makeStore();
      if (cleanup) t.after(cleanup);
      return store;
    };

    it('creates an account and reads it back by id, canonical email and canonical username', async (t) => {
      const store = await fresh(t);
      const input = newUser({ username: `Ada_${randomUUID().slice(0, 6)}` });
      const withUsername = { ...input, usernameCanonical: input.username!.toLowerCase() };
      const created = await store.createUser(withUsername);
      assert.ok(created);
      assert.equal(created.email, input.email);
      assert.equal(created.isActive, true);
      assert.equal(typeof created.id, 'string');
      assert.deepEqual(await store.getUserById(created.id), created);
      assert.deepEqual(await store.getUserByLogin(input.emailCanonical!), created);
      assert.deepEqual(await store.getUserByLogin(withUsername.usernameCanonical), created);
    });

    it('answers null for unknown or malformed ids and logins', async (t) => {
      const store = await fresh(t);
      for (const id of ['999999999', 'abc', '', "1' OR '1'='1", '-1', '1.5']) assert.equal(await store.getUserById(id), null, id);
      for (const login of ['nobody@example.com', "' OR '1'='1", '%', '_']) assert.equal(await store.getUserByLogin(login), null, login);
    });

    it('answers many reads by id made at once each with its own account or null, and sees a change made before the read', async (t) => {
      // A busy server loads the user of every request it parsed in one turn: a store may read them
      // together, but each caller must get its own row, and never one read before its change landed.
      const store = await fresh(t);
      const made: UserRecord[] = [];
      for (let i = 0; i < 3; i++) {
        const user = await store.createUser(newUser());
        assert.ok(user);
        made.push(user);
      }
      const [a, b, c] = made as [UserRecord, UserRecord, UserRecord];
      const ids = [a.id, '999999999', b.id, 'abc', a.id, c.id, ''];
      const got = await Promise.all(ids.map((id) => store.getUserById(id)));
      assert.deepEqual(got.map((user) => user?.id ?? null), [a.id, null, b.id, null, a.id, c.id, null]);
      assert.deepEqual(got[0], a);
      assert.deepEqual(got[5], c);
      assert.equal(await store.setUserActive(b.id, false), true);
      const [again, before] = await Promise.all([store.getUserById(b.id), store.getUserById(a.id)]);
      assert.equal(again?.isActive, false, 'the deactivation completed before the read');
      assert.deepEqual(before, a);
    });

    it('refuses a second account with the same canonical email or username: null, never an error (R-04)', async (t) => {
      const store = await fresh(t);
      const first = newUser({ username: 'x', usernameCanonical: `u${randomUUID().slice(0, 8)}` });
      assert.ok(await store.createUser(first));
      assert.equal(await store.createUser(newUser({ emailCanonical: first.emailCanonical })), null);
      assert.equal(await store.createUser(newUser({ username: 'y', usernameCanonical: first.usernameCanonical })), null);
    });

    it('allows many accounts without a username', async (t) => {
      const store = await fresh(t);
      assert.ok(await store.createUser(newUser()));
      assert.ok(await store.createUser(newUser()));
    });

    it('finding 13: stores accounts with a username and no email, found by their username, many of them side by side', async (t) => {
      const store = await fresh(t);
      const tag = randomUUID().slice(0, 8);
      const only = (name: string) => newUser({ email: null, emailCanonical: null, username: `${name}_${tag}`, usernameCanonical: `${name.toLowerCase()}_${tag}` });
      const ada = await store.createUser(only('Ada'));
      const bob = await store.createUser(only('Bob'));
      assert.ok(ada && bob);
      assert.equal(ada.email, null);
      assert.equal(ada.emailCanonical, null);
      assert.equal(ada.username, `Ada_${tag}`);
      assert.deepEqual(await store.getUserByLogin(`ada_${tag}`), ada);
      assert.deepEqual(await store.getUserById(bob.id), bob);
      assert.equal(await store.createUser(only('ADA')), null); // the username is still unique
      assert.equal(await store.updatePasswordHash(ada.id, 'new-hash', ada.passwordHash), true);
      assert.deepEqual((await store.listUsers({ limit: 100_000 })).filter((u) => u.emailCanonical === null).map((u) => u.id), [ada.id, bob.id]);
    });

    it('finding 13: refuses an account with neither an email nor a username, or an identifier without its canonical form (TypeError)', async (t) => {
      const store = await fresh(t);
      const bad: NewUser[] = [
        newUser({ email: null, emailCanonical: null }),
        newUser({ emailCanonical: null }),
        newUser({ email: null }),
        newUser({ username: 'ada', usernameCanonical: null }),
        newUser({ username: null, usernameCanonical: 'ada' }),
      ];
      for (const user of bad) await assert.rejects(store.createUser(user), TypeError, JSON.stringify(user));
      assert.deepEqual(await store.listUsers(), []);
    });

    it('twenty concurrent registrations of one email make exactly one account (R-04)', async (t) => {
      const store = await fresh(t);
      const input = newUser();
      const results = await Promise.all(Array.from({ length: 20 }, () => store.createUser({ ...input })));
      assert.equal(results.filter((r) => r !== null).length, 1);
    });

    it('replaces a password hash, and with `expected` only if it is unchanged', async (t) => {
      const store = await fresh(t);
      const user = (await store.createUser(newUser()))!;
      assert.equal(await store.updatePasswordHash(user.id, 'new-hash', 'not-the-current-one'), false);
      assert.equal((await store.getUserById(user.id))!.passwordHash, user.passwordHash);
      assert.equal(await store.updatePasswordHash(user.id, 'new-hash', user.passwordHash), true);
      assert.equal(await store.updatePasswordHash(user.id, 'newer-hash'), true);
      assert.equal((await store.getUserById(user.id))!.passwordHash, 'newer-hash');
      assert.equal(await store.updatePasswordHash('999999999', 'x'), false);
    });

    it('deactivates and reactivates an account', async (t) => {
      const store = await fresh(t);
      const user = (await store.createUser(newUser()))!;
      assert.equal(await store.setUserActive(user.id, false), true);
      assert.equal((await store.getUserById(user.id))!.isActive, false);
      assert.equal(await store.setUserActive(user.id, true), true);
      assert.equal((await store.getUserById(user.id))!.isActive, true);
      assert.equal(await store.setUserActive('999999999', false), false);
    });

    it('lists accounts in id order with limit and offset', async (t) => {
      const store = await fresh(t);
      const a = (await store.createUser(newUser()))!;
      const b = (await store.createUser(newUser()))!;
      const ids = (await store.listUsers({ limit: 100_000 })).map((u) => u.id);
      assert.ok(ids.indexOf(a.id) < ids.indexOf(b.id));
      const page = await store.listUsers({ limit: 1, offset: ids.indexOf(b.id) });
      assert.deepEqual(page.map((u) => u.id), [b.id]);
    });

    it('stores SQL metacharacters and Unicode as plain data (SEC-73)', async (t) => {
      const store = await fresh(t);
      const user = (await store.createUser(newUser({ name: `Robert'); DROP TABLE users;-- 佐藤 😀` })))!;
      assert.equal((await store.getUserById(user.id))!.name, `Robert'); DROP TABLE users;-- 佐藤 😀`);
    });

    describe('verified addresses and email change (issue 13)', () => {
      registerUserEmailTests(fresh);
    });
  });
}
