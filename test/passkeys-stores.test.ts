/**
 * `latchkey/passkeys` on every store: challenges in SqliteStore, PostgresStore and RedisStore,
 * credentials in SqliteUserStore and PostgresUserStore, each pair on one test clock. On each, the
 * full ceremony round trip (register → second step → passwordless), and what depends on the store:
 * a challenge used once (SEC-82), expired on the store's clock (SEC-82), a counter that goes back
 * refused by the credential store's conditional write (SEC-83), a removed passkey unusable.
 * PostgreSQL tests run in a schema of their own, Redis under a key prefix of their own; without a
 * server they skip, saying why, and fail in CI (test/support/services.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createClient } from 'redis';
import type { CredentialStore } from '../src/credential-store.ts';
import { createPasskeys, type Passkeys } from '../src/passkeys/index.ts';
import { PostgresStore, PostgresUserStore } from '../src/postgres/index.ts';
import { RedisStore } from '../src/redis/index.ts';
import { SqliteStore, SqliteUserStore } from '../src/sqlite/index.ts';
import { createTestClock, type TestClock } from '../src/testing/clock.ts';
import type { TokenStore } from '../src/token-store.ts';
import type { UserStore } from '../src/user-store.ts';
import { SoftwareAuthenticator } from './support/authenticator.ts';
import { POSTGRES_URL, probePostgres, probeRedis, REDIS_URL, requireService } from './support/services.ts';

const ORIGIN = 'https://app.example';
const FIVE_MINUTES = 5 * 60_000;

const postgres = await requireService('postgres', probePostgres);
const redis = await requireService('redis', probeRedis);
for (const service of [postgres, redis]) if (!service.available) console.log(`# skipping: ${service.reason}`);

let pool: pg.Pool | null = null;
const sharedPool = (): pg.Pool => {
  pool ??= new pg.Pool({ connectionString: POSTGRES_URL, max: 4, connectionTimeoutMillis: 2_000, idleTimeoutMillis: 1_000 });
  pool.on('error', () => {});
  return pool;
};
let redisClient: ReturnType<typeof createClient> | null = null;
const sharedRedis = async () => {
  if (redisClient === null) {
    redisClient = createClient({ url: REDIS_URL, socket: { connectTimeout: 2_000 }, disableOfflineQueue: true });
    redisClient.on('error', () => {});
    await redisClient.connect();
  }
  return redisClient;
};
after(async () => {
  await pool?.end();
  if (redisClient?.isOpen) await redisClient.close();
});

type Cleanup = () => Promise<void>;
type Made<S> = { store: S; cleanup: Cleanup };

/** Each challenge store, on `clock`. */
const CHALLENGE_STORES: Record<string, { skip: string | false; make: (clock: TestClock) => Promise<Made<TokenStore>> }> = {
  SqliteStore: {
    skip: false,
    make: async (clock) => {
      const store = new SqliteStore({ path: ':memory:', now: clock.now, sweepInterval: 0 });
      return { store, cleanup: () => store.close() };
    },
  },
  PostgresStore: {
    skip: postgres.available ? false : postgres.reason,
    make: async (clock) => {
      const schema = `latchkey_test_${randomBytes(8).toString('hex')}`;
      await sharedPool().query(`CREATE SCHEMA "${schema}"`);
      const store = new PostgresStore({ pool: sharedPool(), schema, now: clock.now, sweepInterval: 0 });
      await store.migrate();
      return { store, cleanup: async () => { await store.close(); await sharedPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); } };
    },
  },
  RedisStore: {
    skip: redis.available ? false : redis.reason,
    make: async (clock) => {
      const client = await sharedRedis();
      const prefix = `latchkey-test:${randomBytes(8).toString('hex')}:`;
      const store = new RedisStore({ client, prefix, now: clock.now });
      return {
        store,
        cleanup: async () => {
          await store.close();
          for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
        },
      };
    },
  },
};

/** Each credential store (a user store), on `clock`. */
const CREDENTIAL_STORES: Record<string, { skip: string | false; make: (clock: TestClock) => Promise<Made<UserStore & CredentialStore>> }> = {
  SqliteUserStore: {
    skip: false,
    make: async (clock) => {
      const store = new SqliteUserStore({ path: ':memory:', now: clock.now });
      return { store, cleanup: () => store.close() };
    },
  },
  PostgresUserStore: {
    skip: postgres.available ? false : postgres.reason,
    make: async (clock) => {
      const schema = `latchkey_test_${randomBytes(8).toString('hex')}`;
      await sharedPool().query(`CREATE SCHEMA "${schema}"`);
      const store = new PostgresUserStore({ pool: sharedPool(), schema, now: clock.now });
      return { store, cleanup: async () => { await store.close(); await sharedPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); } };
    },
  },
};

