/**
 * A clock that tests move by hand, shared by the conformance suites: stores take it as their
 * `now`, and every test starts from the same fixed instant.
 *
 * @module test/support/clock
 */

export interface TestClock {
  readonly now: () => number;
  advance(ms: number): void;
}

/** A clock at `start` (ms since the epoch) that only `advance` moves. */
export function makeClock(start: number): TestClock {
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      time += ms;
    },
  };
}

/** Runs `test` on a store made for a fresh clock at `start`, and always cleans the store up. */
export async function withClockedStore<S>(
  makeStore: (clock: TestClock) => Promise<{ store: S; cleanup: () => Promise<void> }>,
  start: number,
  test: (store: S, clock: TestClock) => Promise<void>,
): Promise<void> {
  const clock = makeClock(start);
  const { store, cleanup } = await makeStore(clock);
  try {
    await test(store, clock);
  } finally {
    await cleanup();
  }
}
