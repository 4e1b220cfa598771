/**
 * The `remember-me tokens` suite of the {@link Store} conformance suite: a series lives for its
 * lifetime on the store's clock and rotation never extends it (SEC-36); using the current validator
 * rotates it atomically (SEC-37), so concurrent uses give one valid and the rest grace (R-05,
 * SEC-39); the replaced validator is grace inside the window and theft after it, as is a validator
 * never issued, and theft deletes the series (SEC-38); and deleting one series or a user's, with
 * or without the current one, ends exactly those (SEC-40).
 *
 * @module testing/remember-token-conformance
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Store } from '../store.ts';
import { DAY, GRACE, HOUR, newSession, randomHash, randomId, T0, type WithStore } from './store-fixture.ts';

/** Registers the tests of the `remember-me tokens` suite, in their order. */
export function registerRememberTokenTests(withStore: WithStore): void {
  async function createToken(store: Store, fields: { userId?: string; lifetime?: number } = {}) {
    const token = {
      series: randomId(),
      validatorHash: randomHash(),
      userId: fields.userId ?? randomId(),
      lifetime: fields.lifetime ?? 30 * DAY,
    };
    const { expiresAt } = await store.createRememberToken(token);
    return { ...token, expiresAt };
  }

  it('createRememberToken returns now + lifetime on the store clock (SEC-36, R-08)', () =>
    withStore(async (store) => {
      const token = await createToken(store, { lifetime: 14 * DAY });
      assert.equal(token.expiresAt, T0 + 14 * DAY);
    }));

  it('using the current validator is valid and rotates it atomically: the next one becomes current (SEC-37)', () =>
    withStore(async (store, clock) => {
      const token = await createToken(store);
      const next = randomHash();
      clock.advance(HOUR);
      assert.deepEqual(await store.useRememberToken(token.series, token.validatorHash, next, GRACE), {
        status: 'valid',
        userId: token.userId,
        expiresAt: token.expiresAt,
      });
      clock.advance(HOUR);
      assert.deepEqual(await store.useRememberToken(token.series, next, randomHash(), GRACE), {
        status: 'valid',
        userId: token.userId,
        expiresAt: token.expiresAt,
      });
    }));

  it('rotation never extends the life of the series (SEC-36)', () =>
    withStore(async (store, clock) => {
      const token = await createToken(store, { lifetime: DAY });
      let validator = token.validatorHash;
      for (let i = 0; i < 3; i++) {
        clock.advance(6 * HOUR);
        const next = randomHash();
        const use = await store.useRememberToken(token.series, validator, next, GRACE);
        assert.equal(use?.status, 'valid');
        assert.equal(use?.status === 'valid' ? use.expiresAt : null, T0 + DAY);
        validator = next;
      }
      clock.advance(6 * HOUR); // exactly T0 + DAY
      assert.equal(await store.useRememberToken(token.series, validator, randomHash(), GRACE), null);
    }));

  it('the replaced validator counts as grace, changing nothing, until 1 ms before the window ends (SEC-39)', () =>
    withStore(async (store, clock) => {
      const token = await createToken(store);
      const next = randomHash();
      await store.useRememberToken(token.series, token.validatorHash, next, GRACE);
      clock.advance(GRACE - 1);
      assert.deepEqual(await store.useRememberToken(token.series, token.validatorHash, randomHash(), GRACE), {
        status: 'grace',
        userId: token.userId,
        expiresAt: token.expiresAt,
      });
      // Nothing rotated: the current validator is still the one the first request set.
      assert.equal((await store.useRememberToken(token.series, next, randomHash(), GRACE))?.status, 'valid');
    }));

  it('an attacker replaying the replaced validator after the grace window gets stolen and the series is gone (SEC-38)', () =>
    withStore(async (store, clock) => {
      const token = await createToken(store);
      const next = randomHash();
      await store.useRememberToken(token.series, token.validatorHash, next, GRACE);
      clock.advance(GRACE); // the window is inclusive at its end, like every expiry (SEC-29)
      assert.deepEqual(await store.useRememberToken(token.series, token.validatorHash, randomHash(), GRACE), {
        status: 'stolen',
        userId: token.userId,
      });
      // Not even the victim's current validator opens it any more.
      assert.equal(await store.useRememberToken(token.series, next, randomHash(), GRACE), null);
    }));

  it('a zero grace window treats the replaced validator as theft at once (SEC-38, SEC-39)', () =>
    withStore(async (store) => {
      const token = await createToken(store);
      await store.useRememberToken(token.series, token.validatorHash, randomHash(), GRACE);
      assert.equal((await store.useRememberToken(token.series, token.validatorHash, randomHash(), 0))?.status, 'stolen');
    }));

  it('an attacker guessing a validator that was never issued gets stolen and the series is deleted (SEC-38)', () =>
    withStore(async (store) => {
      const token = await createToken(store);
      assert.deepEqual(await store.useRememberToken(token.series, randomHash(), randomHash(), GRACE), {
        status: 'stolen',
        userId: token.userId,
      });
      assert.equal(await store.useRememberToken(token.series, token.validatorHash, randomHash(), GRACE), null);
      assert.equal(await store.deleteRememberToken(token.series), false);
    }));

  it('an expired series gives null, valid 1 ms before, and is deleted (SEC-37, SEC-29)', () =>
    withStore(async (store, clock) => {
      const early = await createToken(store, { lifetime: DAY });
      const late = await createToken(store, { lifetime: DAY });
      clock.advance(DAY - 1);
      assert.equal((await store.useRememberToken(early.series, early.validatorHash, randomHash(), GRACE))?.status, 'valid');
      clock.advance(1);
      assert.equal(await store.useRememberToken(late.series, late.validatorHash, randomHash(), GRACE), null);
      assert.equal(await store.useRememberToken(late.series, late.validatorHash, randomHash(), GRACE), null);
      assert.equal(await store.deleteRememberToken(late.series), false);
    }));

  it('an unknown series gives null (SEC-37)', () =>
    withStore(async (store) => {
      assert.equal(await store.useRememberToken(randomId(), randomHash(), randomHash(), GRACE), null);
    }));

  it('ten concurrent uses of the current validator give exactly one valid and nine grace, never stolen (R-05, SEC-39)', () =>
    withStore(async (store) => {
      const token = await createToken(store);
      const nexts = Array.from({ length: 10 }, randomHash);
      const uses = await Promise.all(
        nexts.map((next) => store.useRememberToken(token.series, token.validatorHash, next, GRACE)),
      );
      const statuses = uses.map((use) => use?.status);
      assert.equal(statuses.filter((s) => s === 'valid').length, 1, String(statuses));
      assert.equal(statuses.filter((s) => s === 'grace').length, 9, String(statuses));
      for (const use of uses) assert.equal(use?.userId, token.userId);
      // The winner's next validator is the current one.
      const winner = nexts[statuses.indexOf('valid')] as string;
      assert.equal((await store.useRememberToken(token.series, winner, randomHash(), GRACE))?.status, 'valid');
    }));

  it('deleteRememberToken returns true once and then false, and the series no longer works (SEC-40)', () =>
    withStore(async (store) => {
      const token = await createToken(store);
      assert.equal(await store.deleteRememberToken(token.series), true);
      assert.equal(await store.deleteRememberToken(token.series), false);
      assert.equal(await store.useRememberToken(token.series, token.validatorHash, randomHash(), GRACE), null);
      assert.equal(await store.deleteRememberToken(randomId()), false);
    }));

  it('deleteUserRememberTokens ends every series of the user, counts them, and leaves other users alone (SEC-40)', () =>
    withStore(async (store) => {
      const userId = randomId();
      const a = await createToken(store, { userId });
      const b = await createToken(store, { userId });
      const other = await createToken(store);
      assert.equal(await store.deleteUserRememberTokens(userId), 2);
      assert.equal(await store.useRememberToken(a.series, a.validatorHash, randomHash(), GRACE), null);
      assert.equal(await store.useRememberToken(b.series, b.validatorHash, randomHash(), GRACE), null);
      assert.equal(await store.deleteUserRememberTokens(userId), 0);
      assert.equal((await store.useRememberToken(other.series, other.validatorHash, randomHash(), GRACE))?.status, 'valid');
    }));

  it('finding 2: deleteUserRememberTokens with exceptSeries keeps that series, with its expiry, and ends the others (SEC-32, SEC-36)', () =>
    withStore(async (store, clock) => {
      const userId = randomId();
      const kept = await createToken(store, { userId });
      const other = await createToken(store, { userId });
      const stranger = await createToken(store);
      clock.advance(DAY);
      assert.equal(await store.deleteUserRememberTokens(userId, kept.series), 1);
      assert.equal(await store.useRememberToken(other.series, other.validatorHash, randomHash(), GRACE), null);
      assert.deepEqual(await store.useRememberToken(kept.series, kept.validatorHash, randomHash(), GRACE), {
        status: 'valid',
        userId,
        expiresAt: kept.expiresAt,
      });
      assert.equal((await store.useRememberToken(stranger.series, stranger.validatorHash, randomHash(), GRACE))?.status, 'valid');
      assert.equal(await store.deleteUserRememberTokens(userId, kept.series), 0);
      assert.equal(await store.deleteUserRememberTokens(userId), 1);
    }));

  it('remember tokens and sessions are separate: deleting a user\'s sessions leaves the series, and the reverse (SEC-40)', () =>
    withStore(async (store) => {
      const userId = randomId();
      const token = await createToken(store, { userId });
      const session = await store.createSession(newSession({ userId, rememberSeries: token.series }));
      assert.equal(await store.deleteUserSessions(userId), 1);
      assert.equal(await store.deleteUserRememberTokens(userId), 1);
      assert.equal(await store.getSession(session.id), null);
    }));

  it('rejects a lifetime or grace that is not integer milliseconds with TypeError (misuse)', () =>
    withStore(async (store) => {
      await assert.rejects(createToken(store, { lifetime: Number.NaN }), TypeError);
      await assert.rejects(createToken(store, { lifetime: 0 }), TypeError);
      const token = await createToken(store);
      await assert.rejects(store.useRememberToken(token.series, token.validatorHash, randomHash(), -1), TypeError);
      await assert.rejects(store.useRememberToken(token.series, token.validatorHash, randomHash(), Number.NaN), TypeError);
      assert.equal((await store.useRememberToken(token.series, token.validatorHash, randomHash(), GRACE))?.status, 'valid');
    }));
}
