/**
 * `latchkey/redis`: the conformance suites (sessions, counters, one-time tokens) against the real Redis (each test under its own random
 * key prefix, with the test clock as `now`), then what only Redis has: a TTL on every key,
 * no raw token in keys or values (SEC-21, SEC-69), the server's clock, the eviction check
 * and a full Redis, a crash and a restart, scripts lost to a restart or a
 * flush, and races across two connections.
 *
 * The shared server on 6379 is only read and written under this file's own prefixes; nothing here
 * flushes, reconfigures or stops it. Tests that must do that to a server start their own
 * `redis-server` (test/fixtures/redis-server.ts) and kill it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { createLoginManager } from '../src/index.ts';
import { createLoginThrottle } from '../src/throttle.ts';
import { describeCounterStoreConformance, describeStoreConformance, describeTokenStoreConformance, loginTestUser } from '../src/testing/index.ts';
import { checkEvictionPolicy, RedisStore } from '../src/redis/index.ts';
import type { RedisCommander, RedisStoreOptions } from '../src/redis/index.ts';
import type { NewSession } from '../src/store.ts';
import { startRedisServer } from './fixtures/redis-server.ts';
import type { RedisServer } from './fixtures/redis-server.ts';
import { probeRedis, REDIS_URL, requireService } from './support/services.ts';

type Client = ReturnType<typeof createClient>;

/** A client with the options the RedisStore docs recommend; its `error` events are collected, not thrown. */
function makeClient(url: string, extra: { RESP?: 2 | 3 } = {}): { client: Client; errors: Error[] } {
  const errors: Error[] = [];
  const client = createClient({
    url,
    ...extra,
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(retries * 100, 2_000) },
    disableOfflineQueue: true,
    commandsQueueMaxLength: 1_000,
  }) as Client;
  client.on('error', (error: Error) => errors.push(error));
  return { client, errors };
}

const service = await requireService('redis', probeRedis);
if (!service.available) console.log(`# skipping RedisStore tests: ${service.reason}`);
const skip = service.available ? false : service.reason;

/** A key prefix of this file's own: nothing else on the shared server starts with it. */
function newPrefix(): string {
  return `latchkey-test:${randomBytes(8).toString('hex')}:`;
}

