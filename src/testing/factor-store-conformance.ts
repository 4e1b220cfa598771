/**
 * The second-factor contract ({@link FactorStore}), as a suite every implementation runs unchanged:
 * SQLite, PostgreSQL, and one you write. Factors belong to accounts, so the store under test is a
 * user store too: each test creates its own accounts with random addresses, so runs against a
 * shared server never collide.
 *
 * @module testing/factor-store-conformance
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { FactorStore } from '../factor-store.ts';
import type { UserStore } from '../user-store.ts';
import { checkSuiteArguments, type StoreUnderTest } from './conformance-fixture.ts';
import { newUser, storeWithAccount } from './user-store-fixture.ts';

/** Options of {@link describeFactorStoreConformance}. */
export interface FactorStoreConformanceOptions {
  /** Makes a fresh store, accounts and factors, for one test (a table, schema or file of its own). */
  readonly makeStore: () => Promise<StoreUnderTest<UserStore & FactorStore>>;
}

/** A recovery code's stored form: base64url SHA-256 of 10 random bytes (SEC-81: ≥ 50 bits). */
const codeHash = (): string => createHash('sha256').update(randomBytes(10)).digest('base64url');
const secret = (): string => randomBytes(20).toString('hex'); // 160 bits (SEC-77), in any form the app picks

/**
 * Registers the {@link FactorStore} conformance suite for one implementation, under the suite name
 * `factor store conformance: <name>`. Call it at the top level of a test file run by `node --test`.
 *
 * @example
 * ```ts
 * import { describeFactorStoreConformance } from 'latchkey/testing';
 * import { SqliteUserStore } from 'latchkey/sqlite';
 *
 * describeFactorStoreConformance('SqliteUserStore', {
 *   makeStore: async () => {
 *     const store = new SqliteUserStore({ path: ':memory:' });
 *     return { store, cleanup: () => store.close() };
 *   },
 * });
 * ```
 */
