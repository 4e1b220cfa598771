/**
 * Wraps a store (sessions, counters, users, tokens, second factors) so that every call either answers within `timeout` ms or fails with a coded
 * {@link StoreTimeoutError}, and any rejection becomes a {@link StoreUnavailableError} that keeps
 * the driver's error as `cause`. A slow or dead backend therefore surfaces as a 503, never as a
 * hung request or an anonymous user (R-01, R-03; express-session `storeReady`,
 * connect-redis #373/#400).
 *
 * Deadlines are enforced by one watchdog timer per wrapped store, ticking every timeout/10 while
 * calls are pending, rather than a timer per call: a store call is on every authenticated request,
 * and arming and clearing a timer each time was a measurable share of it.
 *
 * @module lib/guarded-store
 */
import { StoreTimeoutError } from '../errors.ts';
import type { Store } from '../store.ts';
import { storeFailure } from './store-kit.ts';

interface Pending {
  readonly call: string;
  readonly deadline: number;
  readonly reject: (error: unknown) => void;
}

/** Runs store calls with a deadline and coded errors: `guard('getSession', () => store.getSession(id))`. */
export type DeadlineGuard = <T>(call: string, run: () => Promise<T>) => Promise<T>;

/**
 * A guard whose calls each answer within `timeout` ms or reject with {@link StoreTimeoutError},
 * and whose rejections become {@link StoreUnavailableError} (TypeErrors and latchkey's own coded
 * errors pass through). `label` names the caller in messages.
 */
export function createDeadlineGuard(timeout: number, label = 'store'): DeadlineGuard {
  const pending = new Set<Pending>();
  const tick = Math.max(5, Math.min(1000, Math.floor(timeout / 10)));
  let watchdog: ReturnType<typeof setInterval> | null = null;

  const check = () => {
    const now = performance.now();
    for (const entry of pending) {
      if (now >= entry.deadline) {
        pending.delete(entry);
        entry.reject(new StoreTimeoutError(`${label}.${entry.call}() did not answer within ${timeout} ms`));
      }
    }
    if (pending.size === 0 && watchdog !== null) {
      clearInterval(watchdog);
      watchdog = null;
    }
  };

  return <T>(call: string, run: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const entry: Pending = { call, deadline: performance.now() + timeout, reject };
      pending.add(entry);
      if (watchdog === null) {
        watchdog = setInterval(check, tick);
        watchdog.unref(); // a pending store call must not keep the process alive
      }
      let operation: Promise<T>;
      try {
        operation = run();
      } catch (error) {
        operation = Promise.reject(error);
      }
      operation.then(
        (value) => {
          pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          pending.delete(entry);
          reject(storeFailure(label, call, error));
        },
      );
    });
}

/** The same store, with a deadline and coded errors on every call. */
export function guardStore(store: Store, timeout: number): Required<Omit<Store, 'close'>> {
  const guard = createDeadlineGuard(timeout);
  return Object.freeze({
    createSession: (s) => guard('createSession', () => store.createSession(s)),
    getSession: (id) => guard('getSession', () => store.getSession(id)),
    updateSession: (id, u) => guard('updateSession', () => store.updateSession(id, u)),
    deleteSession: (id) => guard('deleteSession', () => store.deleteSession(id)),
    listUserSessions: (u) => guard('listUserSessions', () => store.listUserSessions(u)),
    deleteUserSessions: (u, e) => guard('deleteUserSessions', () => store.deleteUserSessions(u, e)),
    createRememberToken: (t) => guard('createRememberToken', () => store.createRememberToken(t)),
    useRememberToken: (s, v, n, g) => guard('useRememberToken', () => store.useRememberToken(s, v, n, g)),
    deleteRememberToken: (s) => guard('deleteRememberToken', () => store.deleteRememberToken(s)),
    deleteUserRememberTokens: (u, e) => guard('deleteUserRememberTokens', () => store.deleteUserRememberTokens(u, e)),
    ping: () => guard('ping', () => (store.ping ? store.ping() : Promise.resolve())),
  } satisfies Required<Omit<Store, 'close'>>);
}

/**
 * `target` with each of `methods` behind one deadline guard (a deadline and coded errors on every
 * call, as {@link guardStore}), for the stores that are off the authenticated hot path: the
 * accounts' users and second factors, the manager's one-time tokens. `label` names them in messages.
 */
export function guardCalls<T extends object>(target: T, methods: readonly (keyof T & string)[], timeout: number, label: string): T {
  const guard = createDeadlineGuard(timeout, label);
  const guarded: Record<string, unknown> = {};
  for (const name of methods) {
    // Looked up at each call, as a direct call would: a store may be a Proxy or replace a method.
    guarded[name] = (...args: unknown[]) => guard(name, () => (target[name] as (...args: unknown[]) => Promise<unknown>).apply(target, args));
  }
  return Object.freeze(guarded) as T;
}
