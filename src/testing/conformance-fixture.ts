/**
 * What the three conformance suites ask of a store's author, and how they hold it: a factory that
 * makes a fresh store for each test, and the cleanup that runs after that test, passed or failed.
 * Shared here so that the suites check their arguments the same way and stay one line each about
 * the store they run against.
 *
 * @module testing/conformance-fixture
 */
import { createTestClock, type TestClock } from './clock.ts';

/** A store made for one conformance test, and how to dispose of it afterwards. */
export interface StoreUnderTest<S> {
  /** The store the test runs against. */
  readonly store: S;
  /** Closes the store and drops what the test wrote (a schema, a key prefix, a file). @default nothing */
  readonly cleanup?: () => void | Promise<void>;
}

/**
 * Options of `describeStoreConformance` and `describeCounterStoreConformance`.
 *
 * @typeParam S the contract under test: `Store` or `CounterStore`
 */
export interface ConformanceOptions<S> {
  /**
   * Makes a fresh store for one test. The store must read the time from `clock.now` (its `now`
   * option): the tests move that clock by hand to cross expiry boundaries to the millisecond.
   * Turn background sweeps off: the tests run with clocks of their own, and one test's sweep
   * would delete another's rows on a shared server.
   */
  readonly makeStore: (clock: TestClock) => Promise<StoreUnderTest<S>>;
}

/** Throws TypeError unless `name` is a non-empty string and `options.makeStore` a function. */
export function checkSuiteArguments(suite: string, name: unknown, options: unknown): void {
  if (typeof name !== 'string' || name === '') throw new TypeError(`${suite}: name must be a non-empty string`);
  if (typeof (options as { makeStore?: unknown } | null)?.makeStore !== 'function') {
    throw new TypeError(`${suite}: options.makeStore must be a function that makes a fresh store`);
  }
}

/** Runs `test` on a store made for a fresh clock at `start`, and always cleans the store up. */
export async function withClockedStore<S>(
  makeStore: ConformanceOptions<S>['makeStore'],
  start: number,
  test: (store: S, clock: TestClock) => Promise<void>,
): Promise<void> {
  const clock = createTestClock(start);
  const { store, cleanup } = await makeStore(clock);
  try {
    await test(store, clock);
  } finally {
    await cleanup?.();
  }
}