export function describeFactorStoreConformance(name: string, options: FactorStoreConformanceOptions): void {
  checkSuiteArguments('describeFactorStoreConformance', name, options);
  const { makeStore } = options;
  describe(`factor store conformance: ${name}`, () => {
    /** A fresh store and an account in it; the store is cleaned up after the test. */
    const setUp = (t: { after(fn: () => unknown): void }) => storeWithAccount(t, makeStore);
    /** An account with a confirmed TOTP secret whose last used step is `step`. */
    const confirmed = async (t: { after(fn: () => unknown): void }, step: number) => {
      const { store, userId } = await setUp(t);
      const key = secret();
      assert.equal(await store.beginTotp(userId, key), true);
      assert.equal(await store.confirmTotp(userId, key, step), true);
      return { store, userId };
    };

    it('SEC-77: begins a TOTP setup unconfirmed, confirms it with its secret once, and reads it back', async (t) => {
      const { store, userId } = await setUp(t);
      assert.equal(await store.getTotp(userId), null);
      const key = secret();
      assert.equal(await store.beginTotp(userId, key), true);
      const pending = await store.getTotp(userId);
      assert.deepEqual({ ...pending, createdAt: 0 }, { secret: key, confirmed: false, lastStep: null, createdAt: 0 });
      assert.ok(Number.isSafeInteger(pending?.createdAt));
      assert.equal(await store.confirmTotp(userId, key, 1_000), true);
      assert.deepEqual(await store.getTotp(userId), { ...pending, confirmed: true, lastStep: 1_000 });
      assert.equal(await store.confirmTotp(userId, key, 1_001), false); // true once
    });

    it('SEC-77: a second setup replaces an unconfirmed secret, and the first one can no longer be confirmed', async (t) => {
      const { store, userId } = await setUp(t);
      const [first, second] = [secret(), secret()];
      assert.equal(await store.beginTotp(userId, first), true);
      assert.equal(await store.beginTotp(userId, second), true);
      assert.equal((await store.getTotp(userId))?.secret, second);
      assert.equal(await store.confirmTotp(userId, first, 7), false);
      assert.equal((await store.getTotp(userId))?.confirmed, false);
      assert.equal(await store.confirmTotp(userId, second, 7), true);
    });

    it('SEC-77: as the attacker, a setup begun over a confirmed authenticator is refused and leaves it as it was', async (t) => {
      const { store, userId } = await confirmed(t, 50);
      const before = await store.getTotp(userId);
      const planted = secret();
      assert.equal(await store.beginTotp(userId, planted), false);
      assert.deepEqual(await store.getTotp(userId), before);
      assert.equal(await store.confirmTotp(userId, planted, 60), false);
    });

    it('SEC-78: refuses a replayed step and any earlier one, accepts a greater one', async (t) => {
      const { store, userId } = await confirmed(t, 100);
      assert.equal(await store.useTotpStep(userId, 100), false); // the step that confirmed it
      assert.equal(await store.useTotpStep(userId, 99), false);
      assert.equal(await store.useTotpStep(userId, 101), true);
      assert.equal(await store.useTotpStep(userId, 101), false); // the same code again
      assert.equal(await store.useTotpStep(userId, 100), false);
      assert.equal(await store.useTotpStep(userId, 103), true); // a later window, skipping one
      assert.equal((await store.getTotp(userId))?.lastStep, 103);
    });

    it('SEC-78: as the attacker, ten parallel uses of one step: exactly one accepted', async (t) => {
      const { store, userId } = await confirmed(t, 200);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.useTotpStep(userId, 201)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.getTotp(userId))?.lastStep, 201);
    });

    it('SEC-78: accepts no step without a confirmed authenticator: none, or one only begun', async (t) => {
      const { store, userId } = await setUp(t);
      assert.equal(await store.useTotpStep(userId, 5), false);
      assert.equal(await store.beginTotp(userId, secret()), true);
      assert.equal(await store.useTotpStep(userId, 5), false);
      assert.equal((await store.getTotp(userId))?.lastStep, null);
    });

    it('SEC-81: a recovery code is used once; the count drops by one', async (t) => {
      const { store, userId } = await setUp(t);
      const hashes = Array.from({ length: 10 }, codeHash);
      await store.setRecoveryCodes(userId, hashes);
      assert.equal(await store.countRecoveryCodes(userId), 10);
      assert.equal(await store.useRecoveryCode(userId, hashes[3]!), true);
      assert.equal(await store.useRecoveryCode(userId, hashes[3]!), false);
      assert.equal(await store.countRecoveryCodes(userId), 9);
      assert.equal(await store.useRecoveryCode(userId, codeHash()), false); // never issued
    });

    it('SEC-81: as the attacker, ten parallel uses of one recovery code: exactly one accepted', async (t) => {
      const { store, userId } = await setUp(t);
      const hashes = Array.from({ length: 10 }, codeHash);
      await store.setRecoveryCodes(userId, hashes);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.useRecoveryCode(userId, hashes[0]!)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.countRecoveryCodes(userId), 9);
    });

    it('SEC-81: a new set voids the old one, used and unused codes alike', async (t) => {
      const { store, userId } = await setUp(t);
      const old = Array.from({ length: 10 }, codeHash);
      await store.setRecoveryCodes(userId, old);
      assert.equal(await store.useRecoveryCode(userId, old[0]!), true);
      const fresh = Array.from({ length: 10 }, codeHash);
      await store.setRecoveryCodes(userId, fresh);
      assert.equal(await store.countRecoveryCodes(userId), 10);
      for (const hash of old) assert.equal(await store.useRecoveryCode(userId, hash), false);
      assert.equal(await store.useRecoveryCode(userId, fresh[9]!), true);
      await store.setRecoveryCodes(userId, []);
      assert.equal(await store.countRecoveryCodes(userId), 0);
    });

    it('SEC-81: as the attacker, another account\'s recovery codes are neither usable nor touched', async (t) => {
      const { store, userId } = await setUp(t);
      const other = (await store.createUser(newUser()))!;
      const mine = Array.from({ length: 10 }, codeHash);
      const theirs = Array.from({ length: 10 }, codeHash);
      await store.setRecoveryCodes(userId, mine);
      await store.setRecoveryCodes(other.id, theirs);
      assert.equal(await store.useRecoveryCode(userId, theirs[0]!), false);
      await store.setRecoveryCodes(userId, Array.from({ length: 10 }, codeHash));
      assert.equal(await store.deleteTotp(userId), false); // no TOTP record; the codes go all the same
      assert.equal(await store.countRecoveryCodes(userId), 0);
      assert.equal(await store.countRecoveryCodes(other.id), 10);
      assert.equal(await store.useRecoveryCode(other.id, theirs[0]!), true);
    });

    it('SEC-81: removing TOTP removes the recovery codes with it; another account keeps its own', async (t) => {
      const { store, userId } = await confirmed(t, 10);
      const other = (await store.createUser(newUser()))!;
      const key = secret();
      assert.equal(await store.beginTotp(other.id, key), true);
      assert.equal(await store.confirmTotp(other.id, key, 10), true);
      await store.setRecoveryCodes(other.id, [codeHash()]);
      const hashes = Array.from({ length: 10 }, codeHash);
      await store.setRecoveryCodes(userId, hashes);
      assert.equal(await store.deleteTotp(userId), true);
      assert.equal(await store.getTotp(userId), null);
      assert.equal(await store.countRecoveryCodes(userId), 0);
      assert.equal(await store.useRecoveryCode(userId, hashes[0]!), false);
      assert.equal(await store.deleteTotp(userId), false);
      assert.equal(await store.useTotpStep(userId, 11), false);
      assert.equal((await store.getTotp(other.id))?.confirmed, true);
      assert.equal(await store.countRecoveryCodes(other.id), 1);
      // An unconfirmed setup is deleted the same way, and a new setup may begin afterwards.
      assert.equal(await store.beginTotp(userId, secret()), true);
      assert.equal(await store.deleteTotp(userId), true);
      assert.equal(await store.getTotp(userId), null);
    });

    it('answers absent for an account that does not exist: no record, no step, no codes', async (t) => {
      const { store } = await setUp(t);
      assert.equal(await store.getTotp('999999999'), null);
      assert.equal(await store.useTotpStep('999999999', 1), false);
      assert.equal(await store.useRecoveryCode('999999999', codeHash()), false);
      assert.equal(await store.countRecoveryCodes('999999999'), 0);
      assert.equal(await store.deleteTotp('999999999'), false);
    });

    it('throws TypeError for misuse: bad ids, steps, secrets and hashes', async (t) => {
      const { store, userId } = await setUp(t);
      for (const id of ['', 'x'.repeat(256), 42, null]) {
        await assert.rejects(store.getTotp(id as never), TypeError, String(id));
        await assert.rejects(store.useRecoveryCode(id as never, codeHash()), TypeError, String(id));
      }
      for (const step of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, '5', null]) {
        await assert.rejects(store.useTotpStep(userId, step as never), TypeError, String(step));
        await assert.rejects(store.confirmTotp(userId, 'key', step as never), TypeError, String(step));
      }
      for (const key of ['', 42, null, 'x'.repeat(1025)]) await assert.rejects(store.beginTotp(userId, key as never), TypeError, String(key));
      const good = codeHash();
      for (const hash of ['', good.slice(1), `${good}A`, `${good.slice(1)}=`, `${good.slice(1)}+`, 42]) {
        await assert.rejects(store.useRecoveryCode(userId, hash as never), TypeError, String(hash));
        await assert.rejects(store.setRecoveryCodes(userId, [hash as never]), TypeError, String(hash));
      }
      await assert.rejects(store.setRecoveryCodes(userId, [good, good]), TypeError);
      await assert.rejects(store.setRecoveryCodes(userId, good as never), TypeError);
      assert.equal(await store.getTotp(userId), null); // nothing was written by the refused calls
      assert.equal(await store.countRecoveryCodes(userId), 0);
    });
  });
}
