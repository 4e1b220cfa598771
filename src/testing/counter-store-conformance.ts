/**
 * The counter conformance suite: every {@link CounterStore} (memory, SQLite, PostgreSQL, Redis)
 * runs these tests unchanged, so the login throttle can rely on one set of semantics: the store's
 * clock, expiry inclusive at `now + ttl`, sliding expiry, and increments that are never lost
 * . Each test builds its own store through `makeStore` with its own clock, starting at a
 * fixed time, and moves that clock explicitly; keys are fresh random values, so tests against a
 * shared real server never see each other's counters. `makeStore` should turn background sweeps
 * off, as for `describeStoreConformance`.
 *
 * @module testing/counter-store-conformance
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { CounterStore } from '../counter-store.ts';
import type { TestClock } from './clock.ts';
import { checkSuiteArguments, withClockedStore, type ConformanceOptions } from './conformance-fixture.ts';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const TTL = 15 * MINUTE;


/** A key as the throttle makes them: a purpose and a keyed hash (here random, of the same shape). */
function randomKey(): string {
  return `throttle:test:${randomBytes(32).toString('base64url')}`;
}

/**
 * Registers the {@link CounterStore} conformance suite for one store implementation, under the
 * suite name `<name> conforms to the CounterStore contract`. Call it at the top level of a test
 * file run by `node --test`; it registers tests and runs none by itself.
 *
 * @example
 * ```ts
 * import { describeCounterStoreConformance } from 'latchkey/testing';
 * import { MyStore } from '../src/my-store.ts';
 *
 * describeCounterStoreConformance('MyStore', {
 *   makeStore: async (clock) => {
 *     const store = new MyStore({ now: clock.now, sweepInterval: 0 });
 *     return { store, cleanup: () => store.close() };
 *   },
 * });
 * ```
 */
