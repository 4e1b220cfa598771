/**
 * The storage contract. A store keeps two kinds of record: sessions and remember-me tokens, both
 * keyed by a random public id and holding only the SHA-256 of the secret half of their token
 * (SEC-21, SEC-36). Every method is `async`; `null` means absent; a failing backend
 * rejects (the manager wraps the rejection in a coded {@link StoreUnavailableError}).
 *
 * **Time is the store's.** Callers pass durations, never timestamps of their own, and the store
 * decides expiry with its own clock (the database's, for a networked store), so that app instances
 * with skewed clocks agree on when a session ends. The one timestamp a caller
 * hands back is a rotated session's inherited times ({@link NewSession.authenticatedAt}), which
 * the store stamped itself. Every store accepts a `now` option so
 * that tests can move that clock. A record is valid while `now < expiresAt`: expiry is inclusive at
 * the boundary (SEC-29).
 *
 * Only live (unexpired) records count: a delete of an expired record removes it but answers
 * false or does not count it, as a TTL-based store (Redis) naturally does. A touch never moves
 * `lastSeenAt` or `expiresAt` backwards, nor `expiresAt` past `absoluteExpiresAt`.
 *
 * One conformance suite (`describeStoreConformance` in `latchkey/testing`) runs unchanged against every implementation.
 * Stores that sweep expired rows in the background must let tests turn the sweep off: per-test
 * clocks on a shared server would let one test's sweep delete another's rows.
 *
 * @module store
 */
import { checkAuthMethods } from './auth-methods.ts';

/** What the manager asks a store to create at login. */
export interface NewSession {
  /** Public half of the session token: 16 random bytes, base64url (22 characters). */
  readonly id: string;
  /** base64url SHA-256 of the secret half (32 random bytes). The raw secret is never stored. */
  readonly secretHash: string;
  readonly userId: string;
  /** True when the user typed a password for this session (Flask-Login's `_fresh`). */
  readonly fresh: boolean;
  /** The remember-me series this session was born from or created with, so logout can end it. */
  readonly rememberSeries: string | null;
  /** Session-protection fingerprint (a hash of the User-Agent), or null. */
  readonly identifier: string | null;
  /** For the user's list of sessions: the User-Agent (truncated) and client IP at login. */
  readonly userAgent: string | null;
  readonly ipAddress: string | null;
  /** Milliseconds of inactivity after which the session ends (ASVS 7.3.1). */
  readonly idleTimeout: number;
  /** Milliseconds after creation after which the session ends whatever the activity (ASVS 7.3.2). */
  readonly absoluteTimeout: number;
  /**
   * For a session that replaces another of the same login (a rotation, "log out other sessions"):
   * the replaced session's `authenticatedAt`, which the store keeps instead of stamping now, so that
   * a rotation never makes a login fresh again (SEC-35). Absent for a new login.
   */
  readonly authenticatedAt?: number;
  /**
   * With {@link authenticatedAt}: the replaced session's `absoluteExpiresAt`, which the store keeps
   * (capped at now + absoluteTimeout) instead of starting the absolute timeout again, so that no
   * rotation extends a login (SEC-29, ASVS 7.3.2). Both come from the store's own clock: no skew.
   */
  readonly absoluteExpiresAt?: number;
  /**
   * How the user authenticated (RFC 8176-like: `pwd`, `otp`…; module auth-methods), kept as given;
   * a rotation passes the replaced session's (SEC-84). Absent means none. @default []
   */
  readonly methods?: readonly string[];
}

/** The times a store sets on a new session, on its own clock. */
export interface SessionTimes {
  readonly createdAt: number;
  readonly authenticatedAt: number;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
}

/**
 * Misuse of a {@link NewSession}'s optional fields throws TypeError: the inherited times, each,
 * when present, integer ms since the epoch, come together (a rotation inherits both); `methods`,
 * when present, is a list of valid methods (auth-methods).
 */
export function checkNewSession(session: NewSession): void {
  if (session.methods !== undefined) checkAuthMethods('methods', session.methods);
  const { authenticatedAt, absoluteExpiresAt } = session;
  if ((authenticatedAt === undefined) !== (absoluteExpiresAt === undefined)) {
    throw new TypeError('authenticatedAt and absoluteExpiresAt are inherited together');
  }
  for (const [name, value] of [['authenticatedAt', authenticatedAt], ['absoluteExpiresAt', absoluteExpiresAt]] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) throw new TypeError(`${name} must be integer ms since the epoch`);
  }
}

/**
 * The times of a new session for a store that reads its clock in JavaScript: created now,
 * authenticated now unless inherited, absolutely expiring at now + absoluteTimeout or at the
 * inherited absolute expiry if sooner, and idly at now + idleTimeout if sooner still.
 */
export function newSessionTimes(session: NewSession, now: number): SessionTimes {
  const absoluteExpiresAt = Math.min(now + session.absoluteTimeout, session.absoluteExpiresAt ?? Infinity);
  return {
    createdAt: now,
    authenticatedAt: session.authenticatedAt ?? now,
    expiresAt: Math.min(now + session.idleTimeout, absoluteExpiresAt),
    absoluteExpiresAt,
  };
}

/** The {@link Session} a store returns for a {@link NewSession} it has just written (last seen = created). */
export function createdSession(session: NewSession, times: SessionTimes): Session {
  return Object.freeze({
    id: session.id,
    secretHash: session.secretHash,
    userId: session.userId,
    fresh: session.fresh,
    rememberSeries: session.rememberSeries,
    identifier: session.identifier,
    userAgent: session.userAgent,
    ipAddress: session.ipAddress,
    createdAt: times.createdAt,
    authenticatedAt: times.authenticatedAt,
    lastSeenAt: times.createdAt,
    expiresAt: times.expiresAt,
    absoluteExpiresAt: times.absoluteExpiresAt,
    methods: Object.freeze([...(session.methods ?? [])]),
  });
}

