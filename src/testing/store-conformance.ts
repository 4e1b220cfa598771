/**
 * The store conformance suite: every {@link Store} (memory, SQLite, PostgreSQL, Redis) runs these
 * tests unchanged, so the manager can rely on one set of semantics. Each test builds its own store
 * through `makeStore` with its own clock, starting at a fixed time, and moves that clock
 * explicitly. Ids and user ids are fresh random values, so tests against a shared real server
 * never see each other's rows. `makeStore` should turn background sweeps off: with per-test clocks,
 * one test's sweep would otherwise delete another's rows on a shared server.
 *
 * This file is the suite's one entry and its table of contents: it names every suite, in order,
 * and each part file registers the tests of one concept inside it.
 *
 * @module testing/store-conformance
 */
import { describe, it } from 'node:test';
import type { Store } from '../store.ts';
import { checkSuiteArguments, withClockedStore, type ConformanceOptions } from './conformance-fixture.ts';
import { registerRememberDecisionTests } from './remember-decision-conformance.ts';
import { registerRememberTokenTests } from './remember-token-conformance.ts';
import { registerSessionEndingTests } from './session-ending-conformance.ts';
import { registerSessionExpiryTests } from './session-expiry-conformance.ts';
import { registerSessionMethodsTests } from './session-methods-conformance.ts';
import { registerSessionRecordTests } from './session-record-conformance.ts';
import { registerSessionSafeguardTests } from './session-safeguard-conformance.ts';
import { registerSlidingExpiryTests } from './sliding-expiry-conformance.ts';
import { T0, type WithStore } from './store-fixture.ts';

/**
 * Registers the {@link Store} conformance suite for one store implementation, under the suite
 * name `<name> conforms to the Store contract`. Call it at the top level of a test file run by
 * `node --test`; it registers tests and runs none by itself.
 *
 * @example
 * ```ts
 * import { describeStoreConformance } from 'latchkey/testing';
 * import { MyStore } from '../src/my-store.ts';
 *
 * describeStoreConformance('MyStore', {
 *   makeStore: async (clock) => {
 *     const store = new MyStore({ now: clock.now, sweepInterval: 0 });
 *     return { store, cleanup: () => store.close() };
 *   },
 * });
 * ```
 */
export function describeStoreConformance(name: string, options: ConformanceOptions<Store>): void {
  checkSuiteArguments('describeStoreConformance', name, options);
  const { makeStore } = options;
  const withStore: WithStore = (test) => withClockedStore(makeStore, T0, test);

  describe(`${name} conforms to the Store contract`, () => {
    describe('sessions', () => {
      registerSessionRecordTests(withStore);
      registerSessionExpiryTests(withStore);
      registerSessionEndingTests(withStore);
      registerSessionSafeguardTests(withStore);
      registerSessionMethodsTests(withStore);
    });

    describe('remember-me tokens', () => {
      registerRememberTokenTests(withStore);
    });

    describe('the sliding expiry through a login manager on this store (finding 1)', () => {
      registerSlidingExpiryTests(withStore);
    });

    describe('health', () => {
      it('ping resolves while the backend answers (R-01)', () =>
        withStore(async (store) => {
          await store.ping?.();
        }));
    });

    describe('the remember-me use decision: this store answers as decideRememberUse, case by case (SEC-37, SEC-38, SEC-39)', () => {
      registerRememberDecisionTests(withStore);
    });
  });
}
