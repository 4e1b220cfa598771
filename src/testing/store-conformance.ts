/**
 * The store conformance suite: every {@link Store} (memory, SQLite, PostgreSQL, Redis) runs these
 * tests unchanged, so the manager can rely on one set of semantics. Each test builds its own store
 * through `makeStore` with its own clock, starting at a fixed time, and moves that clock
 * explicitly. Ids and user ids are fresh random values, so tests against a shared real server
 * never see each other's rows. `makeStore` should turn background sweeps off: with per-test clocks,
 * one test's sweep would otherwise delete another's rows on a shared server.
 *
 * @module testing/store-conformance
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLoginManager, type LoginManager } from '../manager.ts';
import { decideRememberUse, rememberUseOf, type RememberDecision, type RememberSeriesState } from '../remember-decision.ts';
import type { Store } from '../store.ts';
import type { TestClock } from './clock.ts';
import { checkSuiteArguments, withClockedStore, type ConformanceOptions } from './conformance-fixture.ts';
import { loginTestUser } from './login-test-user.ts';
import { registerSessionEndingTests } from './session-ending-conformance.ts';
import { registerSessionExpiryTests } from './session-expiry-conformance.ts';
import { registerSessionRecordTests } from './session-record-conformance.ts';
import { registerSessionSafeguardTests } from './session-safeguard-conformance.ts';
import { DAY, GRACE, HOUR, MINUTE, newSession, randomHash, randomId, SECOND, T0, type WithStore } from './store-fixture.ts';

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
    });

    describe('remember-me tokens', () => {
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
    });

    describe('the sliding expiry through a login manager on this store (finding 1)', () => {
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
    });

    describe('health', () => {
      it('ping resolves while the backend answers (R-01)', () =>
        withStore(async (store) => {
          await store.ping?.();
        }));
    });

    describe('the remember-me use decision: this store answers as decideRememberUse, case by case (SEC-37, SEC-38, SEC-39)', () => {
      /** A series as the test made it, and what the pure function is told about it. */
      interface Arranged {
        readonly series: string;
        readonly userId: string;
        readonly presented: string;
        /** The stored state, as the test knows it from what it did; null for a series never made. */
        readonly state: (RememberSeriesState & { readonly previousHash: string | null }) | null;
      }
      interface Case {
        readonly name: string;
        /** What decideRememberUse says for the case: the table documents the rule as well. */
        readonly decision: RememberDecision;
        readonly grace?: number;
        readonly arrange: (store: Store, clock: TestClock) => Promise<Arranged>;
      }

      /** A new series of `lifetime`, then `rotations` uses of its current validator, each `gap` ms apart. */
      async function series(store: Store, clock: TestClock, rotations = 0, { lifetime = 30 * DAY, gap = HOUR } = {}) {
        const made = { series: randomId(), validatorHash: randomHash(), userId: randomId(), lifetime };
        const { expiresAt } = await store.createRememberToken(made);
        const issued = [made.validatorHash];
        let state: RememberSeriesState = { validatorHash: made.validatorHash, previousHash: null, rotatedAt: null, expiresAt };
        for (let i = 0; i < rotations; i++) {
          clock.advance(gap);
          const next = randomHash();
          assert.equal((await store.useRememberToken(made.series, state.validatorHash, next, GRACE))?.status, 'valid');
          state = { validatorHash: next, previousHash: state.validatorHash, rotatedAt: clock.now(), expiresAt };
          issued.push(next);
        }
        return { series: made.series, userId: made.userId, state, issued };
      }

      const CASES: readonly Case[] = [
        {
          name: 'the current validator of a series never rotated',
          decision: 'rotate',
          arrange: async (store, clock) => {
            const made = await series(store, clock);
            return { ...made, presented: made.state.validatorHash };
          },
        },
        {
          name: 'the current validator right after a rotation',
          decision: 'rotate',
          arrange: async (store, clock) => {
            const made = await series(store, clock, 1);
            clock.advance(1);
            return { ...made, presented: made.state.validatorHash };
          },
        },
        {
          name: 'the previous validator within the grace window, 1 ms before its end',
          decision: 'grace',
          arrange: async (store, clock) => {
            const made = await series(store, clock, 1);
            clock.advance(GRACE - 1);
            return { ...made, presented: made.state.previousHash as string };
          },
        },
        {
          name: 'the previous validator at exactly the end of the grace window',
          decision: 'theft',
          arrange: async (store, clock) => {
            const made = await series(store, clock, 1);
            clock.advance(GRACE);
            return { ...made, presented: made.state.previousHash as string };
          },
        },
        {
          name: 'the previous validator after the grace window',
          decision: 'theft',
          arrange: async (store, clock) => {
            const made = await series(store, clock, 1);
            clock.advance(GRACE + MINUTE);
            return { ...made, presented: made.state.previousHash as string };
          },
        },
        {
          name: 'the previous validator with a zero grace window',
          decision: 'theft',
          grace: 0,
          arrange: async (store, clock) => {
            const made = await series(store, clock, 1);
            return { ...made, presented: made.state.previousHash as string };
          },
        },
        {
          name: 'a validator two rotations old, inside the grace window of the last one',
          decision: 'theft',
          arrange: async (store, clock) => {
            const made = await series(store, clock, 2, { gap: SECOND });
            return { ...made, presented: made.issued[0] as string };
          },
        },
        {
          name: 'a validator never issued',
          decision: 'theft',
          arrange: async (store, clock) => ({ ...(await series(store, clock, 1)), presented: randomHash() }),
        },
        {
          name: 'the current validator 1 ms before the series ends',
          decision: 'rotate',
          arrange: async (store, clock) => {
            const made = await series(store, clock, 0, { lifetime: DAY });
            clock.advance(DAY - 1);
            return { ...made, presented: made.state.validatorHash };
          },
        },
        {
          name: 'the current validator of a series at exactly its end',
          decision: 'expired',
          arrange: async (store, clock) => {
            const made = await series(store, clock, 1, { lifetime: DAY });
            clock.advance(DAY - HOUR);
            return { ...made, presented: made.state.validatorHash };
          },
        },
        {
          name: 'a series that does not exist',
          decision: 'unknown',
          arrange: async () => ({ series: randomId(), userId: randomId(), presented: randomHash(), state: null }),
        },
      ];

      for (const c of CASES) {
        it(`${c.name}: ${c.decision}, and the store answers and leaves the series as that decision says`, () =>
          withStore(async (store, clock) => {
            const { series: id, userId, presented, state } = await c.arrange(store, clock);
            const grace = c.grace ?? GRACE;
            const decision = decideRememberUse(state, presented, clock.now(), grace);
            assert.equal(decision, c.decision, 'the pure function');
            const next = randomHash();
            const expected = rememberUseOf(decision, userId, state?.expiresAt ?? 0);
            assert.deepEqual(await store.useRememberToken(id, presented, next, grace), expected, 'the store');
            // What the decision says the store did: rotated, changed nothing, or deleted the series.
            const current = state?.validatorHash ?? randomHash();
            const after = await store.useRememberToken(id, decision === 'rotate' ? next : current, randomHash(), 0);
            assert.equal(after?.status ?? null, decision === 'rotate' || decision === 'grace' ? 'valid' : null, 'the series after');
          }));
      }
    });
  });
}
