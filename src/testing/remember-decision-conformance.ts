/**
 * The suite `the remember-me use decision` of the {@link Store} conformance suite: a table of
 * cases (the current validator, the previous one inside, at and after the grace window, an older
 * or never issued one, a series at its end, an unknown series), each asking the pure
 * `decideRememberUse` and then the store, which must answer as `rememberUseOf` says for that
 * decision and leave the series rotated, unchanged or deleted as the decision says (SEC-37,
 * SEC-38, SEC-39). The stores that decide in their own language (the Redis script) are held to the
 * one rule this way.
 *
 * @module testing/remember-decision-conformance
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decideRememberUse, rememberUseOf, type RememberDecision, type RememberSeriesState } from '../remember-decision.ts';
import type { Store } from '../store.ts';
import type { TestClock } from './clock.ts';
import { DAY, GRACE, HOUR, MINUTE, randomHash, randomId, SECOND, type WithStore } from './store-fixture.ts';

/** Registers one test per case of the remember-me use decision table, in the table's order. */
export function registerRememberDecisionTests(withStore: WithStore): void {
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
}
