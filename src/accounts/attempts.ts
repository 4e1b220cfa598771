/**
 * Password attempts, one at a time per throttle key: each attempt is reserved on the throttle
 * before any hashing (SEC-12, SEC-51) and settled after its verification, and the attempts on
 * one key in this process wait for each other, so that every one sees the failures before it.
 *
 * Throttle keys: `id:<user id>` for an existing account, `login:<canonical identifier>` for one
 * that matches none (the same thresholds either way, SEC-17), `session:<user id>:<session id>` for
 * the password re-entry of a logged-in owner (re-authentication, password change).
 *
 * @module accounts/attempts
 */
import type { FailureCounts, ThrottleReservation } from '../login-throttle.ts';
import type { AccountsCore } from './options.ts';
import type { Throttled } from './results.ts';

/** A reserved attempt: settle it with exactly one of `fail()` or `succeed()`. */
export type Reservation =
  | Extract<ThrottleReservation, { ok: true }>
  | { readonly ok: true; fail(): Promise<FailureCounts | null>; succeed(): Promise<{ readonly device: string | null }> };

/** Attempts on one account that may wait behind the one being verified. */
const MAX_QUEUED = 16;

/** What an attempt settles with when there is no throttle (`throttle: false`). */
const UNTHROTTLED: Reservation = Object.freeze({ ok: true as const, fail: async () => null, succeed: async () => ({ device: null }) });

/**
 * Clears the failed-login counter of an account, lifting its delay or lock (SEC-51, SEC-52): an
 * operator's `unlock`, and every password reset. False without a throttle.
 */
export async function clearAccountFailures(core: AccountsCore, userId: string): Promise<boolean> {
  if (core.throttle === null) return false;
  await core.throttle.recordSuccess({ account: `id:${userId}` });
  return true;
}

/** Reserves an attempt on the throttle (see {@link LoginThrottle.reserve}), or the throttled answer. */
export async function reserveAttempt(core: AccountsCore, key: string, login: string, ip: string | null, device: string | null): Promise<Reservation | Throttled> {
  if (core.throttle === null) return UNTHROTTLED;
  const attempt = await core.throttle.reserve({ account: key, ip, device });
  if (attempt.ok) return attempt;
  core.events.emit('throttled', { login, ip, scope: attempt.reason, retryAfter: attempt.retryAfter });
  return { ok: false, reason: 'throttled', retryAfter: attempt.retryAfter };
}

/**
 * Runs `attempt` after the earlier attempts on `key` in this process have finished: the throttle
 * counts an account failure after its verification, so parallel attempts would all pass its check
 * first. Queued, each attempt sees the failures before it (SEC-51: a burst of 200 wrong passwords
 * reaches the hasher a handful of times, then the throttle answers), in the order reserve → hash →
 * settle. A queue longer than {@link MAX_QUEUED} is refused at once, so one account cannot pile up
 * work.
 */
export async function serializeAttempt<T>(core: AccountsCore, key: string, login: string, ip: string | null, attempt: () => Promise<T | Throttled>): Promise<T | Throttled> {
  const queue = core.queues.get(key) ?? { tail: Promise.resolve(), length: 0 };
  if (queue.length >= MAX_QUEUED) {
    core.events.emit('throttled', { login, ip, scope: 'account', retryAfter: 1 });
    return { ok: false, reason: 'throttled', retryAfter: 1 };
  }
  const previous = queue.tail;
  let release!: () => void;
  queue.tail = new Promise<void>((resolve) => { release = resolve; });
  queue.length++;
  core.queues.set(key, queue);
  try {
    await previous;
    return await attempt();
  } finally {
    queue.length--;
    if (queue.length === 0) core.queues.delete(key);
    release();
  }
}
