/**
 * The pending second step as the app reaches it (SECOND_STEP_API.md, issue 14): after a correct
 * password for an account with a second factor the browser holds a pending step, which is not a
 * login (SEC-80), until a right code completes it; and the app's own count of wrong codes per
 * pending step, which ends the step at the fifth (SEC-79), on top of the accounts' per-account
 * delays. The count is keyed by a keyed hash of the pending cookie, so each pending step has its
 * own and no raw token reaches the counter store (STYLE.md).
 *
 * @module app/second-step
 */
import { readCookies, type CounterStore, type UserRecord } from 'latchkey';
import { keyedHasher } from './keyed-hash.ts';
import type { AppContext } from './types.ts';

/** The library's pending-step methods on `c.var.auth`, exactly as SECOND_STEP_API.md names them. */
export interface SecondStepAuth {
  beginSecondStep(user: UserRecord, options?: { remember?: boolean; next?: string | null }): Promise<boolean>;
  pendingSecondStep(): Promise<{ userId: string; remember: boolean; next: string | null } | null>;
  completeSecondStep(user: UserRecord): Promise<boolean>;
  cancelSecondStep(): Promise<void>;
}

/** The pending-step methods of this request's auth. */
export function secondStep(c: AppContext): SecondStepAuth {
  // MERGE (issue 14): the methods land in src/ in parallel (helper P1); once merged, return
  // `c.var.auth` without the cast and drop SecondStepAuth for the library's own types.
  return c.var.auth as unknown as SecondStepAuth;
}

/** Wrong codes one pending step takes; the fifth ends it and the user logs in again (SEC-79). */
export const MAX_CODE_FAILURES = 5;
/** The counter outlives any pending step: `secondStepTimeout` is at most 15 minutes. */
const FAILURE_TTL = 15 * 60_000;
/** The library's pending-step cookie (SECOND_STEP_API.md), `__Host-` over HTTPS. */
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
    const name = c.var.auth.secure ? `__Host-${PENDING_COOKIE}` : PENDING_COOKIE;
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
