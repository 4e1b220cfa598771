/**
 * Wraps a store so that every call either answers within `timeout` ms or fails with a coded
 * {@link StoreTimeoutError}, and any rejection becomes a {@link StoreUnavailableError} that keeps
 * the driver's error as `cause`. A slow or dead backend therefore surfaces as a 503, never as a
 * hung request or an anonymous user (security.md; express-session `storeReady`,
 * connect-redis #373/#400).
 *
 * @module lib/guarded-store
 */
import { LatchkeyError, StoreTimeoutError, StoreUnavailableError } from '../errors.ts';
import type { Store } from '../store.ts';

function guard<T>(call: string, timeout: number, run: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let operation: Promise<T>;
  try {
    operation = run();
  } catch (error) {
    operation = Promise.reject(error);
  }
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(`store.${call}() did not answer within ${timeout} ms`)), timeout);
  });
  return Promise.race([operation, deadline]).then(
    (value) => {
      clearTimeout(timer);
      return value;
    },
    (error: unknown) => {
      clearTimeout(timer);
      if (error instanceof LatchkeyError || error instanceof TypeError) throw error;
      throw new StoreUnavailableError(`store.${call}() failed`, { cause: error });
    },
  );
}

/** The same store, with a deadline and coded errors on every call. */
export function guardStore(store: Store, timeout: number): Required<Omit<Store, 'close'>> {
  return Object.freeze({
    createSession: (s) => guard('createSession', timeout, () => store.createSession(s)),
    getSession: (id) => guard('getSession', timeout, () => store.getSession(id)),
    updateSession: (id, u) => guard('updateSession', timeout, () => store.updateSession(id, u)),
    deleteSession: (id) => guard('deleteSession', timeout, () => store.deleteSession(id)),
    listUserSessions: (u) => guard('listUserSessions', timeout, () => store.listUserSessions(u)),
    deleteUserSessions: (u, e) => guard('deleteUserSessions', timeout, () => store.deleteUserSessions(u, e)),
    createRememberToken: (t) => guard('createRememberToken', timeout, () => store.createRememberToken(t)),
    useRememberToken: (s, v, n, g) => guard('useRememberToken', timeout, () => store.useRememberToken(s, v, n, g)),
    deleteRememberToken: (s) => guard('deleteRememberToken', timeout, () => store.deleteRememberToken(s)),
    deleteUserRememberTokens: (u) => guard('deleteUserRememberTokens', timeout, () => store.deleteUserRememberTokens(u)),
    ping: () => guard('ping', timeout, () => (store.ping ? store.ping() : Promise.resolve())),
  } satisfies Required<Omit<Store, 'close'>>);
}
