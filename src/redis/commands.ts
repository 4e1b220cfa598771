/**
 * How `latchkey/redis` talks to a client it does not import: one `sendCommand(args)` method, which
 * node-redis clients have as is and an ioredis client gets from a one-line adapter. Scripts run by
 * `EVALSHA`, falling back to `EVAL` (which also caches the script) when the server answers
 * NOSCRIPT: after a restart, a failover or `SCRIPT FLUSH`. Also the encoding of a new session into
 * hash fields, and the decoding of script replies into the frozen records the contracts hand out.
 *
 * @module redis/commands
 */
import { parseAuthMethods } from '../auth-methods.ts';
import type { CounterState } from '../counter-store.ts';
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
export function unexpected(reply: unknown): Error {
  return new Error(`unexpected reply from Redis: ${JSON.stringify(reply)?.slice(0, 200)}`);
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

/** The strings of an array reply. */
function parseJson(reply: string): unknown {
  try {
    return JSON.parse(reply);
  } catch {
    throw unexpected(reply);
  }
}

export function strings(reply: unknown): string[] {
  if (!Array.isArray(reply)) throw unexpected(reply);
  return reply.map(text);
}

/**
 * A session hash, as `HGETALL` gives it inside a script (field, value, field, value…), either as
 * the array itself or, from getSession and updateSession, JSON-encoded by `cjson.encode`.
 */
export function toSession(reply: unknown): Session {
  const pairs = typeof reply === 'string' ? parseJson(reply) : reply;
  if (!Array.isArray(pairs)) throw unexpected(reply);
  // One pass over the pairs into locals: this runs for every session read on every request, and a
  // Map and a closure per session were a measurable share of the Redis store's request path.
  let id: string | undefined, secretHash: string | undefined, userId: string | undefined, fresh: string | undefined;
  let createdAt: string | undefined, lastSeenAt: string | undefined, expiresAt: string | undefined, absoluteExpiresAt: string | undefined;
  let rememberSeries: string | undefined, identifier: string | undefined, userAgent: string | undefined, ipAddress: string | undefined;
  let authenticatedAt: string | undefined, methods: string | undefined;
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const value = text(pairs[i + 1]);
    switch (text(pairs[i])) {
      case 'id': id = value; break;
      case 'secretHash': secretHash = value; break;
      case 'userId': userId = value; break;
      case 'fresh': fresh = value; break;
      case 'rememberSeries': rememberSeries = value; break;
      case 'identifier': identifier = value; break;
      case 'userAgent': userAgent = value; break;
      case 'ipAddress': ipAddress = value; break;
      case 'createdAt': createdAt = value; break;
      case 'authenticatedAt': authenticatedAt = value; break;
      case 'lastSeenAt': lastSeenAt = value; break;
      case 'expiresAt': expiresAt = value; break;
      case 'absoluteExpiresAt': absoluteExpiresAt = value; break;
      case 'methods': methods = value; break;
    }
  }
  if (id === undefined || secretHash === undefined || userId === undefined || fresh === undefined || createdAt === undefined
    || lastSeenAt === undefined || expiresAt === undefined || absoluteExpiresAt === undefined) throw unexpected(reply);
  const created = integer(createdAt);
  return Object.freeze({
    id,
    secretHash,
    userId,
    fresh: fresh === '1',
    rememberSeries: rememberSeries ?? null,
    identifier: identifier ?? null,
    userAgent: userAgent ?? null,
    ipAddress: ipAddress ?? null,
    createdAt: created,
    // A session written before the field existed was a login of its own: it was authenticated then.
    authenticatedAt: authenticatedAt === undefined ? created : integer(authenticatedAt),
    lastSeenAt: integer(lastSeenAt),
    expiresAt: integer(expiresAt),
    absoluteExpiresAt: integer(absoluteExpiresAt),
    // A JSON array (SEC-84); a session written before the field existed recorded none.
    methods: parseAuthMethods(methods),
  });
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

/** A session reply, or null for nil. */
export function toSessionOrNull(reply: unknown): Session | null {
  return reply === null ? null : toSession(reply);
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
