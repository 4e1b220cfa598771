/**
 * The second part of the `sessions` suite of the {@link Store} conformance suite: expiry and the
 * touch. A session is valid 1 ms before its idle or absolute expiry and gone exactly at it (SEC-28,
 * SEC-29); `updateSession` slides the idle expiry forward but never past the absolute one nor
 * backwards, changes only the fields it is given, and never brings back a session that was
 * deleted or has expired (SEC-34).
 *
 * @module testing/session-expiry-conformance
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ABSOLUTE, HOUR, IDLE, MINUTE, newSession, randomHash, T0, type WithStore } from './store-fixture.ts';

/** Registers the expiry and touch tests of the `sessions` suite, in their order. */
export function registerSessionExpiryTests(withStore: WithStore): void {
  it('is valid 1 ms before its idle expiry and gone exactly at it, row deleted (SEC-28, SEC-29 inclusive boundary)', () =>
    withStore(async (store, clock) => {
      const input = newSession();
      await store.createSession(input);
      clock.advance(IDLE - 1);
      assert.equal((await store.getSession(input.id))?.id, input.id);
      clock.advance(1);
      assert.equal(await store.getSession(input.id), null);
      assert.deepEqual(await store.listUserSessions(input.userId), []);
      assert.equal(await store.getSession(input.id), null);
    }));

  it('cannot be kept alive past the absolute timeout by a touch every 10 minutes: gone at exactly 24 h (SEC-29)', () =>
    withStore(async (store, clock) => {
      const input = newSession();
      await store.createSession(input);
      for (let elapsed = 10 * MINUTE; elapsed < ABSOLUTE; elapsed += 10 * MINUTE) {
        clock.advance(10 * MINUTE);
        const touched = await store.updateSession(input.id, { idleTimeout: IDLE });
        assert.ok(touched, `alive at ${elapsed / MINUTE} min`);
        assert.ok(touched.expiresAt <= T0 + ABSOLUTE);
      }
      clock.advance(10 * MINUTE - 1);
      assert.ok(await store.getSession(input.id), 'alive 1 ms before the absolute expiry');
      clock.advance(1);
      assert.equal(await store.getSession(input.id), null);
      assert.equal(await store.updateSession(input.id, { idleTimeout: IDLE }), null);
    }));

  it('a touch sets lastSeenAt to now and moves expiresAt forward to now + idleTimeout (SEC-28)', () =>
    withStore(async (store, clock) => {
      const input = newSession();
      await store.createSession(input);
      clock.advance(20 * MINUTE);
      const touched = await store.updateSession(input.id, { idleTimeout: IDLE });
      assert.equal(touched?.lastSeenAt, T0 + 20 * MINUTE);
      assert.equal(touched?.expiresAt, T0 + 20 * MINUTE + IDLE);
      assert.equal(touched?.createdAt, T0);
      assert.equal(touched?.absoluteExpiresAt, T0 + ABSOLUTE);
      clock.advance(IDLE - 1);
      assert.ok(await store.getSession(input.id), 'the touch extended the session');
    }));

  it('a touch never moves expiresAt past absoluteExpiresAt (R-06)', () =>
    withStore(async (store, clock) => {
      const input = newSession({ absoluteTimeout: HOUR });
      await store.createSession(input);
      clock.advance(20 * MINUTE);
      assert.equal((await store.updateSession(input.id, { idleTimeout: IDLE }))?.expiresAt, T0 + 50 * MINUTE);
      clock.advance(20 * MINUTE);
      const touched = await store.updateSession(input.id, { idleTimeout: IDLE });
      assert.equal(touched?.expiresAt, T0 + HOUR);
      assert.equal(touched?.absoluteExpiresAt, T0 + HOUR);
    }));

  it('a touch with a shorter idle timeout never moves expiresAt backwards (R-06)', () =>
    withStore(async (store, clock) => {
      const input = newSession();
      await store.createSession(input);
      clock.advance(MINUTE);
      await store.updateSession(input.id, { idleTimeout: IDLE });
      clock.advance(MINUTE);
      const touched = await store.updateSession(input.id, { idleTimeout: 5 * MINUTE });
      assert.equal(touched?.expiresAt, T0 + MINUTE + IDLE);
      assert.equal(touched?.lastSeenAt, T0 + 2 * MINUTE);
    }));

  it('updates fresh and identifier and leaves absent fields, including the expiry, alone', () =>
    withStore(async (store, clock) => {
      const input = newSession({ identifier: randomHash() });
      const created = await store.createSession(input);
      clock.advance(5 * MINUTE);
      const stale = await store.updateSession(input.id, { fresh: false });
      assert.deepEqual({ ...stale }, { ...created, fresh: false });
      const cleared = await store.updateSession(input.id, { identifier: null });
      assert.deepEqual({ ...cleared }, { ...created, fresh: false, identifier: null });
      const identifier = randomHash();
      const set = await store.updateSession(input.id, { identifier, fresh: true });
      assert.deepEqual({ ...set }, { ...created, identifier });
      assert.deepEqual({ ...(await store.getSession(input.id)) }, { ...created, identifier });
    }));

  it('does not bring back a session deleted by a concurrent logout: updateSession returns null and creates nothing (SEC-34)', () =>
    withStore(async (store) => {
      const input = newSession();
      await store.createSession(input);
      const loaded = await store.getSession(input.id); // request 1 loads the session
      assert.ok(loaded);
      assert.equal(await store.deleteSession(input.id), true); // request 2 logs out
      assert.equal(await store.updateSession(input.id, { idleTimeout: IDLE, fresh: true }), null);
      assert.equal(await store.updateSession(input.id, {}), null);
      assert.equal(await store.getSession(input.id), null);
      assert.deepEqual(await store.listUserSessions(input.userId), []);
    }));

  it('does not revive an expired session: updateSession returns null (SEC-34, R-06)', () =>
    withStore(async (store, clock) => {
      const input = newSession();
      await store.createSession(input);
      clock.advance(IDLE);
      assert.equal(await store.updateSession(input.id, { idleTimeout: IDLE }), null);
      assert.equal(await store.getSession(input.id), null);
    }));
}
