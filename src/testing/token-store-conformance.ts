/**
 * The one-time token conformance suite: every {@link TokenStore} (memory, SQLite, PostgreSQL,
 * Redis) runs these tests unchanged, so the accounts' reset, verification and email-change links
 * rest on one set of semantics: only the hash kept, bound to user, purpose and address, a
 * lifetime on the store's clock (live while `now < expiresAt`), consumed once even under parallel
 * consumption (R-05, SEC-57), revocable per user and purpose, expired ones gone. Each test
 * builds its own store through `makeStore` with its own clock, starting at a fixed time, and moves
 * that clock explicitly; hashes and user ids are fresh random values, so tests against a shared
 * real server never see each other's tokens.
 *
 * What a store holds is checked through two optional hooks of `makeStore`'s result: `storedTokens`
 * (every token record, as text) and `sweep` (the store's sweep of expired records, run once).
 * Without them, the tests that need them are skipped, saying so.
 *
 * @module testing/token-store-conformance
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import type { NewOneTimeToken } from '../token-store.ts';
import { createTestClock, type TestClock } from './clock.ts';
import { checkSuiteArguments, withClockedStore } from './conformance-fixture.ts';
import { expected, MINUTE, newToken, plain, RESET, T0, VERIFY, type TokenStoreConformanceOptions, type TokenStoreUnderTest } from './token-fixture.ts';

/**
 * Registers the {@link TokenStore} conformance suite for one store implementation, under the suite
 * name `<name> conforms to the TokenStore contract`. Call it at the top level of a test file run
 * by `node --test`; it registers tests and runs none by itself.
 *
 * @example
 * ```ts
 * import { describeTokenStoreConformance } from 'latchkey/testing';
 * import { MyStore } from '../src/my-store.ts';
 *
 * describeTokenStoreConformance('MyStore', {
 *   makeStore: async (clock) => {
 *     const store = new MyStore({ now: clock.now, sweepInterval: 0 });
 *     return { store, cleanup: () => store.close(), sweep: () => store.deleteExpired() };
 *   },
 * });
 * ```
 */
