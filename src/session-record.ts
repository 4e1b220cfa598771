/**
 * A session as the network stores send it back: its values in {@link SESSION_FIELDS} order, each
 * as text, read by position. PostgreSQL returns the session statements' rows as arrays of text
 * (postgres/prepared, `fresh::int`); a Redis script `HMGET`s the fields and JSON-encodes the
 * result (`cjson.encode`), one string for a batch of sessions. Before, pg built an object with
 * fourteen properties and ran a type parser per column, and the Redis scripts returned each
 * session's field/value pairs, read by name: both on every authenticated request (bench/README.md).
 * By position, a value can never be read as a field name.
 *
 * The two servers differ only in how a value is absent: `null` (PostgreSQL's NULL) or `false`
 * (Redis's `HMGET` of a missing field). Times are integer ms as decimal text, `fresh` is `'1'` or
 * `'0'`. A record that is not a session (a required value missing, a time that is not an integer)
 * is refused with {@link MalformedSessionError}, never read as half a session (R-03): the store
 * turns it into a coded failure.
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

/** Where `expiresAt` and `userId` are in a record, for the scripts that decide liveness. */
export const EXPIRES_AT = SESSION_FIELDS.indexOf('expiresAt');
export const USER_ID = SESSION_FIELDS.indexOf('userId');

/** Thrown for a record that is not a session; the stores keep it as the `cause` of their coded error. */
export class MalformedSessionError extends Error {
  override readonly name = 'MalformedSessionError';
}

const absent = (value: unknown): boolean => value === null || value === false;

function required(v: readonly unknown[], at: number, i: number): string {
  const value = v[at + i];
  if (typeof value !== 'string') throw new MalformedSessionError(`session record: ${SESSION_FIELDS[i]} is ${absent(value) ? 'missing' : typeof value}`);
  return value;
}

function optional(v: readonly unknown[], at: number, i: number): string | null {
  return absent(v[at + i]) ? null : required(v, at, i);
}

function time(v: readonly unknown[], at: number, i: number): number {
  const value = v[at + i];
  const ms = typeof value === 'string' && value !== '' ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(ms)) throw new MalformedSessionError(`session record: ${SESSION_FIELDS[i]} is not integer ms`);
  return ms;
}

/**
 * The frozen {@link Session} of the record that starts at index `at` of `values` and fills the
 * rest of it; {@link MalformedSessionError} when it is not one.
 */
export function sessionFromRecord(values: unknown, at = 0): Session {
  if (!Array.isArray(values) || values.length !== at + SESSION_FIELDS.length) {
    throw new MalformedSessionError(`session record: not an array of ${SESSION_FIELDS.length} values`);
  }
  const v = values as readonly unknown[];
  const fresh = v[at + 3];
  if (fresh !== '1' && fresh !== '0') throw new MalformedSessionError('session record: fresh is not 1 or 0');
  const createdAt = time(v, at, 8);
  return Object.freeze({
    id: required(v, at, 0),
    secretHash: required(v, at, 1),
    userId: required(v, at, 2),
    fresh: fresh === '1',
    rememberSeries: optional(v, at, 4),
    identifier: optional(v, at, 5),
    userAgent: optional(v, at, 6),
    ipAddress: optional(v, at, 7),
    createdAt,
    // A Redis session written before the field existed was a login of its own: authenticated then.
    authenticatedAt: absent(v[at + 9]) ? createdAt : time(v, at, 9),
    lastSeenAt: time(v, at, 10),
    expiresAt: time(v, at, 11),
    absoluteExpiresAt: time(v, at, 12),
    // A JSON array (SEC-84); a session written before the field existed recorded none.
    methods: parseAuthMethods(optional(v, at, 13)),
  });
}