/** Passkeys over a fresh pair of stores, an account, and its authenticator. */
async function setUp(t: { after(fn: () => unknown): void }, challenges: string, credentials: string) {
  const clock = createTestClock(Date.UTC(2026, 0, 5, 9));
  const tokens = await CHALLENGE_STORES[challenges]!.make(clock);
  t.after(tokens.cleanup);
  const users = await CREDENTIAL_STORES[credentials]!.make(clock);
  t.after(users.cleanup);
  const user = await users.store.createUser({ email: 'ada@app.example', emailCanonical: 'ada@app.example', username: null, usernameCanonical: null, name: 'Ada', passwordHash: 'x' });
  assert.ok(user);
  const passkeys = createPasskeys({ rpId: 'app.example', rpName: 'App', origin: ORIGIN, credentials: users.store, challenges: tokens.store });
  return { clock, passkeys, userId: user.id, authenticator: new SoftwareAuthenticator({ origin: ORIGIN }) };
}

async function roundTrip(passkeys: Passkeys, userId: string, authenticator: SoftwareAuthenticator): Promise<string> {
  const options = await passkeys.registrationOptions({ userId, userName: 'ada' });
  const registered = await passkeys.register({ userId, response: authenticator.startRegistration(options), name: 'Laptop' });
  assert.ok(registered.ok, JSON.stringify(registered));
  const step = await passkeys.authenticate({ userId, response: authenticator.startAuthentication(await passkeys.authenticationOptions({ userId })) });
  assert.ok(step.ok && step.userId === userId && step.credential.counter === 1, JSON.stringify(step));
  const login = await passkeys.authenticate({ response: authenticator.startAuthentication(await passkeys.authenticationOptions()) });
  assert.ok(login.ok && login.userId === userId && login.userVerified, JSON.stringify(login));
  const [stored] = await passkeys.list(userId);
  assert.equal(stored?.counter, 2);
  return registered.credential.id;
}

const PAIRS: Array<[string, string]> = [
  ['SqliteStore', 'SqliteUserStore'],
  ['PostgresStore', 'PostgresUserStore'],
  ['RedisStore', 'SqliteUserStore'],
  ['RedisStore', 'PostgresUserStore'],
];

for (const [challenges, credentials] of PAIRS) {
  const skip = CHALLENGE_STORES[challenges]!.skip || CREDENTIAL_STORES[credentials]!.skip;
  describe(`passkeys on ${challenges} (challenges) and ${credentials} (credentials)`, { skip }, () => {
    it('SEC-82, SEC-83: registers a passkey, completes a second step, then logs in without a password', async (t) => {
      const s = await setUp(t, challenges, credentials);
      await roundTrip(s.passkeys, s.userId, s.authenticator);
    });

    it('SEC-82: as the attacker, a reused assertion finds its challenge spent, and a late one finds it expired on the store clock', async (t) => {
      const s = await setUp(t, challenges, credentials);
      await roundTrip(s.passkeys, s.userId, s.authenticator);
      const response = s.authenticator.startAuthentication(await s.passkeys.authenticationOptions());
      const late = s.authenticator.startAuthentication(await s.passkeys.authenticationOptions({ userId: s.userId }));
      assert.equal((await s.passkeys.authenticate({ response })).ok, true);
      assert.deepEqual(await s.passkeys.authenticate({ response }), { ok: false, reason: 'challenge' });
      s.clock.advance(FIVE_MINUTES);
      assert.deepEqual(await s.passkeys.authenticate({ userId: s.userId, response: late }), { ok: false, reason: 'challenge' });
    });

    it('SEC-83: as the attacker, a clone whose counter goes back is refused as regressed, and a removed passkey is unusable', async (t) => {
      const s = await setUp(t, challenges, credentials);
      const options = await s.passkeys.registrationOptions({ userId: s.userId, userName: 'ada' });
      const registered = await s.passkeys.register({ userId: s.userId, response: s.authenticator.startRegistration(options), name: 'Laptop' });
      assert.ok(registered.ok);
      const id = registered.credential.id;
      const clone = s.authenticator.clone(); // its keys and counter copied now
      assert.equal((await s.passkeys.authenticate({ response: s.authenticator.startAuthentication(await s.passkeys.authenticationOptions()) })).ok, true);
      const regressed: unknown[] = [];
      s.passkeys.on('passkeyCounterRegressed', (payload) => regressed.push(payload));
      assert.deepEqual(await s.passkeys.authenticate({ response: clone.startAuthentication(await s.passkeys.authenticationOptions()) }), { ok: false, reason: 'regressed' });
      assert.deepEqual(regressed, [{ userId: s.userId, credentialId: id }]);
      const pending = s.authenticator.startAuthentication(await s.passkeys.authenticationOptions());
      assert.equal(await s.passkeys.remove(s.userId, id), true);
      assert.deepEqual(await s.passkeys.authenticate({ response: pending }), { ok: false, reason: 'invalid' });
    });
  });
}
