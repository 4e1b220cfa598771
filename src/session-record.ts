/**
 * A session as the network stores send it back: one JSON array of its values, in
 * {@link SESSION_FIELDS} order, built by the server (PostgreSQL's `json_build_array`, a Redis
 * script's `HMGET` under `cjson.encode`). One string per session, or per batch of sessions, that
 * `JSON.parse` turns into values at once: the drivers' own decoding made a string, a property and
 * a type conversion per column, per session, on every authenticated request (bench/README.md,
 * bench:app-path). By position, so that no value is ever read as a field name.
 *
 * The two servers encode a value differently, and either form is read:
 * - times: a JSON number (PostgreSQL's bigint) or its decimal text (Redis), integer ms;
 * - `fresh`: `1`/`0` (PostgreSQL, `fresh::int`) or `'1'`/`'0'` (Redis);
 * - an absent value: `null` (PostgreSQL's NULL) or `false` (Redis's `HMGET` of a missing field).
 *
 * A record that is not a session (a required value missing, a time that is not an integer) is
 * refused, never read as half a session (R-03): the store turns the error into a coded failure.
 *
 * @module session-record
 */
import { parseAuthMethods } from './auth-methods.ts';
import type { Session } from './store.ts';

/** The session's values in the order every record holds them; Redis hashes use these names as fields. */
export const SESSION_FIELDS = Object.freeze([
  'id',
  'secretHash',
  'userId',
  'fresh',
  'rememberSeries',
  'identifier',
  'userAgent',
  'ipAddress',
  'createdAt',
  'authenticatedAt',
  'lastSeenAt',
  'expiresAt',
  'absoluteExpiresAt',
  'methods',
] as const);

/** Where `expiresAt` and `userId` are in a record, for the scripts and statements that decide liveness. */
export const EXPIRES_AT = SESSION_FIELDS.indexOf('expiresAt');
export const USER_ID = SESSION_FIELDS.indexOf('userId');

/** Thrown for a record that is not a session; the stores keep it as the `cause` of their coded error. */
export class MalformedSessionError extends Error {
  override readonly name = 'MalformedSessionError';
}

function required(values: readonly unknown[], i: number): string {
  const value = values[i];
  if (typeof value !== 'string') throw new MalformedSessionError(`session record: ${SESSION_FIELDS[i]} is ${value === false || value === null ? 'missing' : typeof value}`);
  return value;
}

function optional(values: readonly unknown[], i: number): string | null {
  const value = values[i];
  return value === null || value === false ? null : required(values, i);
}

function time(values: readonly unknown[], i: number): number {
  const value = values[i];
  const ms = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(ms)) throw new MalformedSessionError(`session record: ${SESSION_FIELDS[i]} is not integer ms`);
  return ms;
}

/** The frozen {@link Session} of one record; {@link MalformedSessionError} when it is not one. */
export function sessionFromRecord(record: unknown): Session {
  if (!Array.isArray(record) || record.length !== SESSION_FIELDS.length) {
    throw new MalformedSessionError(`session record: not an array of ${SESSION_FIELDS.length} values`);
  }
  const v = record as readonly unknown[];
  const fresh = v[3];
  if (fresh !== 1 && fresh !== 0 && fresh !== '1' && fresh !== '0') throw new MalformedSessionError('session record: fresh is not 1 or 0');
  const createdAt = time(v, 8);
  const methods = optional(v, 13);
  return Object.freeze({
    id: required(v, 0),
    secretHash: required(v, 1),
    userId: required(v, 2),
    fresh: fresh === 1 || fresh === '1',
    rememberSeries: optional(v, 4),
    identifier: optional(v, 5),
    userAgent: optional(v, 6),
    ipAddress: optional(v, 7),
    createdAt,
    // A Redis session written before the field existed was a login of its own: authenticated then.
    authenticatedAt: v[9] === null || v[9] === false ? createdAt : time(v, 9),
    lastSeenAt: time(v, 10),
    expiresAt: time(v, 11),
    absoluteExpiresAt: time(v, 12),
    // A JSON array (SEC-84); a session written before the field existed recorded none.
    methods: parseAuthMethods(methods),
  });
}
