/**
 * The app's user, as the request path asks for it: `loadUser` then `isActive`, with the user
 * loaded for a session reused from the session cache when it is on. A failing loader is the user
 * source being down: the request is denied with a 503, never answered as anonymous (SEC-67).
 *
 * @module load-user
 */
import type { Core } from './core.ts';
import { LatchkeyError, StoreUnavailableError } from './errors.ts';

/**
 * What a failing `loadUser` or `requestLoader` becomes: a `StoreUnavailableError` (a 503)
 * keeping the app's error as `cause`. The user's source is down, so the request is denied, never
 * answered as anonymous nor left to the framework's 500 (SEC-67, ASVS 16.5.3). Latchkey's own
 * coded errors (a user store's) pass through.
 */
export function loaderFailed(name: string, error: unknown): LatchkeyError {
  return error instanceof LatchkeyError ? error : new StoreUnavailableError(`${name}() failed`, { cause: error });
}

/** `loadUser` and `isActive`: the user, or null; with `sessionCache`, the user loaded for `sessionId` is reused. */
export async function loadActiveUser<U, R>(core: Core<U, R>, userId: string, sessionId?: string): Promise<U | null> {
  const { loadUser, isActive } = core.options;
  if (!loadUser) return null;
  const cached = sessionId === undefined ? undefined : core.sessionCache?.get(sessionId);
  let user = cached?.user;
  if (user === undefined) {
    try {
      user = (await loadUser(userId)) ?? null;
    } catch (error) {
      throw loaderFailed('loadUser', error);
    }
    // An entry dropped meanwhile (logout, deactivation) is detached: writing to it is harmless.
    if (cached !== undefined) cached.user = user;
  }
  return user !== null && isActive(user) ? user : null;
}