export function describeCounterStoreConformance(name: string, options: ConformanceOptions<CounterStore>): void {
  checkSuiteArguments('describeCounterStoreConformance', name, options);
  const { makeStore } = options;
  const withStore = (test: (store: CounterStore, clock: TestClock) => Promise<void>) => withClockedStore(makeStore, T0, test);

  describe(`${name} conforms to the CounterStore contract`, () => {
    it('reads an unknown key as null', () =>
      withStore(async (store) => {
        assert.equal(await store.getCounter(randomKey()), null);
      }));

    it('starts a counter at 1 on the first failure, stamped with its own clock (R-08)', () =>
      withStore(async (store) => {
        const key = randomKey();
        assert.deepEqual({ ...(await store.recordFailure(key, TTL)) }, { count: 1, firstAt: T0, lastAt: T0 });
        assert.deepEqual({ ...(await store.getCounter(key)) }, { count: 1, firstAt: T0, lastAt: T0 });
      }));

    it('increments on each failure, keeps firstAt and moves lastAt (SEC-51)', () =>
      withStore(async (store, clock) => {
        const key = randomKey();
        await store.recordFailure(key, TTL);
        clock.advance(SECOND);
        await store.recordFailure(key, TTL);
        clock.advance(SECOND);
        const third = await store.recordFailure(key, TTL);
        assert.deepEqual({ ...third }, { count: 3, firstAt: T0, lastAt: T0 + 2 * SECOND });
        assert.deepEqual({ ...(await store.getCounter(key)) }, { ...third });
      }));

    it('is live 1 ms before now + ttl and gone exactly at it, then restarts at 1 (inclusive boundary, SEC-29)', () =>
      withStore(async (store, clock) => {
        const key = randomKey();
        await store.recordFailure(key, TTL);
        await store.recordFailure(key, TTL);
        clock.advance(TTL - 1);
        assert.equal((await store.getCounter(key))?.count, 2);
        clock.advance(1);
        assert.equal(await store.getCounter(key), null);
        const restarted = await store.recordFailure(key, TTL);
        assert.deepEqual({ ...restarted }, { count: 1, firstAt: T0 + TTL, lastAt: T0 + TTL });
      }));

    it('restarts an expired counter at 1 even when nothing read it after it expired', () =>
      withStore(async (store, clock) => {
        const key = randomKey();
        await store.recordFailure(key, TTL);
        await store.recordFailure(key, TTL);
        clock.advance(TTL);
        assert.deepEqual({ ...(await store.recordFailure(key, TTL)) }, { count: 1, firstAt: T0 + TTL, lastAt: T0 + TTL });
      }));

    it('slides the expiry to now + ttl on every failure', () =>
      withStore(async (store, clock) => {
        const key = randomKey();
        await store.recordFailure(key, TTL);
        clock.advance(TTL - 1);
        await store.recordFailure(key, TTL); // expires at T0 + 2 TTL − 1 now
        clock.advance(TTL - 1);
        assert.deepEqual({ ...(await store.getCounter(key)) }, { count: 2, firstAt: T0, lastAt: T0 + TTL - 1 });
        clock.advance(1);
        assert.equal(await store.getCounter(key), null);
      }));

    it('clearCounter deletes the counter, the next failure starts at 1, and clearing an absent key resolves', () =>
      withStore(async (store) => {
        const key = randomKey();
        await store.recordFailure(key, TTL);
        await store.recordFailure(key, TTL);
        await store.clearCounter(key);
        assert.equal(await store.getCounter(key), null);
        assert.equal((await store.recordFailure(key, TTL)).count, 1);
        await store.clearCounter(randomKey());
      }));

    it('keeps keys apart: failures and clears on one key leave another alone', () =>
      withStore(async (store) => {
        const a = randomKey();
        const b = randomKey();
        await store.recordFailure(a, TTL);
        await store.recordFailure(a, TTL);
        await store.recordFailure(b, TTL);
        assert.equal((await store.getCounter(a))?.count, 2);
        assert.equal((await store.getCounter(b))?.count, 1);
        await store.clearCounter(a);
        assert.equal((await store.getCounter(b))?.count, 1);
      }));

    it('takes any string as a key, including separators and non-ASCII text', () =>
      withStore(async (store) => {
        const key = `${randomKey()}:ü:🔑: ; '--`;
        await store.recordFailure(key, TTL);
        assert.equal((await store.getCounter(key))?.count, 1);
        assert.equal(await store.getCounter(key.slice(0, -1)), null);
      }));

    it('never under-counts: 100 concurrent failures on one key give exactly the counts 1..100 (R-05, SEC-51)', () =>
      withStore(async (store) => {
        const key = randomKey();
        const states = await Promise.all(Array.from({ length: 100 }, () => store.recordFailure(key, TTL)));
        const counts = states.map((state) => state.count).sort((x, y) => x - y);
        assert.deepEqual(counts, Array.from({ length: 100 }, (_, i) => i + 1));
        assert.equal((await store.getCounter(key))?.count, 100);
      }));

    it('hands out snapshots: a later failure does not change a state already returned', () =>
      withStore(async (store) => {
        const key = randomKey();
        const first = await store.recordFailure(key, TTL);
        await store.recordFailure(key, TTL);
        assert.equal(first.count, 1);
      }));

    it('forgiveFailure takes one failure back and keeps firstAt, lastAt and the expiry (finding 4)', () =>
      withStore(async (store, clock) => {
        const key = randomKey();
        await store.recordFailure(key, TTL);
        clock.advance(SECOND);
        await store.recordFailure(key, TTL);
        await store.recordFailure(key, TTL);
        clock.advance(SECOND);
        assert.deepEqual({ ...(await store.forgiveFailure(key)) }, { count: 2, firstAt: T0, lastAt: T0 + SECOND });
        assert.deepEqual({ ...(await store.getCounter(key)) }, { count: 2, firstAt: T0, lastAt: T0 + SECOND });
        clock.advance(TTL - SECOND - 1); // the expiry the last failure set, T0 + SECOND + TTL, is 1 ms away
        assert.equal((await store.getCounter(key))?.count, 2);
        clock.advance(1);
        assert.equal(await store.getCounter(key), null);
      }));

    it('forgiveFailure never goes below zero: at 0 the counter is gone, absent and expired ones stay absent, and the next failure starts at 1 (finding 4)', () =>
      withStore(async (store, clock) => {
        const key = randomKey();
        assert.equal(await store.forgiveFailure(key), null, 'absent');
        await store.recordFailure(key, TTL);
        assert.equal(await store.forgiveFailure(key), null, 'to 0');
        assert.equal(await store.getCounter(key), null);
        assert.equal(await store.forgiveFailure(key), null, 'below 0');
        clock.advance(SECOND);
        assert.deepEqual({ ...(await store.recordFailure(key, TTL)) }, { count: 1, firstAt: T0 + SECOND, lastAt: T0 + SECOND });
        clock.advance(TTL);
        assert.equal(await store.forgiveFailure(key), null, 'expired');
        assert.deepEqual({ ...(await store.recordFailure(key, TTL)) }, { count: 1, firstAt: T0 + SECOND + TTL, lastAt: T0 + SECOND + TTL });
      }));

    it('forgiveFailure is atomic: 100 concurrent failures and 60 concurrent forgivenesses leave exactly 40, and 60 more leave none, never below 0 (finding 4, R-05)', () =>
      withStore(async (store) => {
        const key = randomKey();
        for (let i = 0; i < 60; i++) await store.recordFailure(key, TTL);
        await Promise.all([
          ...Array.from({ length: 40 }, () => store.recordFailure(key, TTL)),
          ...Array.from({ length: 60 }, () => store.forgiveFailure(key)),
        ]);
        assert.equal((await store.getCounter(key))?.count, 40);
        const after = await Promise.all(Array.from({ length: 60 }, () => store.forgiveFailure(key)));
        assert.equal(after.filter((state) => state !== null).length, 39, 'counts 39..1 come back once each, then null');
        assert.equal(await store.getCounter(key), null);
        assert.equal((await store.recordFailure(key, TTL)).count, 1);
      }));

    it('rejects a ttl that is not a positive integer of milliseconds with TypeError (misuse)', () =>
      withStore(async (store) => {
        for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          await assert.rejects(store.recordFailure(randomKey(), ttl), TypeError, String(ttl));
        }
      }));
  });
}
