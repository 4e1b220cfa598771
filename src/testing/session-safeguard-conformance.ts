/**
 * The last part of the `sessions` suite of the {@link Store} conformance suite: what a store holds
 * to whatever its caller does. A returned session is a snapshot that cannot change the stored one;
 * a session replacing another inherits the login's authenticatedAt and absolute expiry but can
 * never extend them (finding 2, SEC-29, SEC-35); and durations or inherited times that are not
 * integer milliseconds are misuse, rejected with TypeError.
 *
 * @module testing/session-safeguard-conformance
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ABSOLUTE, DAY, HOUR, IDLE, MINUTE, newSession, T0, type WithStore } from './store-fixture.ts';

/** Registers the snapshot, inherited-expiry and misuse tests of the `sessions` suite, in their order. */
export function registerSessionSafeguardTests(withStore: WithStore): void {
  it('hands out snapshots: changing a returned session does not change the stored one', () =>
    withStore(async (store) => {
      const input = newSession();
      const created = await store.createSession(input);
      const got = await store.getSession(input.id);
      for (const session of [created, got]) {
        try {
          (session as { userId: string }).userId = 'attacker';
          (session as { expiresAt: number }).expiresAt = Number.MAX_SAFE_INTEGER;
        } catch {
          // frozen: the assignment throws in strict mode, which is fine too
        }
      }
      const again = await store.getSession(input.id);
      assert.equal(again?.userId, input.userId);
      assert.equal(again?.expiresAt, T0 + IDLE);
    }));

  it('finding 2: a session replacing another keeps its authenticatedAt and absoluteExpiresAt, and never expires past it (SEC-29, SEC-35)', () =>
    withStore(async (store, clock) => {
      const first = await store.createSession(newSession());
      clock.advance(23 * HOUR + 50 * MINUTE);
      const inherited = { authenticatedAt: first.authenticatedAt, absoluteExpiresAt: first.absoluteExpiresAt };
      const input = newSession({ userId: first.userId, ...inherited });
      const rotated = await store.createSession(input);
      const expected = {
        ...first,
        id: input.id,
        secretHash: input.secretHash,
        createdAt: T0 + 23 * HOUR + 50 * MINUTE,
        authenticatedAt: T0,
        lastSeenAt: T0 + 23 * HOUR + 50 * MINUTE,
        expiresAt: T0 + ABSOLUTE, // not now + 30 min: the login ends at its 24 h
        absoluteExpiresAt: T0 + ABSOLUTE,
      };
      assert.deepEqual({ ...rotated }, expected);
      assert.deepEqual({ ...(await store.getSession(input.id)) }, expected);
      clock.advance(10 * MINUTE - 1);
      assert.equal((await store.updateSession(input.id, { idleTimeout: IDLE }))?.expiresAt, T0 + ABSOLUTE);
      clock.advance(1);
      assert.equal(await store.getSession(input.id), null, 'gone exactly 24 h after the login');
    }));

  it('finding 2: an inherited absolute expiry later than now + absoluteTimeout is cut to it; misused inherited times throw TypeError', () =>
    withStore(async (store, clock) => {
      clock.advance(HOUR);
      const input = newSession({ authenticatedAt: T0, absoluteExpiresAt: T0 + 10 * DAY });
      const created = await store.createSession(input);
      assert.equal(created.absoluteExpiresAt, T0 + HOUR + ABSOLUTE);
      assert.equal(created.authenticatedAt, T0);
      await assert.rejects(store.createSession(newSession({ authenticatedAt: T0 })), TypeError);
      await assert.rejects(store.createSession(newSession({ absoluteExpiresAt: T0 + DAY })), TypeError);
      await assert.rejects(store.createSession(newSession({ authenticatedAt: 1.5, absoluteExpiresAt: T0 + DAY })), TypeError);
      await assert.rejects(store.createSession(newSession({ authenticatedAt: T0, absoluteExpiresAt: Number.NaN })), TypeError);
    }));

  it('rejects durations that are not positive integer milliseconds with TypeError (misuse)', () =>
    withStore(async (store) => {
      for (const bad of [Number.NaN, Infinity, -1, 0, 1.5]) {
        await assert.rejects(store.createSession(newSession({ idleTimeout: bad })), TypeError);
        await assert.rejects(store.createSession(newSession({ absoluteTimeout: bad })), TypeError);
      }
      const input = newSession();
      await store.createSession(input);
      await assert.rejects(store.updateSession(input.id, { idleTimeout: Number.NaN }), TypeError);
      assert.equal((await store.getSession(input.id))?.expiresAt, T0 + IDLE);
    }));
}
