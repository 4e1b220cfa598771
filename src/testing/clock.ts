/**
 * A clock that tests move by hand: time moves only when a test says so. Stores, the
 * manager and the throttle take its `now`; nothing else moves it, so expiry boundaries can be
 * tested to the millisecond. The conformance suites give every test a fresh one at a fixed
 * instant.
 *
 * @module testing/clock
 */

/** A clock that only {@link TestClock.advance} moves. */
export interface TestClock {
  /** The current time in ms since the epoch: pass it as a store's or the manager's `now`. */
  readonly now: () => number;
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void;
}

/**
 * A clock at `start` (ms since the epoch) that only `advance` moves.
 *
 * @example
 * ```ts
 * import { createTestClock, MemoryStore } from 'latchkey/testing';
 *
 * const clock = createTestClock(Date.UTC(2030, 0, 1));
 * const store = new MemoryStore({ now: clock.now });
 * clock.advance(30 * 60_000); // half an hour later, without waiting
 * ```
 */
export function createTestClock(start: number): TestClock {
  if (!Number.isFinite(start)) throw new TypeError('createTestClock: start must be a finite number of ms since the epoch');
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new TypeError('TestClock.advance: ms must be a finite number ≥ 0 (a clock never runs backwards)');
      time += ms;
    },
  };
}
