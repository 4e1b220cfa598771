/**
 * The suite `the sliding expiry through a login manager on this store (finding 1)` of the
 * {@link Store} conformance suite: a login manager built on the store, as an app builds it, keeps
 * an active user logged in for as long as requests come within the idle timeout, and logs them out
 * once a whole timeout passes without one (SEC-28). The session tests prove each store call; this
 * proves that the manager's touches and the store's expiry add up.
 *
 * @module testing/sliding-expiry-conformance
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLoginManager, type LoginManager } from '../manager.ts';
import type { Store } from '../store.ts';
import type { TestClock } from './clock.ts';
import { loginTestUser } from './login-test-user.ts';
import { randomId, SECOND, type WithStore } from './store-fixture.ts';

/** Registers the tests of the sliding expiry suite, in their order. */
export function registerSlidingExpiryTests(withStore: WithStore): void {
  /** A manager on this store and its clock, as an app would build it. */
  function managerOn(store: Store, clock: TestClock, idleTimeout: string): LoginManager<{ id: string }> {
    return createLoginManager<{ id: string }>({
      store,
      secret: 'store-conformance-secret-0123456789abcdef',
      loadUser: (id) => ({ id }),
      idleTimeout,
      sessionProtection: null,
      now: clock.now,
    });
  }
  /** Whether a request with `cookie` is logged in. */
  async function loggedIn(manager: LoginManager<{ id: string }>, cookie: string): Promise<boolean> {
    const auth = manager.forRequest(new Request('http://localhost/protected', { headers: { cookie } }));
    return (await auth.user()) !== null;
  }

  it('finding 1: with a 3 s idle timeout a user active every 0.8 s for 30 s is never logged out, and is 3 s after the last request (SEC-28)', () =>
    withStore(async (store, clock) => {
      const manager = managerOn(store, clock, '3s');
      const cookie = await loginTestUser(manager, { id: randomId() });
      for (let elapsed = 800; elapsed <= 30 * SECOND; elapsed += 800) {
        clock.advance(800);
        assert.equal(await loggedIn(manager, cookie), true, `at ${elapsed} ms`);
      }
      clock.advance(3 * SECOND);
      assert.equal(await loggedIn(manager, cookie), false, 'idle for 3 s');
    }));

  it('finding 1: with a 90 s idle timeout, activity at 59 s keeps the request at 91 s alive (SEC-28)', () =>
    withStore(async (store, clock) => {
      const manager = managerOn(store, clock, '90s');
      const cookie = await loginTestUser(manager, { id: randomId() });
      clock.advance(59 * SECOND);
      assert.equal(await loggedIn(manager, cookie), true);
      clock.advance(32 * SECOND);
      assert.equal(await loggedIn(manager, cookie), true, 'at 91 s');
      clock.advance(90 * SECOND);
      assert.equal(await loggedIn(manager, cookie), false, 'idle for 90 s');
    }));
}
