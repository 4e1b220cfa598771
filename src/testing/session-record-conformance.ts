/**
 * The first part of the `sessions` suite of the {@link Store} conformance suite: creating and
 * reading a session. The store stamps every time from its own clock and returns every field,
 * keeps the secret hash it was given and nothing of a raw secret (SEC-21), answers an unknown id,
 * and any number of concurrent reads, each with its own session or null (SEC-22), and never lets a
 * duplicate id overwrite a session.
 *
 * @module testing/session-record-conformance
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { ABSOLUTE, HOUR, IDLE, MINUTE, newSession, randomHash, randomId, T0, type WithStore } from './store-fixture.ts';

/** Registers the creation and read tests of the `sessions` suite, in their order. */
export function registerSessionRecordTests(withStore: WithStore): void {
  it('stamps createdAt, authenticatedAt, lastSeenAt and both expiries from its own clock and returns every field (R-08)', () =>
    withStore(async (store) => {
      const input = newSession({ fresh: false, rememberSeries: randomId(), identifier: randomHash(), methods: ['pwd'] });
      const created = await store.createSession(input);
      const expected = {
        id: input.id,
        secretHash: input.secretHash,
        userId: input.userId,
        fresh: false,
        rememberSeries: input.rememberSeries,
        identifier: input.identifier,
        userAgent: input.userAgent,
        ipAddress: input.ipAddress,
        createdAt: T0,
        authenticatedAt: T0,
        lastSeenAt: T0,
        expiresAt: T0 + IDLE,
        absoluteExpiresAt: T0 + ABSOLUTE,
        methods: ['pwd'],
      };
      assert.deepEqual({ ...created }, expected);
      assert.deepEqual({ ...(await store.getSession(input.id)) }, expected);
    }));

  it('round-trips null optional fields and fresh: true', () =>
    withStore(async (store) => {
      const input = newSession({ userAgent: null, ipAddress: null });
      await store.createSession(input);
      const got = await store.getSession(input.id);
      assert.ok(got);
      assert.equal(got.fresh, true);
      assert.equal(got.rememberSeries, null);
      assert.equal(got.identifier, null);
      assert.equal(got.userAgent, null);
      assert.equal(got.ipAddress, null);
    }));

  it('as the attacker: returns the text a client chose byte for byte, whatever a record encoding would make of it', () =>
    withStore(async (store) => {
      // A User-Agent is the client's: quotes, backslashes, slashes, field names and JSON in it must
      // come back as they went in, and never as another field (a store may encode records as JSON).
      const hostile = ['"quoted" back\\slash /slash/ \t tab', '{"userId":"1","fresh":1}', '","fresh":"1","userId":"1', 'userId', '𝄞 🙂 \u2028 é \x7f', 'false', 'null', '1'];
      for (const userAgent of hostile) {
        const input = newSession({ userAgent, identifier: userAgent, ipAddress: userAgent });
        const created = await store.createSession(input);
        const read = await store.getSession(input.id);
        const touched = await store.updateSession(input.id, { idleTimeout: IDLE });
        const listed = (await store.listUserSessions(input.userId)).find((session) => session.id === input.id);
        for (const got of [created, read, touched, listed]) {
          assert.equal(got?.userAgent, userAgent);
          assert.equal(got?.identifier, userAgent);
          assert.equal(got?.ipAddress, userAgent);
          assert.equal(got?.userId, input.userId);
          assert.equal(got?.fresh, true);
        }
      }
    }));

  it('as the attacker: ids that an encoding of the ids would mistake (quotes, commas, braces, JSON, NULL) each read their own session in one batch', () =>
    withStore(async (store) => {
      // A store may send a batch of ids as one array literal or JSON text: none may split, merge or escape into another.
      const ids = ['a"b', 'a\\b', 'a,b', '{a,b}', '["a","b"]', 'NULL', 'null', '', ' ', 'é𝄞', `${randomId()}'`];
      for (const id of ids) await store.createSession(newSession({ id, userId: `user:${id}` }));
      const reads = await Promise.all([...ids, 'a', 'b', '"a"', 'a\\', '{a', 'a,b,c'].map((id) => store.getSession(id)));
      assert.deepEqual(reads.map((s) => s?.userId ?? null), [...ids.map((id) => `user:${id}`), null, null, null, null, null, null]);
    }));

  it('keeps exactly the secret hash it was given, never anything derived from a raw secret (SEC-21)', () =>
    withStore(async (store) => {
      const secret = randomBytes(32).toString('base64url');
      const secretHash = createHash('sha256').update(secret).digest('base64url');
      const input = newSession({ secretHash });
      await store.createSession(input);
      const got = await store.getSession(input.id);
      assert.equal(got?.secretHash, secretHash);
      assert.ok(!JSON.stringify(got).includes(secret));
    }));

  it('caps expiresAt at the absolute expiry when the idle timeout is longer (SEC-29)', () =>
    withStore(async (store) => {
      const created = await store.createSession(newSession({ idleTimeout: 2 * HOUR, absoluteTimeout: HOUR }));
      assert.equal(created.expiresAt, T0 + HOUR);
      assert.equal(created.absoluteExpiresAt, T0 + HOUR);
    }));

  it('returns null for an unknown id (SEC-22)', () =>
    withStore(async (store) => {
      assert.equal(await store.getSession(randomId()), null);
    }));

  it('answers concurrent reads each with its own session: distinct, repeated, unknown, deleted and expired ids (SEC-22, SEC-28, SEC-31)', () =>
    withStore(async (store, clock) => {
      const live = newSession();
      const other = newSession();
      const expiring = newSession({ idleTimeout: MINUTE });
      const deleted = newSession();
      for (const input of [live, other, expiring, deleted]) await store.createSession(input);
      assert.equal(await store.deleteSession(deleted.id), true);
      clock.advance(MINUTE);
      const ids = [live.id, other.id, live.id, randomId(), expiring.id, deleted.id, other.id];
      const got = await Promise.all(ids.map((id) => store.getSession(id)));
      assert.deepEqual(
        got.map((session) => session && { id: session.id, userId: session.userId }),
        [live, other, live, null, null, null, other].map((input) => input && { id: input.id, userId: input.userId }),
      );
      assert.equal(await store.getSession(expiring.id), null);
    }));

  it('answers 300 concurrent reads of 300 sessions, each with its own (more than one batch of coalesced reads)', () =>
    withStore(async (store) => {
      const inputs = Array.from({ length: 300 }, () => newSession());
      await Promise.all(inputs.map((input) => store.createSession(input)));
      const got = await Promise.all(inputs.map((input) => store.getSession(input.id)));
      assert.deepEqual(
        got.map((session) => session && { id: session.id, secretHash: session.secretHash }),
        inputs.map((input) => ({ id: input.id, secretHash: input.secretHash })),
      );
    }));

  it('refuses to overwrite an existing session with a duplicate id: the create rejects and the session is unchanged', () =>
    withStore(async (store) => {
      const original = newSession();
      await store.createSession(original);
      const attacker = newSession({ id: original.id });
      await assert.rejects(store.createSession(attacker));
      const got = await store.getSession(original.id);
      assert.equal(got?.userId, original.userId);
      assert.equal(got?.secretHash, original.secretHash);
    }));
}
