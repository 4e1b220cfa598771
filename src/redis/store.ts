/**
 * `latchkey/redis`: a {@link Store}, {@link CounterStore} and {@link TokenStore} on Redis (7, or
 * 6), for apps on several hosts. It imports no Redis client: the app passes its own connected
 * client, anything with `sendCommand(args)` (node-redis as is, ioredis through a one-line
 * adapter), and keeps ownership of it. Every operation that reads before it writes is one Lua
 * script, so it is atomic across instances (R-05, SEC-34, SEC-39, SEC-51, SEC-57); see
 * redis/scripts.
 *
 * The clock is the Redis server's (`TIME`, inside the scripts), so app instances with skewed
 * clocks agree on when a session ends; a `now` option replaces it, for tests. Records keep
 * their `expiresAt` and scripts compare it (valid while `now < expiresAt`, SEC-29); every key also
 * gets a TTL, so nothing outlives its record by more than Redis's expiry cycle.
 *
 * Keys, under `prefix` (default `latchkey:`), hold only ids and SHA-256 digests, never a raw token
 * (SEC-21): `s:<id>` a session, `u:<userId>` a user's sessions, `r:<series>` a remember-me series,
 * `ru:<userId>` a user's series, `c:<key>` a throttle counter (its key a keyed hash, SEC-69),
 * `t:<hash>` a one-time token by its SHA-256 (SEC-57), `tu:<userId>` a user's one-time tokens.
 *
 * Redis must not evict: with any `maxmemory-policy` but `noeviction`, a full Redis silently
 * drops throttle counters (a lock lifts) and user indexes (a "log out everywhere" misses sessions).
 * Check with {@link checkEvictionPolicy} at start. Redis without persistence (AOF or RDB) logs
 * everyone out when it restarts. On Redis Cluster, give the prefix a hash tag
 * (`'{latchkey}:'`): scripts reach a user's records through their index, so all keys must share
 * one slot. Failures of the client or server reject with a coded {@link StoreUnavailableError}
 * that keeps the client's error as `cause`; misuse throws `TypeError`.
 *
 * @module redis/store
 */
import type { CounterState, CounterStore } from '../counter-store.ts';
import { StoreUnavailableError } from '../errors.ts';
import { ReadBatch } from '../lib/read-batch.ts';
import { readClock, requireString, StoreKit } from '../lib/store-kit.ts';
import { rememberUseOf, type RememberDecision } from '../remember-decision.ts';
import { checkTokenArguments, checkUserTokensArguments, type NewOneTimeToken, type OneTimeToken, type TokenStore } from '../token-store.ts';
import { checkNewSession, createdSession, type NewRememberToken, type NewSession, type RememberUse, type Session, type SessionUpdate, type Store } from '../store.ts';
import { isOne, runScript, sessionFields, strings, toCounter, toInteger, toSessionOrNull, toSessions, toToken, unexpected } from './commands.ts';
import type { RedisCommander } from './commands.ts';
import { SCRIPTS } from './scripts.ts';
import type { RedisScript } from './lua.ts';
import { requireMs, resolveRedisOptions, type RedisStoreOptions } from './store-options.ts';

/** What the useRememberToken script can decide about a series that exists (redis/remember-scripts). */
const DECISIONS: ReadonlySet<string> = new Set<RememberDecision>(['expired', 'rotate', 'grace', 'theft']);

/**
 * Sessions, remember-me tokens, throttle counters and one-time tokens in Redis, shared by every
 * app instance.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { RedisStore, checkEvictionPolicy } from 'latchkey/redis';
 *
 * const client = createClient({
 *   url: process.env.REDIS_URL,
 *   // Fail fast while Redis is down instead of queueing without bound (node-redis #2205, #1039),
 *   // and keep reconnecting every ≤ 2 s, so the app recovers on its own when Redis is back.
 *   socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(retries * 100, 2000) },
 *   disableOfflineQueue: true,
 *   commandsQueueMaxLength: 1000,
 * });
 * // An unhandled 'error' event would crash the process on the first lost connection.
 * client.on('error', (error) => logger.warn({ err: error }, 'redis'));
 * await client.connect();
 *
 * const check = await checkEvictionPolicy(client);
 * if (!check.ok) throw new Error(check.message); // or log it, if you must run on it
 *
 * const store = new RedisStore({ client });
 * const manager = createLoginManager({ store, … });
 * const throttle = createLoginThrottle({ store, … });
 * ```
 */
export class RedisStore implements Store, CounterStore, TokenStore {
  readonly #client: RedisCommander;
  readonly #prefix: string;
  readonly #now: (() => number) | null;
  readonly #kit = new StoreKit('RedisStore');
  readonly #sessionReads = new ReadBatch<Session>((ids) => this.#readSessions(ids));

  constructor(options: RedisStoreOptions) {
    const { client, prefix, now } = resolveRedisOptions(options);
    this.#client = client;
    this.#prefix = prefix;
    this.#now = now;
    Object.freeze(this);
  }

