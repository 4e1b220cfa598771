/**
 * **FOR TESTS ONLY.** The throttle's failure counters of {@link MemoryStore}: one process's Map,
 * so a throttle on it does not limit attempts spread over several instances.
 * Each operation runs to completion without an `await`, which is what makes it atomic here,
 * and decides with the time the store hands it: valid while `now < expiresAt` (SEC-29), a sliding
 * expiry that, like `lastAt`, never moves backwards, as the {@link CounterStore} contract says.
 *
 * @module testing/memory-counters
 */
import type { CounterState, CounterStore } from '../counter-store.ts';

/** The stored state of a failure counter; handed out only as a frozen {@link CounterState} copy. */
interface CounterRecord {
  count: number;
  readonly firstAt: number;
  lastAt: number;
  expiresAt: number;
}

/** The counters, by key; the store checks arguments and reads its clock before each call. */
export class MemoryCounters {
  readonly #counters = new Map<string, CounterRecord>();

  /** {@link CounterStore.recordFailure} at `now`. */
  record(key: string, ttl: number, now: number): CounterState {
    const record = this.#live(key, now);
    if (record === null) {
      const created: CounterRecord = { count: 1, firstAt: now, lastAt: now, expiresAt: now + ttl };
      this.#counters.set(key, created);
      return toCounterState(created);
    }
    // Sliding expiry that never moves backwards, nor lastAt, should the clock step back.
    record.count += 1;
    record.lastAt = Math.max(record.lastAt, now);
    record.expiresAt = Math.max(record.expiresAt, now + ttl);
    return toCounterState(record);
  }

  /** {@link CounterStore.forgiveFailure} at `now`. */
  forgive(key: string, now: number): CounterState | null {
    const record = this.#live(key, now);
    if (record === null) return null;
    record.count -= 1;
    if (record.count > 0) return toCounterState(record);
    this.#counters.delete(key);
    return null;
  }

  /** {@link CounterStore.getCounter} at `now`. */
  get(key: string, now: number): CounterState | null {
    const record = this.#live(key, now);
    return record === null ? null : toCounterState(record);
  }

  /** {@link CounterStore.clearCounter}. */
  delete(key: string): void {
    this.#counters.delete(key);
  }

  /** Forgets every counter (the store's close). */
  clear(): void {
    this.#counters.clear();
  }

  /** The counter while `now < expiresAt`; an expired one is deleted as it is found. */
  #live(key: string, now: number): CounterRecord | null {
    const record = this.#counters.get(key);
    if (record === undefined) return null;
    if (now < record.expiresAt) return record;
    this.#counters.delete(key);
    return null;
  }
}

function toCounterState(record: CounterRecord): CounterState {
  return Object.freeze({ count: record.count, firstAt: record.firstAt, lastAt: record.lastAt });
}