export function describeTokenStoreConformance(name: string, options: TokenStoreConformanceOptions): void {
  checkSuiteArguments('describeTokenStoreConformance', name, options);
  const { makeStore } = options;
  // The whole result is what a test gets, hooks included; its cleanup runs after the test.
  const withStore = (test: (made: TokenStoreUnderTest, clock: TestClock) => Promise<void>) =>
    withClockedStore(async (clock) => {
      const made = await makeStore(clock);
      return { store: made, cleanup: made.cleanup };
    }, T0, test);
  // A test that needs a view the store does not give is skipped, and says which.
  const needs = (hook: 'storedTokens' | 'sweep', test: (made: TokenStoreUnderTest, clock: TestClock) => Promise<void>) => (t: TestContext) =>
    withStore(async (made, clock) => {
      if (made[hook] === undefined) t.skip(`${name}: makeStore gives no ${hook}`);
      else await test(made, clock);
    });

  describe(`${name} conforms to the TokenStore contract`, () => {
    it('creates a token stamped with its own clock, finds it without consuming it, then consumes it: the same record each time (SEC-57, SEC-42)', () =>
      withStore(async ({ store }, clock) => {
        const { input } = newToken();
        clock.advance(5 * MINUTE);
        const want = expected(input, T0 + 5 * MINUTE);
        assert.deepEqual(plain(await store.createToken(input)), want);
        assert.deepEqual(plain(await store.findToken(input.hash, 'reset')), want);
        assert.deepEqual(plain(await store.findToken(input.hash, 'reset')), want, 'a find does not consume (SEC-42)');
        assert.deepEqual(plain(await store.consumeToken(input.hash, 'reset')), want);
      }));

    it('holds the hash it was given and never the raw token, in any encoding (SEC-21, SEC-57)', needs('storedTokens', async ({ store, storedTokens }) => {
      const { raw, input } = newToken();
      await store.createToken(input);
      const everything = (await storedTokens!()).join('\n');
      assert.ok(everything.includes(input.hash), 'the hash is stored as given');
      for (const encoding of ['base64url', 'base64', 'hex'] as const) assert.ok(!everything.includes(raw.toString(encoding)), encoding);
    }));

    it('as the attacker: a hash one letter off in case, or the raw token itself, finds and consumes nothing (SEC-57)', () =>
      withStore(async ({ store }) => {
        const { raw, input } = newToken({ hash: `A${createHash('sha256').update(randomBytes(32)).digest('base64url').slice(1)}` });
        await store.createToken(input);
        for (const guess of [`a${input.hash.slice(1)}`, raw.toString('base64url')]) {
          assert.equal(await store.findToken(guess, 'reset'), null, guess);
          assert.equal(await store.consumeToken(guess, 'reset'), null, guess);
        }
        assert.equal((await store.consumeToken(input.hash, 'reset'))?.hash, input.hash);
      }));

    it('binds a token to its purpose: a reset token is neither found nor consumed as verify, and stays usable as reset (SEC-57, SEC-61)', () =>
      withStore(async ({ store }) => {
        const { input } = newToken();
        await store.createToken(input);
        for (const other of ['verify', 'email-change']) {
          assert.equal(await store.findToken(input.hash, other), null, other);
          assert.equal(await store.consumeToken(input.hash, other), null, other);
        }
        assert.equal((await store.consumeToken(input.hash, 'reset'))?.purpose, 'reset');
      }));

    it('keeps the user and the address at issue as given, non-ASCII included, and null for none (SEC-57, SEC-63)', () =>
      withStore(async ({ store }) => {
        const typed = newToken({ purpose: 'email-change', email: `zoë.${randomBytes(4).toString('hex')}@bücher.example`, lifetime: VERIFY });
        const none = newToken({ purpose: 'verify', email: null, lifetime: VERIFY });
        for (const { input } of [typed, none]) {
          await store.createToken(input);
          const found = await store.consumeToken(input.hash, input.purpose);
          assert.equal(found?.email, input.email);
          assert.equal(found?.userId, input.userId);
        }
      }));

    it("is live 1 ms before expiresAt and gone exactly at it, on the store's clock (SEC-57, inclusive boundary)", () =>
      withStore(async ({ store }, clock) => {
        const { input } = newToken();
        await store.createToken(input);
        clock.advance(RESET - 1);
        assert.equal((await store.findToken(input.hash, 'reset'))?.expiresAt, T0 + RESET);
        clock.advance(1);
        assert.equal(await store.consumeToken(input.hash, 'reset'), null, 'consumed at expiresAt');
        assert.equal(await store.findToken(input.hash, 'reset'), null, 'found at expiresAt');
      }));

    it('a 60-minute reset link used at 61 minutes is invalid, never consumed late (SEC-57)', () =>
      withStore(async ({ store }, clock) => {
        const { input } = newToken();
        await store.createToken(input);
        clock.advance(61 * MINUTE);
        assert.equal(await store.consumeToken(input.hash, 'reset'), null);
        assert.equal(await store.findToken(input.hash, 'reset'), null);
      }));

    it('lives as long as asked, short and long: 1 ms, and a 24 h verify token live at 23 h 59 min (SEC-61)', () =>
      withStore(async ({ store }, clock) => {
        const short = newToken({ lifetime: 1 });
        const long = newToken({ purpose: 'verify', lifetime: VERIFY });
        // Not read while live: a store whose keys expire on the server's own clock (Redis) may
        // rightly have dropped a 1 ms token before the next call, whatever the test clock says.
        assert.equal((await store.createToken(short.input)).expiresAt, T0 + 1);
        await store.createToken(long.input);
        clock.advance(1);
        assert.equal(await store.consumeToken(short.input.hash, 'reset'), null);
        clock.advance(VERIFY - MINUTE - 1);
        assert.equal((await store.consumeToken(long.input.hash, 'verify'))?.expiresAt, T0 + VERIFY);
      }));

    it('is consumed once: a second consumption and any later find get null (SEC-57)', () =>
      withStore(async ({ store }) => {
        const { input } = newToken();
        await store.createToken(input);
        assert.ok(await store.consumeToken(input.hash, 'reset'));
        assert.equal(await store.consumeToken(input.hash, 'reset'), null);
        assert.equal(await store.findToken(input.hash, 'reset'), null);
      }));

    for (const parallel of [2, 20]) {
      it(`${parallel} parallel consumptions of one token: exactly one gets it, the rest null (R-05, SEC-57)`, () =>
        withStore(async ({ store }) => {
          const { input } = newToken();
          await store.createToken(input);
          const results = await Promise.all(Array.from({ length: parallel }, () => store.consumeToken(input.hash, 'reset')));
          assert.deepEqual(results.filter((token) => token !== null).map((token) => token.hash), [input.hash]);
          assert.equal(await store.findToken(input.hash, 'reset'), null);
        }));
    }

    it('deleteUserTokens(userId) deletes every token of that user, counts the live ones, and leaves other users alone (SEC-57)', () =>
      withStore(async ({ store }, clock) => {
        const userId = randomBytes(8).toString('hex');
        const mine = [newToken({ userId }), newToken({ userId, purpose: 'verify', lifetime: VERIFY }), newToken({ userId, lifetime: MINUTE })];
        const theirs = newToken();
        for (const { input } of [...mine, theirs]) await store.createToken(input);
        clock.advance(MINUTE); // the third has expired: deleted, not counted
        assert.equal(await store.deleteUserTokens(userId), 2);
        for (const { input } of mine) assert.equal(await store.findToken(input.hash, input.purpose), null);
        assert.equal((await store.findToken(theirs.input.hash, 'reset'))?.userId, theirs.input.userId);
        assert.equal(await store.deleteUserTokens(userId), 0);
        assert.equal(await store.deleteUserTokens(randomBytes(8).toString('hex')), 0, 'an unknown user');
      }));

    it('deleteUserTokens(userId, purpose) deletes only that purpose: a new reset request ends older reset links, not the verification (SEC-57)', () =>
      withStore(async ({ store }) => {
        const userId = randomBytes(8).toString('hex');
        const resets = [newToken({ userId }), newToken({ userId })];
        const verify = newToken({ userId, purpose: 'verify', lifetime: VERIFY });
        for (const { input } of [...resets, verify]) await store.createToken(input);
        assert.equal(await store.deleteUserTokens(userId, 'reset'), 2);
        for (const { input } of resets) assert.equal(await store.consumeToken(input.hash, 'reset'), null);
        assert.ok(await store.consumeToken(verify.input.hash, 'verify'));
      }));

    it('refuses a second token with a hash that exists, and the first keeps its user and purpose: a collision is a bug, never a rebinding (SEC-57)', () =>
      withStore(async ({ store }) => {
        const { input } = newToken();
        await store.createToken(input);
        await assert.rejects(store.createToken({ ...input, userId: 'attacker', purpose: 'verify' }), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
        assert.equal((await store.consumeToken(input.hash, 'reset'))?.userId, input.userId);
      }));

    it('deletes an expired token as it finds it: nothing of it is left (R-09)', needs('storedTokens', async ({ store, storedTokens }, clock) => {
      const { input } = newToken();
      await store.createToken(input);
      clock.advance(RESET);
      assert.equal(await store.findToken(input.hash, 'reset'), null);
      assert.ok(!(await storedTokens!()).join('\n').includes(input.hash));
    }));

    it('sweeps expired tokens nobody read: after expiry and the sweep nothing of them is left, live ones stay (R-09)', needs('sweep', async ({ store, storedTokens, sweep }, clock) => {
      const gone = newToken({ lifetime: MINUTE });
      const live = newToken({ purpose: 'verify', lifetime: VERIFY });
      await store.createToken(gone.input);
      await store.createToken(live.input);
      clock.advance(MINUTE);
      await sweep!();
      if (storedTokens !== undefined) {
        const everything = (await storedTokens()).join('\n');
        assert.ok(!everything.includes(gone.input.hash), 'the expired token is gone');
        assert.ok(everything.includes(live.input.hash), 'the live token stays');
      }
      assert.equal(await store.findToken(gone.input.hash, 'reset'), null);
      assert.ok(await store.findToken(live.input.hash, 'verify'));
    }));

    it('rejects misuse with TypeError: a hash that is no 43-character base64url, a bad purpose, lifetime, user id or address', () =>
      withStore(async ({ store }) => {
        const good = newToken().input;
        const hashes: unknown[] = ['', good.hash.slice(1), `${good.hash}A`, `${good.hash.slice(1)}+`, `${good.hash.slice(1)}=`, 42, null];
        const purposes: unknown[] = ['', 'Reset', 'reset!', 'a'.repeat(33), '1reset', 7, null];
        const bad: Array<Record<string, unknown>> = [
          ...hashes.map((hash) => ({ hash })),
          ...purposes.map((purpose) => ({ purpose })),
          ...[0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '60', null].map((lifetime) => ({ lifetime })),
          ...['', 'u'.repeat(256), 5, null].map((userId) => ({ userId })),
          ...[5, 'a'.repeat(321), undefined].map((email) => ({ email })),
        ];
        for (const fields of bad) {
          await assert.rejects(store.createToken({ ...good, ...fields } as unknown as NewOneTimeToken), TypeError, JSON.stringify(fields));
        }
        for (const hash of hashes) {
          await assert.rejects(store.findToken(hash as string, 'reset'), TypeError, String(hash));
          await assert.rejects(store.consumeToken(hash as string, 'reset'), TypeError, String(hash));
        }
        for (const purpose of purposes) {
          await assert.rejects(store.findToken(good.hash, purpose as string), TypeError, String(purpose));
          await assert.rejects(store.consumeToken(good.hash, purpose as string), TypeError, String(purpose));
          if (purpose !== null) await assert.rejects(store.deleteUserTokens(good.userId, purpose as string), TypeError, String(purpose));
        }
        for (const userId of ['', 5, null]) await assert.rejects(store.deleteUserTokens(userId as string), TypeError, String(userId));
        assert.equal(await store.findToken(good.hash, 'reset'), null, 'nothing was created');
      }));

    it('a store closed by its cleanup rejects every token call with ERR_LATCHKEY_STORE_UNAVAILABLE (R-01)', async () => {
      const { store, cleanup } = await makeStore(createTestClock(T0));
      if (cleanup === undefined) throw new Error(`${name}: makeStore gives no cleanup to close the store with`);
      const { input } = newToken();
      await store.createToken(input);
      await cleanup();
      const unavailable = { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' };
      await assert.rejects(store.createToken(newToken().input), unavailable);
      await assert.rejects(store.findToken(input.hash, 'reset'), unavailable);
      await assert.rejects(store.consumeToken(input.hash, 'reset'), unavailable);
      await assert.rejects(store.deleteUserTokens(input.userId), unavailable);
    });
  });
}
