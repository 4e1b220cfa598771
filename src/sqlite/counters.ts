/**
 * The throttle's failure counters ({@link CounterStore}) on SQLite's statements, one function per
 * operation, each run by `SqliteStore` with its clock inside its error handling. Increments never
 * get lost across processes on the file: one upsert statement, or one `BEGIN
 * IMMEDIATE` transaction; a counter is valid while `now < expiresAt` (SEC-29).
 *
 * @module sqlite/counters
 */
import type { DatabaseSync } from 'node:sqlite';
import type { CounterState, CounterStore } from '../counter-store.ts';
import { transaction } from './schema.ts';
import type { Statements } from './schema.ts';

/** A counter row's public part, frozen: a snapshot that later failures do not change. */
function toCounter(row: Record<string, unknown>, count = row.count): CounterState {
  return Object.freeze({ count, firstAt: row.firstAt, lastAt: row.lastAt } as CounterState);
}

/**
 * {@link CounterStore.recordFailure}: one `INSERT … ON CONFLICT DO UPDATE … RETURNING`, a single
 * statement that takes SQLite's write lock before it reads, so each caller gets its own count back.
 */
export function recordFailure(st: Statements, key: string, ttl: number, now: number): CounterState {
  return toCounter(st.recordFailure.get({ key, now, expiresAt: now + ttl }) as Record<string, unknown>);
}

/** {@link CounterStore.forgiveFailure}: one write transaction, so the read and the decrement or delete are one step. */
export function forgiveFailure(db: DatabaseSync, st: Statements, key: string, now: number): CounterState | null {
  return transaction(db, (): CounterState | null => {
    const row = st.selectCounter.get({ key });
    if (row === undefined || now >= (row.expiresAt as number)) return null;
    if ((row.count as number) <= 1) {
      st.deleteCounter.run({ key });
      return null;
    }
    st.decrementCounter.run({ key });
    return toCounter(row, (row.count as number) - 1);
  });
}

/** {@link CounterStore.getCounter}: an expired counter reads as absent and is deleted as it is found. */
export function getCounter(st: Statements, key: string, now: number): CounterState | null {
  const row = st.selectCounter.get({ key });
  if (row === undefined) return null;
  if (now < (row.expiresAt as number)) return toCounter(row);
  st.deleteCounterIfExpired.run({ key, now });
  return null;
}