  async createSession(session: NewSession): Promise<Session> {
    const idleTimeout = requireMs('idleTimeout', session.idleTimeout, 1);
    const absoluteTimeout = requireMs('absoluteTimeout', session.absoluteTimeout, 1);
    checkNewSession(session);
    const keys = [this.#key('s:', session.id), this.#key('u:', session.userId)];
    const inherited = [String(session.authenticatedAt ?? ''), String(session.absoluteExpiresAt ?? '')];
    const args = [session.id, String(idleTimeout), String(absoluteTimeout), ...inherited, ...sessionFields(session)];
    return this.#run('createSession', SCRIPTS.createSession, keys, args, (reply) => {
      // A duplicate id is refused, never overwritten; like SqliteStore's primary key, it rejects.
      if (reply === null) throw new StoreUnavailableError('RedisStore.createSession(): a session with this id exists');
      const [createdAt, expiresAt, absoluteExpiresAt, authenticatedAt] = strings(reply).map(toInteger) as [number, number, number, number];
      return createdSession(session, { createdAt, authenticatedAt, expiresAt, absoluteExpiresAt });
    });
  }

  /**
   * Read with the other session reads of this turn of the event loop, in one script call
   * (lib/read-batch): one command instead of one per request.
   */
  getSession(id: string): Promise<Session | null> {
    // Not async, as SqliteStore's: a promise fewer on every authenticated request; misuse still rejects.
    if (typeof id !== 'string') return Promise.reject(new TypeError('id must be a string'));
    return this.#sessionReads.load(id);
  }

  #readSessions(ids: readonly string[]): Promise<Map<string, Session>> {
    const keys = ids.map((id) => this.#key('s:', id));
    return this.#run('getSession', SCRIPTS.getSessions, keys, [...ids], (reply) => {
      const sessions = new Map<string, Session>();
      toSessions(reply, ids.length).forEach((session, i) => {
        if (session !== null) sessions.set(ids[i] as string, session);
      });
      return sessions;
    });
  }

  async updateSession(id: string, update: SessionUpdate): Promise<Session | null> {
    const idle = update.idleTimeout === undefined ? '' : String(requireMs('idleTimeout', update.idleTimeout, 1));
    const fresh = update.fresh === undefined ? '' : update.fresh ? '1' : '0';
    const { identifier } = update;
    const mode = identifier === undefined ? '' : identifier === null ? 'null' : 'set';
    const value = mode === 'set' ? requireString('identifier', identifier) : '';
    const args = [id, idle, fresh, mode, value];
    return this.#run('updateSession', SCRIPTS.updateSession, [this.#key('s:', id)], args, toSessionOrNull);
  }

  async deleteSession(id: string): Promise<boolean> {
    return this.#run('deleteSession', SCRIPTS.deleteSession, [this.#key('s:', id)], [id], isOne);
  }

  async listUserSessions(userId: string): Promise<Session[]> {
    return this.#run('listUserSessions', SCRIPTS.listUserSessions, [this.#key('u:', userId)], [userId], (reply) => {
      const sessions = toSessions(reply);
      if (sessions.includes(null)) throw unexpected(reply); // the script lists found sessions only
      return (sessions as Session[]).sort((a, b) => b.createdAt - a.createdAt); // most recently created first
    });
  }

  async deleteUserSessions(userId: string, exceptId?: string): Promise<number> {
    const except = exceptId === undefined ? ['0', ''] : ['1', requireString('exceptId', exceptId)];
    const keys = [this.#key('u:', userId)];
    return this.#run('deleteUserSessions', SCRIPTS.deleteUserSessions, keys, [userId, ...except], toInteger);
  }

  async createRememberToken(token: NewRememberToken): Promise<{ expiresAt: number }> {
    const lifetime = requireMs('lifetime', token.lifetime, 1);
    const keys = [this.#key('r:', token.series), this.#key('ru:', token.userId)];
    const args = [token.series, String(lifetime), requireString('validatorHash', token.validatorHash), token.userId];
    return this.#run('createRememberToken', SCRIPTS.createRememberToken, keys, args, (reply) => {
      if (reply === null) throw new StoreUnavailableError('RedisStore.createRememberToken(): this series exists');
      return { expiresAt: toInteger(reply) };
    });
  }

  /**
   * One script: the read, the decision (the Lua mirror of decideRememberUse, in constant time) and
   * the rotation are one atomic step.
   */
  async useRememberToken(series: string, validatorHash: string, nextValidatorHash: string, grace: number): Promise<RememberUse | null> {
    requireMs('grace', grace, 0);
    const args = [
      series,
      requireString('validatorHash', validatorHash),
      requireString('nextValidatorHash', nextValidatorHash),
      String(grace),
    ];
    return this.#run('useRememberToken', SCRIPTS.useRememberToken, [this.#key('r:', series)], args, (reply): RememberUse | null => {
      if (reply === null) return null; // no such series
      const [decision, userId, expiresAt] = strings(reply);
      if (decision === undefined || !DECISIONS.has(decision) || userId === undefined || expiresAt === undefined) throw unexpected(reply);
      return rememberUseOf(decision as RememberDecision, userId, toInteger(expiresAt));
    });
  }

  async deleteRememberToken(series: string): Promise<boolean> {
    return this.#run('deleteRememberToken', SCRIPTS.deleteRememberToken, [this.#key('r:', series)], [series], isOne);
  }

  async deleteUserRememberTokens(userId: string, exceptSeries?: string): Promise<number> {
    const except = exceptSeries === undefined ? ['0', ''] : ['1', requireString('exceptSeries', exceptSeries)];
    const keys = [this.#key('ru:', userId)];
    return this.#run('deleteUserRememberTokens', SCRIPTS.deleteUserRememberTokens, keys, [userId, ...except], toInteger);
  }

  /** One script: read, increment and slide the expiry atomically, so no failure is lost. */
  async recordFailure(key: string, ttl: number): Promise<CounterState> {
    requireMs('ttl', ttl, 1);
    return this.#run('recordFailure', SCRIPTS.recordFailure, [this.#key('c:', key)], [String(ttl)], toCounter);
  }

  async forgiveFailure(key: string): Promise<CounterState | null> {
    return this.#run('forgiveFailure', SCRIPTS.forgiveFailure, [this.#key('c:', key)], [], (reply) => (reply === null ? null : toCounter(reply)));
  }

  async getCounter(key: string): Promise<CounterState | null> {
    return this.#run('getCounter', SCRIPTS.getCounter, [this.#key('c:', key)], [], (reply) => (reply === null ? null : toCounter(reply)));
  }

  async clearCounter(key: string): Promise<void> {
    await this.#call('clearCounter', () => this.#client.sendCommand(['DEL', this.#key('c:', key)]), () => undefined);
  }

  /** One-time tokens (reset, verification and email-change links): redis/token-scripts. */
  async createToken(token: NewOneTimeToken): Promise<OneTimeToken> {
    checkTokenArguments('RedisStore.createToken', token);
    const { hash, userId, purpose, email } = token;
    const keys = [this.#key('t:', hash), this.#key('tu:', userId)];
    const args = [hash, String(requireMs('lifetime', token.lifetime, 1)), userId, purpose, ...(email === null ? ['0'] : ['1', email])];
    return this.#run('createToken', SCRIPTS.createToken, keys, args, (reply) => {
      if (reply === null) throw new StoreUnavailableError('RedisStore.createToken(): a live token has this hash');
      const [createdAt, expiresAt] = strings(reply).map(toInteger) as [number, number];
      return Object.freeze({ hash, userId, purpose, email, createdAt, expiresAt });
    });
  }

  async findToken(hash: string, purpose: string): Promise<OneTimeToken | null> {
    checkTokenArguments('RedisStore.findToken', { hash, purpose });
    return this.#run('findToken', SCRIPTS.takeToken, [this.#key('t:', hash)], [hash, purpose, '0'], (reply) => toToken(hash, purpose, reply));
  }

  /** One script: the read, the checks and the deletion are one atomic step (R-05, SEC-57). */
  async consumeToken(hash: string, purpose: string): Promise<OneTimeToken | null> {
    checkTokenArguments('RedisStore.consumeToken', { hash, purpose });
    return this.#run('consumeToken', SCRIPTS.takeToken, [this.#key('t:', hash)], [hash, purpose, '1'], (reply) => toToken(hash, purpose, reply));
  }

  async deleteUserTokens(userId: string, purpose?: string): Promise<number> {
    checkUserTokensArguments('RedisStore.deleteUserTokens', userId, purpose);
    return this.#run('deleteUserTokens', SCRIPTS.deleteUserTokens, [this.#key('tu:', userId)], [userId, purpose ?? ''], toInteger);
  }

  /** Resolves when Redis answers `PING`. */
  async ping(): Promise<void> {
    await this.#call('ping', () => this.#client.sendCommand(['PING']), () => undefined);
  }

  /** Stops the store: later calls reject. The client is the app's and stays connected. Idempotent. */
  async close(): Promise<void> {
    this.#kit.close();
  }

  #key(kind: string, id: string): string {
    return this.#prefix + kind + requireString('id', id);
  }

  /** The clock argument of every script: the injected clock's ms, or '' for the server's TIME. */
  #clock(): string {
    return this.#now === null ? '' : String(readClock('RedisStore', this.#now));
  }

  #run<T>(operation: string, script: RedisScript, keys: string[], args: string[], decode: (reply: unknown) => T): Promise<T> {
    const clock = this.#clock();
    return this.#call(operation, () => runScript(this.#client, script, keys, [clock, ...args]), decode);
  }

  /**
   * Sends and decodes. Client and server failures, and replies that cannot be read, become coded
   * errors with the original as `cause` (lib/store-kit): never a null that reads as "absent".
   */
  async #call<T>(operation: string, send: () => Promise<unknown>, decode: (reply: unknown) => T): Promise<T> {
    this.#kit.checkOpen(operation);
    try {
      return decode(await send());
    } catch (cause) {
      throw this.#kit.failure(operation, cause);
    }
  }
}
