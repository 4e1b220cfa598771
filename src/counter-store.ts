/**
 * The storage contract of the login throttle (SEC-51, SEC-53): named counters of
 * consecutive failures that expire on their own. Four `async` methods; `null` means absent; a
 * failing backend rejects with a coded {@link StoreUnavailableError}, which the throttle passes on
 * so that the caller answers 503 rather than letting the attempt through unthrottled (SEC-55, R-01).
 *
 * **Time is the store's,** as in {@link Store}: callers pass a time-to-live in ms, never a
 * timestamp, and the store stamps `firstAt`, `lastAt` and the expiry with its own clock (the
 * database's for a networked store, the server's TTL for Redis; R-08). Every store accepts a `now`
 * option so that tests can move that clock. A counter is valid while `now < expiresAt`: at exactly
 * `expiresAt` it has expired (inclusive boundary, as SEC-29 for sessions). An expired counter reads
 * as absent, and the next failure starts a new one at 1, as a Redis key whose TTL ran out does.
 *
 * **Atomic increments.** `recordFailure` is one atomic read-modify-write, across processes and
 * instances: an SQL `INSERT … ON CONFLICT DO UPDATE … RETURNING`, a Redis Lua script or `MULTI`
 * of `INCR` and `PEXPIRE`. Parallel failures are never lost, so the counter never under-counts
 * and every call gets a distinct count back. The store must not evict live counters
 * (Redis `maxmemory-policy noeviction`, R-10): a lost counter silently lifts a lock.
 *
 * **Keys are opaque.** The throttle chooses them and passes keyed hashes (HMAC-SHA-256 under the
 * app's secret, with a purpose prefix), never a raw email address or IP address, so the store
 * holds nothing that identifies a person or a client (SEC-69). Stores must accept any string.
 *
 * The conformance suite `describeCounterStoreConformance` (`latchkey/testing`) runs unchanged against every implementation.
 *
 * @module counter-store
 */

/**
 * A live counter, as a store returns it: a snapshot that later failures do not change.
 * Timestamps are milliseconds since the epoch on the store's clock.
 */
export interface CounterState {
  /** Failures recorded since the counter was created (≥ 1). */
  readonly count: number;
  /** When the first of them was recorded: the counter's creation. */
  readonly firstAt: number;
  /** When the latest was recorded; the throttle counts delays from here. */
  readonly lastAt: number;
}

/** Failure counters for throttling: four methods, atomic, expiring on the store's clock. */
export interface CounterStore {
  /**
   * Adds one failure to `key` and returns the counter after it, in one atomic step: a counter that
   * is absent or expired (`now ≥ expiresAt`) starts again at `{ count: 1, firstAt: now,
   * lastAt: now }`; a live one gets `count + 1` and `lastAt = now`. Either way the expiry becomes
   * `now + ttl` (sliding: each failure extends the counter's life). Neither `lastAt` nor the expiry
   * ever moves backwards, should the clock step back.
   *
   * @param ttl milliseconds, a positive safe integer; anything else throws `TypeError` (misuse).
   */
  recordFailure(key: string, ttl: number): Promise<CounterState>;
  /**
   * Takes one failure back from a live counter, in one atomic step, and returns the counter after
   * it; a counter that reaches 0 is deleted (it reads as absent, and the next failure starts at 1).
   * `lastAt` and the expiry stay as they are. An absent or expired counter is left alone (null): a
   * count never goes below zero. The throttle counts a login attempt against its IP before the
   * password is hashed, so that a burst cannot overshoot the cap (finding 4, SEC-12), and gives the
   * attempt back when the password was right, so that successes from a shared address do not use
   * the cap up.
   */
  forgiveFailure(key: string): Promise<CounterState | null>;
  /** The live counter of `key`, or null when it is absent or expired (an expired one may be deleted as it is found). */
  getCounter(key: string): Promise<CounterState | null>;
  /** Deletes the counter of `key`, live or not; resolves the same when there is none. */
  clearCounter(key: string): Promise<void>;
}