/** A stored session, as a store returns it. Timestamps are milliseconds since the epoch, store clock. */
export interface Session {
  readonly id: string;
  readonly secretHash: string;
  readonly userId: string;
  readonly fresh: boolean;
  readonly rememberSeries: string | null;
  readonly identifier: string | null;
  readonly userAgent: string | null;
  readonly ipAddress: string | null;
  /** When this session (this token) was created: at login, and again at every rotation. */
  readonly createdAt: number;
  /**
   * When the user last authenticated for this login: the login or `confirmLogin` that started it,
   * kept across rotations. Freshness counts from it (SEC-35).
   */
  readonly authenticatedAt: number;
  /**
   * The last time the sliding expiry was written: not on every request, but once a tenth of the idle
   * timeout has passed (at most once a minute), so a session ends between 0.9 × idleTimeout and
   * idleTimeout after its last request.
   */
  readonly lastSeenAt: number;
  /** `min(lastSeenAt + idleTimeout, absoluteExpiresAt)`. */
  readonly expiresAt: number;
  /** When the login began + absoluteTimeout: no touch moves it, a rotation inherits it (SEC-29). */
  readonly absoluteExpiresAt: number;
  /** How the user authenticated for this login (SEC-84), as given at creation; [] for none. */
  readonly methods: readonly string[];
}

/** A partial update of a live session. Absent fields are left alone. */
export interface SessionUpdate {
  /**
   * Touch: `lastSeenAt = now`, `expiresAt = min(now + idleTimeout, absoluteExpiresAt)`. Without it,
   * neither timestamp changes.
   */
  readonly idleTimeout?: number;
  readonly fresh?: boolean;
  readonly identifier?: string | null;
}

/** What the manager asks a store to create when a user logs in with "remember me". */
export interface NewRememberToken {
  /** Public half of the remember cookie: 16 random bytes, base64url. */
  readonly series: string;
  /** base64url SHA-256 of the validator (32 random bytes). */
  readonly validatorHash: string;
  readonly userId: string;
  /** Milliseconds the series lives, counted from now; rotation never extends it (SEC-36). */
  readonly lifetime: number;
}

/**
 * The outcome of presenting a remember cookie (Jaspan's "improved persistent login"):
 * - `valid`: the validator was current; the store has replaced it by the next one, atomically,
 *   and kept the old hash as `previous` for the grace window.
 * - `grace`: the validator is the one replaced less than `grace` ms ago (a parallel request of the
 *   same browser, SEC-39); nothing changed.
 * - `stolen`: the series exists but the validator is neither: someone replayed an old cookie
 *   (SEC-38). The store has deleted the series; the manager ends everything else of that user.
 *
 * Unknown and expired series give `null` (an expired one is deleted).
 */
export type RememberUse =
  | { readonly status: 'valid'; readonly userId: string; readonly expiresAt: number }
  | { readonly status: 'grace'; readonly userId: string; readonly expiresAt: number }
  | { readonly status: 'stolen'; readonly userId: string };

/** Sessions: six methods. */
export interface SessionStore {
  /**
   * Inserts a session; the store stamps `createdAt`, `lastSeenAt`, `authenticatedAt` and both
   * expiries, keeping the inherited `authenticatedAt` and `absoluteExpiresAt` when given.
   */
  createSession(session: NewSession): Promise<Session>;
  /** The unexpired session with this id, else null. An expired one is deleted as it is found. */
  getSession(id: string): Promise<Session | null>;
  /**
   * Updates a session that still exists and has not expired, and returns it; returns null and
   * creates nothing otherwise, so a request that loaded a session before a concurrent logout
   * cannot bring it back (no resurrection, SEC-34).
   */
  updateSession(id: string, update: SessionUpdate): Promise<Session | null>;
  /** Deletes a session; true if it existed. */
  deleteSession(id: string): Promise<boolean>;
  /** The user's unexpired sessions, most recently created first. */
  listUserSessions(userId: string): Promise<Session[]>;
  /** Deletes every session of the user except `exceptId`; returns how many it deleted. */
  deleteUserSessions(userId: string, exceptId?: string): Promise<number>;
}

/** Remember-me tokens: four methods. */
export interface RememberStore {
  /** Inserts a series; returns its expiry on the store's clock. */
  createRememberToken(token: NewRememberToken): Promise<{ expiresAt: number }>;
  /**
   * Checks `validatorHash` against the series and, when it is current, rotates it to
   * `nextValidatorHash` in one atomic step (two racing requests never both get `valid`, R-05).
   * `grace` is the window in ms during which the previous validator still counts: while
   * `now < rotatedAt + grace`.
   */
  useRememberToken(
    series: string,
    validatorHash: string,
    nextValidatorHash: string,
    grace: number,
  ): Promise<RememberUse | null>;
  /** Deletes a series; true if it existed. */
  deleteRememberToken(series: string): Promise<boolean>;
  /**
   * Deletes every series of the user except `exceptSeries` (the one of the browser that logs out
   * its other sessions, SEC-32); returns how many it deleted.
   */
  deleteUserRememberTokens(userId: string, exceptSeries?: string): Promise<number>;
}

/** What a login manager needs: both halves, plus optional health and shutdown hooks. */
export interface Store extends SessionStore, RememberStore {
  /** Resolves when the backend answers; used by health checks. */
  ping?(): Promise<void>;
  /** Releases connections, timers and file handles. */
  close?(): Promise<void>;
}
