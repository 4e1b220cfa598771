/**
 * The throttle's failure counters ({@link CounterStore}) on `PostgresStore`'s prepared statements,
 * one function per operation. Each checks its arguments and returns the work that the store runs
 * after its migration, on its clock, inside its error handling (misuse stays a `TypeError`). Every
 * increment and forgiveness is one statement, atomic under the row lock, so none is lost across
 * instances (R-05, R-07); a counter is valid while `now < expiresAt` (SEC-29).
 *
 * @module postgres/counters
 */
import type { CounterState, CounterStore } from '../counter-store.ts';
import { requireMs } from '../duration.ts';
import { requireString } from '../lib/store-kit.ts';
import { toMs } from './pool.ts';
import type { Row } from './pool.ts';
import type { Query } from './prepared.ts';
import type { Sql } from './schema.ts';

/** What `PostgresStore` runs: a bound query in, a result out. */
type Work<T> = (query: Query) => Promise<T>;

/** A counter row as {@link CounterState}, frozen. */
function toCounter(row: Row): CounterState {
  return Object.freeze({ count: Number(row.count), firstAt: toMs(row.first_at), lastAt: toMs(row.last_at) });
}

/** {@link CounterStore.recordFailure}: one `INSERT … ON CONFLICT DO UPDATE … RETURNING`, never losing a concurrent failure. */
export function recordFailure(sql: Sql, key: string, ttl: number): Work<CounterState> {
  requireString('key', key);
  requireMs('ttl', ttl, 1);
  return async (query) => toCounter((await query(sql.recordFailure, [key, ttl]))[0] as Row);
}

/** {@link CounterStore.forgiveFailure}: one UPDATE that never goes below 0; a counter at 0 is deleted. */
export function forgiveFailure(sql: Sql, key: string): Work<CounterState | null> {
  requireString('key', key);
  return async (query) => {
    const [row] = await query(sql.forgiveFailure, [key]);
    if (row === undefined) return null;
    const counter = toCounter(row);
    if (counter.count > 0) return counter;
    await query(sql.deleteForgivenCounter, [key]);
    return null;
  };
}

/** {@link CounterStore.getCounter}: an expired counter reads as absent and is deleted as it is found. */
export function getCounter(sql: Sql, key: string): Work<CounterState | null> {
  requireString('key', key);
  return async (query) => {
    const [row] = await query(sql.selectCounter, [key]);
    if (row === undefined) return null;
    if (row.live === true) return toCounter(row);
    await query(sql.deleteCounterIfExpired, [key]);
    return null;
  };
}

/** {@link CounterStore.clearCounter}. */
export function clearCounter(sql: Sql, key: string): Work<void> {
  requireString('key', key);
  return async (query) => void (await query(sql.deleteCounter, [key]));
}
