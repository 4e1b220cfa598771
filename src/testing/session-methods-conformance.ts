/**
 * A part of the `sessions` suite of the {@link Store} conformance suite: how the user
 * authenticated (SEC-84). A store keeps a session's methods exactly as given, returns them from
 * every read, keeps them through touches and updates, stores those a replacing session is handed
 * (the manager passes the replaced session's), and refuses malformed ones as misuse.
 *
 * @module testing/session-methods-conformance
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { IDLE, MINUTE, newSession, type WithStore } from './store-fixture.ts';

/** Registers the authentication-method tests of the `sessions` suite. */
export function registerSessionMethodsTests(withStore: WithStore): void {
  it('stores a session\'s methods as given, in order, and returns them from create, get, update and list (SEC-84)', () =>
    withStore(async (store, clock) => {
      const methods = ['pwd', 'otp', 'hwk', 'mfa', 'x-vendor-1', 'sms', 'user', 'a234567890123456'];
      const input = newSession({ methods });
      assert.deepEqual([...(await store.createSession(input)).methods], methods);
      assert.deepEqual([...((await store.getSession(input.id))?.methods ?? [])], methods);
      clock.advance(IDLE / 2);
      assert.deepEqual([...((await store.updateSession(input.id, { idleTimeout: IDLE, fresh: false }))?.methods ?? [])], methods);
      assert.deepEqual([...((await store.getSession(input.id))?.methods ?? [])], methods);
      assert.deepEqual((await store.listUserSessions(input.userId)).map((s) => [...s.methods]), [methods]);
    }));

  it('reads a session created without methods, or with [], as [] (SEC-84)', () =>
    withStore(async (store) => {
      const absent = newSession();
      const empty = newSession({ methods: [] });
      assert.deepEqual([...(await store.createSession(absent)).methods], []);
      await store.createSession(empty);
      assert.deepEqual([...((await store.getSession(absent.id))?.methods ?? ['missing'])], []);
      assert.deepEqual([...((await store.getSession(empty.id))?.methods ?? ['missing'])], []);
    }));

  it('a replacing session keeps the methods it is handed with the inherited times; the replaced one is unchanged (SEC-84, SEC-35)', () =>
    withStore(async (store, clock) => {
      const first = await store.createSession(newSession({ methods: ['pwd', 'otp'] }));
      clock.advance(10 * MINUTE);
      const input = newSession({
        userId: first.userId, authenticatedAt: first.authenticatedAt, absoluteExpiresAt: first.absoluteExpiresAt, methods: first.methods,
      });
      const rotated = await store.createSession(input);
      assert.deepEqual([...rotated.methods], ['pwd', 'otp']);
      assert.equal(rotated.authenticatedAt, first.authenticatedAt);
      assert.deepEqual([...((await store.getSession(input.id))?.methods ?? [])], ['pwd', 'otp']);
      assert.deepEqual([...((await store.getSession(first.id))?.methods ?? [])], ['pwd', 'otp']);
    }));

  it('hands out methods that changing a returned session cannot change (SEC-84)', () =>
    withStore(async (store) => {
      const given = ['pwd'];
      const input = newSession({ methods: given });
      const created = await store.createSession(input);
      given.push('hwk'); // the caller's array changing afterwards changes nothing stored
      try {
        (created.methods as string[]).push('hwk');
      } catch {
        // frozen: the push throws, which is fine too
      }
      assert.deepEqual([...((await store.getSession(input.id))?.methods ?? [])], ['pwd']);
    }));

  it('as the attacker: malformed methods are misuse, rejected with TypeError and nothing stored (SEC-84)', () =>
    withStore(async (store) => {
      const nine = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
      const bad: unknown[] = ['pwd', [''], ['PWD'], ['1pwd'], ['pwd otp'], ['a2345678901234567'], ['pwd\u0000'], ['"],"x'], [1], [null], nine];
      for (const methods of bad) {
        const input = newSession({ methods: methods as string[] });
        await assert.rejects(store.createSession(input), TypeError, JSON.stringify(methods));
        assert.equal(await store.getSession(input.id), null);
      }
    }));
}
