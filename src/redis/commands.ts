/**
 * How `latchkey/redis` talks to a client it does not import: one `sendCommand(args)` method, which
 * node-redis clients have as is and an ioredis client gets from a one-line adapter. Scripts run by
 * `EVALSHA`, falling back to `EVAL` (which also caches the script) when the server answers
 * NOSCRIPT: after a restart, a failover or `SCRIPT FLUSH`. Also the encoding of a new session into
 * hash fields, and the decoding of script replies into the frozen records the contracts hand out.
 *
 * @module redis/commands
 */
import type { CounterState } from '../counter-store.ts';
import { MalformedSessionError, sessionFromRecord } from '../session-record.ts';
import { requireString } from '../lib/store-kit.ts';
import type { NewSession, Session } from '../store.ts';
import type { OneTimeToken } from '../token-store.ts';
import type { RedisScript } from './lua.ts';

/**
 * The one method latchkey needs of a Redis client: send a command given as strings and resolve
 * with the reply (strings, integers, nulls and arrays of them), or reject.
 */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

/** True for the server's NOSCRIPT error reply, whichever client class carries it. */
function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Runs `script` with `keys` and `args`: EVALSHA, and EVAL when the server does not have it yet. */
export async function runScript(client: RedisCommander, script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await client.sendCommand(['EVALSHA', script.sha1, ...tail]);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await client.sendCommand(['EVAL', script.source, ...tail]);
  }
}

/** A reply that is not the shape the script returns: a server or client we do not understand. */
export function unexpected(reply: unknown, cause?: unknown): Error {
  return new Error(`unexpected reply from Redis: ${JSON.stringify(reply)?.slice(0, 200)}`, cause === undefined ? undefined : { cause });
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8'); // clients that return Buffers
  if (typeof value === 'number') return String(value);
  throw unexpected(value);
}

function integer(value: unknown): number {
  const n = Number(text(value));
  if (!Number.isSafeInteger(n)) throw unexpected(value);
  return n;
}

/** A JSON reply of a script (`cjson.encode`), as values. */
function parseJson(reply: unknown): unknown {
  try {
    return JSON.parse(text(reply));
  } catch {
    throw unexpected(reply);
  }
}

/** The strings of an array reply. */
export function strings(reply: unknown): string[] {
  if (!Array.isArray(reply)) throw unexpected(reply);
  return reply.map(text);
}

/**
 * The records of a JSON array reply (getSessions, listUserSessions) as sessions, `false` entries
 * (a session not found) as null; `length`, when given, is how many entries there must be.
 */
export function toSessions(reply: unknown, length?: number): Array<Session | null> {
  const records = parseJson(reply);
  if (!Array.isArray(records) || (length !== undefined && records.length !== length)) throw unexpected(reply);
  return records.map((record: unknown) => (record === false ? null : toSession(record, reply)));
}

/** A session record (session-record: its values in order, `false` for a missing field); `reply` is what an error quotes. */
function toSession(record: unknown, reply: unknown): Session {
  try {
    return sessionFromRecord(record);
  } catch (error) {
    throw error instanceof MalformedSessionError ? unexpected(reply, error) : error;
  }
}

/** `{ count, firstAt, lastAt }` as the counter scripts return it. */
export function toCounter(reply: unknown): CounterState {
  const [count, firstAt, lastAt] = strings(reply).map(integer);
  if (lastAt === undefined) throw unexpected(reply);
  return Object.freeze({ count: count as number, firstAt: firstAt as number, lastAt });
}

/**
 * A one-time token as the takeToken script returns it (`{ userId, createdAt, expiresAt, email or
 * nil }`), or null for nil; the hash and purpose are the ones asked for, which the script matched.
 */
export function toToken(hash: string, purpose: string, reply: unknown): OneTimeToken | null {
  if (reply === null) return null;
  if (!Array.isArray(reply) || reply.length !== 4) throw unexpected(reply);
  const [userId, createdAt, expiresAt] = strings(reply.slice(0, 3));
  const email = reply[3] === null ? null : text(reply[3]);
  return Object.freeze({ hash, userId: userId as string, purpose, email, createdAt: integer(createdAt), expiresAt: integer(expiresAt) });
}

/** An integer reply (or its decimal text). */
export function toInteger(reply: unknown): number {
  return integer(reply);
}

/** updateSession's reply: the JSON of one record (text or bytes), or null for nil. */
export function toSessionOrNull(reply: unknown): Session | null {
  return reply === null ? null : toSession(parseJson(reply), reply);
}

/** True for the integer reply 1. */
export function isOne(reply: unknown): boolean {
  return toInteger(reply) === 1;
}

/** The field/value pairs of a new session's hash; a null field is left out and reads back as null. */
export function sessionFields(session: NewSession): string[] {
  const fields = [
    'id', requireString('id', session.id),
    'secretHash', requireString('secretHash', session.secretHash),
    'userId', requireString('userId', session.userId),
    'fresh', session.fresh ? '1' : '0',
    'methods', JSON.stringify(session.methods ?? []),
  ];
  for (const name of ['rememberSeries', 'identifier', 'userAgent', 'ipAddress'] as const) {
    const value = session[name];
    if (value !== null) fields.push(name, requireString(name, value));
  }
  return fields;
}
