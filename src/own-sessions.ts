/**
 * The logged-in user's own sessions, as an account page shows them: this one, the list, with this browser's
 * marked `current`, and revoking one of them by id ("log out that device", SEC-32). Only the
 * user's own sessions: an id of another user's session ends nothing.
 *
 * @module own-sessions
 */
import { endOwnedSession } from './browser-session.ts';
import type { Core, RequestFacts } from './core.ts';
import type { CurrentUser } from './current-user.ts';
import { toSessionInfo, type SessionInfo } from './session-info.ts';

/** `RequestAuth.session`: this browser's session, or null. */
export async function currentSessionInfo<U, R>(current: CurrentUser<U, R>): Promise<SessionInfo | null> {
  const { session, user } = await current.resolve();
  return session && user ? toSessionInfo(session, session.id) : null;
}

/** `RequestAuth.listSessions`: the user's live sessions, this one marked `current`; none for nobody. */
export async function listOwnSessions<U, R>(core: Core<U, R>, current: CurrentUser<U, R>): Promise<SessionInfo[]> {
  const { session } = await current.resolve();
  if (!session) return [];
  const sessions = await core.store.listUserSessions(session.userId);
  return sessions.map((s) => toSessionInfo(s, session.id));
}

/**
 * `RequestAuth.revokeSession`: ends one of the logged-in user's sessions by id; this browser's own
 * through `logout` (its cookies go too). False if it is not theirs or gone.
 */
export async function revokeOwnSession<U, R>(
  core: Core<U, R>,
  auth: RequestFacts,
  current: CurrentUser<U, R>,
  sessionId: string,
  logout: () => Promise<unknown>,
): Promise<boolean> {
  const { session } = await current.resolve();
  if (!session) return false;
  if (sessionId === session.id) {
    await logout();
    return true;
  }
  const ended = await endOwnedSession(core.store, session.userId, sessionId);
  if (ended) core.events.emit('sessionRevoked', { request: auth.request, userId: session.userId, scope: 'one', sessionId, sessions: 1 });
  return ended;
}
