/**
 * The third part of the `sessions` suite of the {@link Store} conformance suite: ending sessions
 * and listing what is left. `deleteSession` says whether it ended a live session (SEC-31);
 * `listUserSessions` gives one user's unexpired sessions, newest first (SEC-32); and
 * `deleteUserSessions` ends all of a user's sessions, or all but the current one, and counts them
 * (SEC-33), leaving other users alone.
 *
 * @module testing/session-ending-conformance
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { IDLE, MINUTE, newSession, randomId, type WithStore } from './store-fixture.ts';

/** Registers the deletion and listing tests of the `sessions` suite, in their order. */
export function registerSessionEndingTests(withStore: WithStore): void {
  it('deleteSession returns true once and then false, and the session is gone (SEC-31)', () =>
    withStore(async (store) => {
      const input = newSession();
      await store.createSession(input);
      assert.equal(await store.deleteSession(input.id), true);
      assert.equal(await store.deleteSession(input.id), false);
      assert.equal(await store.getSession(input.id), null);
      assert.equal(await store.deleteSession(randomId()), false);
    }));

  it('deleteSession of an already expired session returns false: it had already ended (SEC-28)', () =>
    withStore(async (store, clock) => {
      const input = newSession();
      await store.createSession(input);
      clock.advance(IDLE);
      assert.equal(await store.deleteSession(input.id), false);
    }));

  it("lists only that user's unexpired sessions, most recently created first (SEC-32)", () =>
    withStore(async (store, clock) => {
      const userId = randomId();
      const first = await store.createSession(newSession({ userId }));
      clock.advance(MINUTE);
      const short = await store.createSession(newSession({ userId, idleTimeout: MINUTE }));
      clock.advance(MINUTE);
      const second = await store.createSession(newSession({ userId }));
      clock.advance(MINUTE);
      const third = await store.createSession(newSession({ userId }));
      await store.createSession(newSession()); // another user's
      clock.advance(MINUTE); // `short` has expired
      const listed = await store.listUserSessions(userId);
      assert.deepEqual(
        listed.map((s) => s.id),
        [third.id, second.id, first.id],
      );
      assert.ok(!listed.some((s) => s.id === short.id));
      assert.deepEqual({ ...listed[2] }, { ...first });
      assert.deepEqual(await store.listUserSessions(randomId()), []);
    }));

  it('deleteUserSessions ends every session of the user except exceptId, counts them, and leaves other users alone (SEC-32, SEC-33)', () =>
    withStore(async (store) => {
      const userId = randomId();
      const kept = await store.createSession(newSession({ userId }));
      await store.createSession(newSession({ userId }));
      await store.createSession(newSession({ userId }));
      const other = await store.createSession(newSession());
      assert.equal(await store.deleteUserSessions(userId, kept.id), 2);
      assert.deepEqual(
        (await store.listUserSessions(userId)).map((s) => s.id),
        [kept.id],
      );
      assert.ok(await store.getSession(kept.id));
      assert.ok(await store.getSession(other.id));
    }));

  it('deleteUserSessions without exceptId ends all of them and returns 0 when none are left (SEC-33)', () =>
    withStore(async (store) => {
      const userId = randomId();
      const a = await store.createSession(newSession({ userId }));
      const b = await store.createSession(newSession({ userId }));
      const other = await store.createSession(newSession());
      assert.equal(await store.deleteUserSessions(userId), 2);
      assert.equal(await store.getSession(a.id), null);
      assert.equal(await store.getSession(b.id), null);
      assert.deepEqual(await store.listUserSessions(userId), []);
      assert.equal(await store.deleteUserSessions(userId), 0);
      assert.ok(await store.getSession(other.id));
    }));
}
