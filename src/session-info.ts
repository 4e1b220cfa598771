/**
 * What an account page or an admin page may show of a session (SEC-32: created, last seen, device):
 * never the secret's hash or the remember-me series, only whether the session was remembered. The
 * user's own list and the manager's admin list are both built by {@link toSessionInfo}, so the two
 * cannot drift apart.
 *
 * @module session-info
 */
import type { Session } from './store.ts';

/** A session of the user's, as shown in an account page (no secret material). */
export interface SessionInfo {
  readonly id: string;
  /** True for the session of the request that asked. */
  readonly current: boolean;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly userAgent: string | null;
  readonly ipAddress: string | null;
  readonly fresh: boolean;
  readonly remembered: boolean;
  /** How the user authenticated for this login, RFC 8176-like (`pwd`, `otp`…); [] for a remember-me restore (SEC-84). */
  readonly methods: readonly string[];
}

/** Turns a stored session into what an account page may show. */
export function toSessionInfo(session: Session, currentId: string | null): SessionInfo {
  return Object.freeze({
    id: session.id,
    current: session.id === currentId,
    createdAt: session.createdAt,
    lastSeenAt: session.lastSeenAt,
    expiresAt: session.expiresAt,
    userAgent: session.userAgent,
    ipAddress: session.ipAddress,
    fresh: session.fresh,
    remembered: session.rememberSeries !== null,
    methods: session.methods,
  });
}