/** Every key under `prefix`, by SCAN (never KEYS, never FLUSHDB). */
async function keysOf(client: RedisCommander, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await client.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [string, string[]];
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes this prefix's keys and nothing else. */
async function deleteKeys(client: RedisCommander, prefix: string): Promise<void> {
  const keys = await keysOf(client, prefix);
  if (keys.length > 0) await client.sendCommand(['UNLINK', ...keys]);
}

/** Every key under `prefix` with its TTL and contents, as text. */
async function dump(client: RedisCommander, prefix: string): Promise<Array<{ key: string; pttl: number; expiresAt: number; text: string }>> {
  const rows = [];
  for (const key of await keysOf(client, prefix)) {
    const type = await client.sendCommand(['TYPE', key]);
    const contents =
      type === 'hash'
        ? await client.sendCommand(['HGETALL', key])
        : type === 'zset'
          ? await client.sendCommand(['ZRANGE', key, '0', '-1', 'WITHSCORES'])
          : await client.sendCommand(['DUMP', key]);
    // PEXPIRETIME (Redis 7) as well: an absolute instant compares across keys read at different times.
    const [pttl, expiresAt] = [Number(await client.sendCommand(['PTTL', key])), Number(await client.sendCommand(['PEXPIRETIME', key]))];
    rows.push({ key, pttl, expiresAt, text: JSON.stringify(contents) });
  }
  return rows;
}

const MINUTE = 60_000;
const T0 = Date.UTC(2030, 0, 1, 12);

function randomId(): string {
  return randomBytes(16).toString('base64url');
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function newSession(fields: Partial<NewSession> = {}): NewSession {
  return {
    id: randomId(),
    secretHash: sha256(randomId()),
    userId: randomId(),
    fresh: true,
    rememberSeries: null,
    identifier: null,
    userAgent: 'Mozilla/5.0 (redis test)',
    ipAddress: '192.0.2.7',
    idleTimeout: 30 * MINUTE,
    absoluteTimeout: 24 * 60 * MINUTE,
    ...fields,
  };
}

/** Retries `work` every 100 ms until it resolves or `ms` have passed; resolves with the time it took. */
async function eventually(work: () => Promise<unknown>, ms: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    try {
      await work();
      return performance.now() - started;
    } catch (error) {
      if (performance.now() - started > ms) throw error;
      await sleep(100);
    }
  }
}

describe('RedisStore on a real Redis', { skip }, () => {
  let shared: Client;
  const prefixes = new Set<string>();
  const servers = new Set<RedisServer>();
  const clients = new Set<Client>();

  before(async () => {
    shared = makeClient(REDIS_URL).client;
    await shared.connect();
  });

  after(async () => {
    for (const client of clients) if (client.isOpen) client.destroy();
    for (const server of servers) await server.stop();
    if (shared?.isOpen) {
      for (const prefix of prefixes) await deleteKeys(shared, prefix);
      await shared.close();
    }
  });

  /** A store on the shared server under a fresh prefix, and its cleanup. */
  function sharedStore(options: Partial<RedisStoreOptions> = {}): { store: RedisStore; prefix: string; cleanup: () => Promise<void> } {
    const prefix = newPrefix();
    prefixes.add(prefix);
    const store = new RedisStore({ client: shared, prefix, ...options });
    return {
      store,
      prefix,
      cleanup: async () => {
        await store.close();
        await deleteKeys(shared, prefix);
        prefixes.delete(prefix);
      },
    };
  }

  /** A private redis-server and a connected client of it, both stopped in `after` at the latest. */
  async function ownServer(extra: readonly string[] = []): Promise<{ server: RedisServer; client: Client; errors: Error[] }> {
    const server = await startRedisServer(extra);
    servers.add(server);
    const { client, errors } = makeClient(server.url);
    clients.add(client);
    await client.connect();
    return { server, client, errors };
  }

  async function stopOwn(own: { server: RedisServer; client: Client }): Promise<void> {
    if (own.client.isOpen) own.client.destroy();
    await own.server.stop();
  }

  describeStoreConformance('RedisStore', {
    makeStore: async (clock) => {
      const { store, cleanup } = sharedStore({ now: clock.now });
      return { store, cleanup };
    },
  });

  describeCounterStoreConformance('RedisStore', {
    makeStore: async (clock) => {
      const { store, cleanup } = sharedStore({ now: clock.now });
      return { store, cleanup };
    },
  });

  // No sweep hook: Redis drops an expired token's keys itself, on its own clock (their TTL), which
  // an injected clock cannot move; the 'keys' and 'time' tests below cover it.
  describeTokenStoreConformance('RedisStore', {
    makeStore: async (clock) => {
      const { store, prefix, cleanup } = sharedStore({ now: clock.now });
      const storedTokens = async () => (await dump(shared, prefix)).map((row) => `${row.key} ${row.text}`);
      return { store, storedTokens, cleanup };
    },
  });

  describe('keys', () => {
    for (const clockKind of ['the server clock', 'an injected clock'] as const) {
      it(`gives every key it writes a TTL, after every kind of write, on ${clockKind} (R-09)`, async () => {
        let time = T0;
        const { store, prefix, cleanup } = sharedStore(clockKind === 'an injected clock' ? { now: () => time } : {});
        const seen = new Set<string>();
        const check = async (after: string) => {
          const rows = await dump(shared, prefix);
          for (const row of rows) {
            assert.ok(row.pttl > 0, `${row.key} has PTTL ${row.pttl} after ${after}`);
            seen.add(row.key.slice(prefix.length).split(':')[0] as string);
          }
          return rows;
        };
        try {
          const userId = randomId();
          const a = await store.createSession(newSession({ userId, idleTimeout: 10 * MINUTE }));
          const b = await store.createSession(newSession({ userId, idleTimeout: 2 * 60 * MINUTE }));
          const rows = await check('createSession');
          // The index lives as long as its longest-lived member: compared as expiry instants, which do
          // not depend on when each key was read (PTTLs read a few ms apart did, on a loaded machine).
          const expiry = (kind: string) => rows.find((r) => r.key === `${prefix}${kind}`)?.expiresAt ?? -1;
          assert.ok(expiry(`u:${userId}`) >= expiry(`s:${b.id}`), 'index TTL ≥ its longest member');
          time += MINUTE;
          await store.updateSession(a.id, { idleTimeout: 3 * 60 * MINUTE });
          assert.ok((await check('a touch')).find((r) => r.key === `${prefix}u:${userId}`)!.pttl > 2 * 60 * MINUTE);
          await store.updateSession(a.id, { fresh: false, identifier: sha256('ua') });
          await store.updateSession(a.id, { identifier: null });
          await check('updateSession');
          await store.getSession(a.id);
          await store.listUserSessions(userId);
          await check('reads');
          await store.deleteUserSessions(userId, b.id);
          await check('deleteUserSessions with an exception');
          await store.deleteSession(b.id);
          await check('deleteSession');

          const series = randomId();
          const first = sha256(randomId());
          const second = sha256(randomId());
          await store.createRememberToken({ series, validatorHash: first, userId, lifetime: 14 * 24 * 60 * MINUTE });
          await check('createRememberToken');
          assert.equal((await store.useRememberToken(series, first, second, 30_000))?.status, 'valid');
          await check('a rotation');
          assert.equal((await store.useRememberToken(series, first, sha256('x'), 30_000))?.status, 'grace');
          await check('a grace use');
          await store.createRememberToken({ series: randomId(), validatorHash: first, userId, lifetime: MINUTE });
          assert.equal((await store.useRememberToken(series, sha256('forged'), sha256('x'), 30_000))?.status, 'stolen');
          await check('a theft');

          const key = `throttle:login:${sha256('k')}`;
          await store.recordFailure(key, 15 * MINUTE);
          time += 1_000;
          await store.recordFailure(key, 15 * MINUTE);
          await store.getCounter(key);
          await check('recordFailure');
          const token = (purpose: string, lifetime: number) => ({ hash: sha256(randomId()), userId, purpose, email: 'a@example.com', lifetime });
          const reset = token('reset', 60 * MINUTE);
          const verify = token('verify', 24 * 60 * MINUTE);
          await store.createToken(reset);
          await store.createToken(verify);
          await store.createToken(token('email-change', 24 * 60 * MINUTE));
          await check('createToken');
          assert.ok((await check('createToken')).find((r) => r.key === `${prefix}t:${reset.hash}`)!.pttl <= 60 * MINUTE, 'PX is the lifetime');
          await store.findToken(reset.hash, 'reset');
          await store.consumeToken(reset.hash, 'reset');
          await check('consumeToken');
          await store.deleteUserTokens(userId, 'email-change');
          await check('deleteUserTokens');

          await store.createSession(newSession({ userId }));
          await check('everything');
          assert.deepEqual([...seen].sort(), ['c', 'r', 'ru', 's', 't', 'tu', 'u']);
          assert.ok(await store.findToken(verify.hash, 'verify'));
        } finally {
          await cleanup();
        }
      });
    }

    it('holds no raw token material: after a real login with remember-me, keys and values hold ids and SHA-256 digests only (SEC-21)', async () => {
      const { store, prefix, cleanup } = sharedStore();
      try {
        const manager = createLoginManager({ store, secret: randomBytes(32), loadUser: (id: string) => ({ id }) });
        const cookie = await loginTestUser(manager, { id: 'user-42' }, { remember: true });
        const tokens = cookie.split('; ').map((pair) => pair.slice(pair.indexOf('=') + 1));
        assert.equal(tokens.length, 2, cookie);
        const rows = await dump(shared, prefix);
        const everything = rows.map((row) => `${row.key} ${row.text}`).join('\n');
        for (const token of tokens) {
          const [id, secret] = token.split('.') as [string, string];
          assert.equal(secret.length, 43);
          assert.ok(!everything.includes(secret), 'a raw secret is stored');
          assert.ok(everything.includes(id), 'the public id is the key');
          assert.ok(everything.includes(sha256(secret)), 'the SHA-256 of the secret is stored');
        }
      } finally {
        await cleanup();
      }
    });

    it("keeps no email address or IP in its throttle keys or values: only the throttle's keyed hashes (SEC-69)", async () => {
      const { store, prefix, cleanup } = sharedStore();
      try {
        const throttle = createLoginThrottle({ store, secret: randomBytes(32) });
        const attempt = { account: 'alice.canary@example.com', ip: '198.51.100.23' };
        await throttle.recordFailure(attempt);
        assert.equal((await throttle.check(attempt)).ok, true);
        const rows = await dump(shared, prefix);
        assert.equal(rows.length, 2);
        const everything = rows.map((row) => `${row.key} ${row.text}`).join('\n');
        for (const canary of ['alice', 'canary', 'example.com', '198.51.100']) assert.ok(!everything.includes(canary), canary);
      } finally {
        await cleanup();
      }
    });

    it('as the attacker: ids shaped like globs or other keys reach nothing of anybody else', async () => {
      const { store, cleanup } = sharedStore();
      try {
        const victim = await store.createSession(newSession());
        const series = randomId();
        await store.createRememberToken({ series, validatorHash: sha256('v'), userId: victim.userId, lifetime: MINUTE });
        const hash = sha256(randomId());
        await store.createToken({ hash, userId: victim.userId, purpose: 'reset', email: null, lifetime: MINUTE });
        for (const userId of ['*', '?', `${victim.userId}*`, `[${victim.userId}]`, `x:u:${victim.userId}`]) {
          assert.equal(await store.deleteUserSessions(userId), 0, userId);
          assert.equal(await store.deleteUserRememberTokens(userId), 0, userId);
          assert.equal(await store.deleteUserTokens(userId), 0, userId);
          assert.deepEqual(await store.listUserSessions(userId), [], userId);
        }
        // A counter key spelt like a session key stays in the counters' namespace.
        await store.recordFailure(`s:${victim.id}`, MINUTE);
        await store.clearCounter(`s:${victim.id}`);
        assert.equal(await store.getSession('*'), null);
        assert.equal(await store.deleteSession('*'), false);
        assert.deepEqual({ ...(await store.getSession(victim.id)) }, { ...victim });
        assert.equal(await store.deleteRememberToken(series), true);
        assert.equal((await store.consumeToken(hash, 'reset'))?.userId, victim.userId);
      } finally {
        await cleanup();
      }
    });
  });

  describe('time', () => {
    it('finding 2: a session written before authenticatedAt existed reads it as its createdAt', async () => {
      const { store, prefix, cleanup } = sharedStore({ now: () => T0 });
      try {
        const session = await store.createSession(newSession());
        await shared.sendCommand(['HDEL', `${prefix}s:${session.id}`, 'authenticatedAt']);
        assert.deepEqual({ ...(await store.getSession(session.id)) }, { ...session, authenticatedAt: session.createdAt });
      } finally {
        await cleanup();
      }
    });

    it('a session hash written before methods existed reads as []; a new one keeps them as a JSON field (SEC-84)', async () => {
      const { store, prefix, cleanup } = sharedStore({ now: () => T0 });
      try {
        const session = await store.createSession(newSession({ methods: ['pwd', 'otp'] }));
        const key = `${prefix}s:${session.id}`;
        assert.equal(await shared.sendCommand(['HGET', key, 'methods']), '["pwd","otp"]');
        await shared.sendCommand(['HDEL', key, 'methods']);
        assert.deepEqual({ ...(await store.getSession(session.id)) }, { ...session, methods: [] });
        assert.deepEqual([...((await store.updateSession(session.id, { fresh: false }))?.methods ?? ['missing'])], []);
      } finally {
        await cleanup();
      }
    });

    it('without now, ends a 1000 ms session and a 1000 ms one-time token on the server clock, and Redis itself drops their keys (R-08, R-09)', async () => {
      const { store, prefix, cleanup } = sharedStore();
      try {
        const session = await store.createSession(newSession({ idleTimeout: 1_000, absoluteTimeout: MINUTE }));
        const key = `throttle:login:${sha256('short')}`;
        await store.recordFailure(key, 1_000);
        const hash = sha256(randomId());
        await store.createToken({ hash, userId: randomId(), purpose: 'reset', email: null, lifetime: 1_000 });
        assert.ok(await store.getSession(session.id));
        assert.equal((await store.getCounter(key))?.count, 1);
        await sleep(1_200);
        assert.equal(await store.getCounter(key), null);
        // Redis's expiry removed the keys without any help from the store.
        assert.deepEqual(await keysOf(shared, prefix), []);
        assert.equal(await store.getSession(session.id), null);
      } finally {
        await cleanup();
      }
    });

    it("stamps times with the Redis server's clock, not the app's: an app clock 5 minutes ahead changes nothing (R-08)", async (t) => {
      const { store, cleanup } = sharedStore();
      try {
        t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 5 * MINUTE });
        const [seconds, micros] = (await shared.sendCommand(['TIME'])) as [string, string];
        const server = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
        const session = await store.createSession(newSession());
        const counter = await store.recordFailure(`throttle:${randomId()}`, MINUTE);
        t.mock.timers.reset();
        for (const at of [session.createdAt, counter.firstAt]) {
          assert.ok(at >= server && at - server < 1_000, `${at} is the server's time ${server}`);
        }
        assert.equal(session.expiresAt, session.createdAt + 30 * MINUTE);
      } finally {
        t.mock.timers.reset();
        await cleanup();
      }
    });
  });

  describe('coalesced reads (lib/read-batch)', () => {
    it('reads the sessions asked for in one turn with one script call, and later turns with their own', async () => {
      const prefix = newPrefix();
      prefixes.add(prefix);
      const sent: string[][] = [];
      const counting: RedisCommander = { sendCommand: (args) => (sent.push([...args]), shared.sendCommand(args)) };
      const store = new RedisStore({ client: counting, prefix });
      try {
        const [a, b] = await Promise.all([store.createSession(newSession()), store.createSession(newSession())]);
        sent.length = 0;
        const got = await Promise.all([a.id, b.id, randomId(), a.id].map((id) => store.getSession(id)));
        assert.deepEqual(got.map((s) => s?.id ?? null), [a.id, b.id, null, a.id]);
        assert.equal((await store.getSession(b.id))?.id, b.id);
        const scripts = sent.filter(([command]) => command === 'EVALSHA' || command === 'EVAL');
        assert.deepEqual(scripts.map((args) => args[2]), ['3', '1'], 'one call for three distinct sessions, then one for the next turn');
      } finally {
        await store.close();
        await deleteKeys(shared, prefix);
      }
    });
  });

  describe('concurrency across instances', () => {
    it('two app instances (two connections) racing on one remember cookie: exactly one valid, never stolen (R-05, SEC-39)', async () => {
      const { store, prefix, cleanup } = sharedStore();
      const { client: other } = makeClient(REDIS_URL);
      clients.add(other);
      await other.connect();
      try {
        const second = new RedisStore({ client: other, prefix });
        const series = randomId();
        const validator = sha256(randomId());
        await store.createRememberToken({ series, validatorHash: validator, userId: 'u', lifetime: MINUTE });
        const uses = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : second).useRememberToken(series, validator, sha256(randomId()), 30_000)),
        );
        const statuses = uses.map((use) => use?.status);
        assert.equal(statuses.filter((s) => s === 'valid').length, 1, String(statuses));
        assert.equal(statuses.filter((s) => s === 'grace').length, 19, String(statuses));
      } finally {
        other.destroy();
        await cleanup();
      }
    });

    it('two app instances (two connections) consuming one reset token 20 times at once: exactly one gets it (R-05, R-07, SEC-57)', async () => {
      const { store, prefix, cleanup } = sharedStore();
      const { client: other } = makeClient(REDIS_URL);
      clients.add(other);
      await other.connect();
      try {
        const second = new RedisStore({ client: other, prefix });
        const hash = sha256(randomId());
        await store.createToken({ hash, userId: randomId(), purpose: 'reset', email: 'a@example.com', lifetime: 60 * MINUTE });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : second).consumeToken(hash, 'reset')));
        assert.equal(results.filter((token) => token !== null).length, 1);
        assert.deepEqual(await keysOf(shared, prefix), [], 'the token and its user index are gone');
      } finally {
        other.destroy();
        await cleanup();
      }
    });

    it('two app instances counting failures on one key at once never under-count (R-05, R-07)', async () => {
      const { store, prefix, cleanup } = sharedStore();
      const { client: other } = makeClient(REDIS_URL);
      clients.add(other);
      await other.connect();
      try {
        const second = new RedisStore({ client: other, prefix });
        const key = `throttle:login:${sha256(randomId())}`;
        const states = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? store : second).recordFailure(key, MINUTE)),
        );
        assert.deepEqual(
          states.map((s) => s.count).sort((a, b) => a - b),
          Array.from({ length: 200 }, (_, i) => i + 1),
        );
        assert.equal((await second.getCounter(key))?.count, 200);
      } finally {
        other.destroy();
        await cleanup();
      }
    });
  });

  describe('eviction (R-10)', () => {
    it('checkEvictionPolicy is ok on the shared server, whose policy is noeviction, over RESP3 and RESP2', async () => {
      assert.deepEqual(await checkEvictionPolicy(shared), { ok: true });
      const { client } = makeClient(REDIS_URL, { RESP: 2 });
      clients.add(client);
      await client.connect();
      try {
        assert.deepEqual(await checkEvictionPolicy(client), { ok: true });
      } finally {
        client.destroy();
      }
    });

    it('checkEvictionPolicy refuses allkeys-lru and volatile-lru (every key has a TTL), and says why', async () => {
      const own = await ownServer(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
      try {
        const check = await checkEvictionPolicy(own.client);
        assert.equal(check.ok, false);
        assert.ok(!check.ok);
        assert.equal(check.policy, 'allkeys-lru');
        assert.match(check.message, /noeviction/);
        assert.match(check.message, /throttle/);
        await own.client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'volatile-lru']); // our own server
        const volatile = await checkEvictionPolicy(own.client);
        assert.equal(volatile.ok, false);
        assert.equal(!volatile.ok && volatile.policy, 'volatile-lru');
      } finally {
        await stopOwn(own);
      }
    });

    it('checkEvictionPolicy answers "could not check", without throwing, for a user who may not run CONFIG; the store still works for it', async () => {
      const own = await ownServer();
      try {
        await own.client.sendCommand(['ACL', 'SETUSER', 'app', 'on', '>app-password-for-tests', '~*', '&*', '+@all', '-config']);
        const { client } = makeClient(own.server.url.replace('redis://', 'redis://app:app-password-for-tests@'));
        clients.add(client);
        await client.connect();
        const check = await checkEvictionPolicy(client);
        assert.equal(check.ok, false);
        assert.equal(!check.ok && check.policy, 'unknown');
        assert.match(!check.ok ? check.message : '', /could not check/i);
        const store = new RedisStore({ client });
        const session = await store.createSession(newSession());
        assert.equal((await store.getSession(session.id))?.id, session.id);
        client.destroy();
      } finally {
        await stopOwn(own);
      }
    });

    it('a full Redis (maxmemory 1mb, noeviction) rejects writes with ERR_LATCHKEY_STORE_UNAVAILABLE, changes nothing, and still serves reads and deletes', async () => {
      // An empty Redis 7 already uses about 0.9 MB, so the records the test needs are written
      // first and the 1 MB limit set afterwards (on our own server), then filled with small keys.
      const own = await ownServer(['--maxmemory-policy', 'noeviction']);
      try {
        const store = new RedisStore({ client: own.client });
        const userId = randomId();
        const live = await store.createSession(newSession({ userId }));
        const series = randomId();
        const validator = sha256(randomId());
        await store.createRememberToken({ series, validatorHash: validator, userId, lifetime: MINUTE });
        await store.recordFailure('throttle:k', MINUTE);
        await own.client.sendCommand(['CONFIG', 'SET', 'maxmemory', '1mb']);
        let full = false;
        for (let i = 0; i < 10_000 && !full; i++) {
          try {
            await own.client.sendCommand(['SET', `filler:${i}`, 'x'.repeat(512)]);
          } catch (error) {
            assert.match(String(error), /OOM/);
            full = true;
          }
        }
        assert.ok(full, 'Redis never reported OOM');

        const refused = { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE', cause: /OOM/ } as const;
        const isRefused = (error: Error & { code?: string; cause?: unknown }) => {
          assert.equal(error.code, refused.code);
          assert.match(String(error.cause), refused.cause);
          return true;
        };
        const attempted = newSession({ userId });
        await assert.rejects(store.createSession(attempted), isRefused);
        await assert.rejects(store.updateSession(live.id, { idleTimeout: 60 * MINUTE }), isRefused);
        await assert.rejects(store.recordFailure('throttle:k', MINUTE), isRefused);
        await assert.rejects(store.recordFailure('throttle:new', MINUTE), isRefused);
        await assert.rejects(store.createRememberToken({ series: randomId(), validatorHash: validator, userId, lifetime: MINUTE }), isRefused);
        await assert.rejects(store.useRememberToken(series, validator, sha256(randomId()), 30_000), isRefused);
        // Nothing half-written: the refused session is absent from its key and from the index.
        assert.equal(await own.client.sendCommand(['EXISTS', `latchkey:s:${attempted.id}`]), 0);
        assert.deepEqual((await store.listUserSessions(userId)).map((s) => s.id), [live.id]);
        assert.equal((await store.getCounter('throttle:k'))?.count, 1);
        // Reads still answer, and deletes (logout) still work: they free memory.
        assert.equal((await store.getSession(live.id))?.expiresAt, live.expiresAt);
        assert.equal(await store.deleteSession(live.id), true);
        assert.equal(await store.deleteRememberToken(series), true);
        await store.clearCounter('throttle:k');
      } finally {
        await stopOwn(own);
      }
    });
  });

  describe('failures (R-01, R-02)', () => {
    it('a Redis killed mid-run makes every call reject at once with ERR_LATCHKEY_STORE_UNAVAILABLE; restarted on the same port, the same client and store work again', async () => {
      const own = await ownServer();
      try {
        const store = new RedisStore({ client: own.client });
        const before = await store.createSession(newSession());
        await store.ping();

        await own.server.kill();
        const started = performance.now();
        const calls = [
          store.getSession(before.id),
          store.createSession(newSession()),
          store.updateSession(before.id, { idleTimeout: MINUTE }),
          store.useRememberToken(randomId(), 'v', 'n', 0),
          store.recordFailure('throttle:k', MINUTE),
          store.getCounter('throttle:k'),
          store.clearCounter('throttle:k'),
          store.ping(),
        ];
        // Settled together: they fail in whatever order (getSession waits for the end of the turn).
        for (const result of await Promise.allSettled(calls)) {
          assert.equal(result.status, 'rejected');
          const error = (result as PromiseRejectedResult).reason as Error & { code?: string; cause?: unknown };
          assert.equal(error.code, 'ERR_LATCHKEY_STORE_UNAVAILABLE');
          assert.ok(error.cause instanceof Error, 'the client error is kept as cause');
        }
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 1_000, `rejected after ${Math.round(elapsed)} ms, not at once`);
        // Still down a moment later: no offline queue, so calls still fail fast instead of piling up.
        await sleep(300);
        const again = performance.now();
        await assert.rejects(store.getSession(before.id), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
        assert.ok(performance.now() - again < 200);

        await own.server.restart();
        const recovered = await eventually(() => store.ping(), 5_000);
        assert.ok(recovered < 5_000, `recovered after ${Math.round(recovered)} ms`);
        // The restarted server kept nothing (no persistence): the old session reads as absent;
        // it has no scripts cached either, so this also takes the NOSCRIPT → EVAL path.
        assert.equal(await store.getSession(before.id), null);
        const after = await store.createSession(newSession());
        assert.equal((await store.getSession(after.id))?.id, after.id);
        assert.equal((await store.recordFailure('throttle:k', MINUTE)).count, 1);
        assert.ok(own.errors.length > 0, "the client reported the outage through 'error' events, which were handled");
      } finally {
        await stopOwn(own);
      }
    });

    it('runs its scripts again after SCRIPT FLUSH (NOSCRIPT → EVAL)', async () => {
      const own = await ownServer();
      try {
        const store = new RedisStore({ client: own.client });
        const session = await store.createSession(newSession());
        await own.client.sendCommand(['SCRIPT', 'FLUSH']); // our own server
        assert.equal((await store.getSession(session.id))?.id, session.id);
        assert.equal(await store.deleteSession(session.id), true);
      } finally {
        await stopOwn(own);
      }
    });

    it('a client that has been closed makes calls reject with ERR_LATCHKEY_STORE_UNAVAILABLE, never null', async () => {
      const { client } = makeClient(REDIS_URL);
      clients.add(client);
      await client.connect();
      const store = new RedisStore({ client, prefix: newPrefix() });
      client.destroy();
      await assert.rejects(store.getSession(randomId()), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
      await assert.rejects(store.getCounter('k'), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    });

    it('a reply it cannot read is ERR_LATCHKEY_STORE_UNAVAILABLE, not a session or null', async () => {
      const store = new RedisStore({ client: { sendCommand: async () => ['id', 'only'] } });
      await assert.rejects(store.getSession(randomId()), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
      await assert.rejects(store.getCounter('k'), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
      await assert.rejects(store.deleteSession('x'), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    });
  });

  describe('the store object', () => {
    it('close() stops the store but leaves the caller\'s client connected, and is idempotent', async () => {
      const { store, cleanup } = sharedStore();
      const session = await store.createSession(newSession());
      await store.close();
      await store.close();
      await assert.rejects(store.getSession(session.id), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
      await assert.rejects(store.recordFailure('k', MINUTE), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
      assert.equal(await shared.sendCommand(['PING']), 'PONG');
      await cleanup();
    });

    it("reaches a user's sessions through the index when the client prefixes declared keys itself (ioredis keyPrefix): a revocation misses none", async () => {
      const { prefix, cleanup } = sharedStore();
      const clientPrefix = `${prefix}app:`;
      // What ioredis's keyPrefix does: the keys declared to EVAL/EVALSHA, and a command's key, get it.
      const prefixing: RedisCommander = {
        sendCommand: (args) => {
          const [command] = args;
          if (command === 'EVALSHA' || command === 'EVAL') {
            const count = Number(args[2]);
            return shared.sendCommand(args.map((arg, i) => (i >= 3 && i < 3 + count ? clientPrefix + arg : arg)));
          }
          if (command === 'DEL') return shared.sendCommand([command, clientPrefix + args[1]]);
          return shared.sendCommand(args);
        },
      };
      try {
        const store = new RedisStore({ client: prefixing, prefix: 'latchkey:' });
        const userId = randomId();
        const kept = await store.createSession(newSession({ userId }));
        await store.createSession(newSession({ userId }));
        await store.createSession(newSession({ userId }));
        const series = randomId();
        await store.createRememberToken({ series, validatorHash: sha256('v'), userId, lifetime: MINUTE });
        assert.equal((await store.listUserSessions(userId)).length, 3);
        assert.equal(await store.deleteUserSessions(userId, kept.id), 2);
        assert.equal(await store.deleteUserRememberTokens(userId), 1);
        assert.equal(await store.deleteSession(kept.id), true);
        for (const row of await dump(shared, prefix)) assert.ok(row.key.startsWith(`${clientPrefix}latchkey:`), row.key);
        assert.deepEqual(await keysOf(shared, prefix), []);
      } finally {
        await cleanup();
      }
    });

    it('works over RESP2 too', async () => {
      const { client } = makeClient(REDIS_URL, { RESP: 2 });
      clients.add(client);
      await client.connect();
      const prefix = newPrefix();
      prefixes.add(prefix);
      try {
        const store = new RedisStore({ client, prefix });
        const session = await store.createSession(newSession({ userAgent: null }));
        assert.deepEqual({ ...(await store.getSession(session.id)) }, { ...session });
        assert.equal((await store.listUserSessions(session.userId)).length, 1);
        assert.equal((await store.recordFailure('k', MINUTE)).count, 1);
      } finally {
        await deleteKeys(client, prefix);
        client.destroy();
      }
    });

    it('rejects misused options with TypeError at construction, and a clock that returns no integer at call time', async () => {
      const client = { sendCommand: async () => null };
      const bad: unknown[] = [
        undefined,
        {},
        { client: {} },
        { client: { sendCommand: 'PING' } },
        { client, prefix: '' },
        { client, prefix: 5 },
        { client, prefix: 'x'.repeat(101) },
        { client, now: Date.now() },
      ];
      for (const options of bad) assert.throws(() => new RedisStore(options as RedisStoreOptions), TypeError, JSON.stringify(options));
      const store = new RedisStore({ client, now: () => Number.NaN });
      await assert.rejects(store.getSession('x'), TypeError);
      await assert.rejects(checkEvictionPolicy({} as RedisCommander), TypeError);
      await assert.rejects(new RedisStore({ client }).getSession(5 as unknown as string), TypeError);
    });
  });
});
