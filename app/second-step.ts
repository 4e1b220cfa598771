/**
 * The app's own count of wrong codes per pending second step (`auth.beginSecondStep`: after a
 * correct password for an account with a second factor, a state that is not a login, SEC-80),
 * which ends the step at the fifth (SEC-79), on top of the accounts' per-account
 * delays. The count is keyed by a keyed hash of the pending cookie, so each pending step has its
 * own and no raw token reaches the counter store.
 *
 * @module app/second-step
 */
import { readCookies, type CounterStore } from 'latchkey';
import { keyedHasher } from './keyed-hash.ts';
import type { AppContext } from './types.ts';

/** Wrong codes one pending step takes; the fifth ends it and the user logs in again (SEC-79). */
export const MAX_CODE_FAILURES = 5;
/** The counter outlives any pending step: `secondStepTimeout` is at most 15 minutes. */
const FAILURE_TTL = 15 * 60_000;
/** The library's pending-step cookie, `__Host-` over HTTPS. */
const PENDING_COOKIE = 'lk-2fa';

export interface CodeFailures {
  /** Counts a wrong code of this browser's pending step; true when the step has had its last (SEC-79). */
  record(c: AppContext): Promise<boolean>;
  /** Forgets the count of this browser's pending step (it ended). */
  clear(c: AppContext): Promise<void>;
}

export function codeFailures(store: CounterStore, secret: string): CodeFailures {
  const hash = keyedHasher(secret);
  const keyOf = (c: AppContext): string | null => {
    const name = c.get('auth').secure ? `__Host-${PENDING_COOKIE}` : PENDING_COOKIE;
    const value = readCookies(c.req.header('cookie'), [name]).get(name);
    return value === undefined ? null : `2fa-step:${hash('second-step', value)}`;
  };
  return {
    async record(c) {
      const key = keyOf(c);
      // A live pending step always has its cookie; without one there is nothing left to end.
      if (key === null) return true;
      return (await store.recordFailure(key, FAILURE_TTL)).count >= MAX_CODE_FAILURES;
    },
    async clear(c) {
      const key = keyOf(c);
      if (key !== null) await store.clearCounter(key);
    },
  };
}
