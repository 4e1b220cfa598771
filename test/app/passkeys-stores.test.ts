/**
 * The app's passkeys on the other stores it runs on (the app's HTTP contract, "Starting it"): users,
 * credentials, sessions and challenges all in PostgreSQL (`DATABASE_URL=postgres://…`, a database
 * of this test's own, opened by the app as `npm start` opens it), and sessions and challenges in
 * Redis (under a key prefix of the test's own) with users in PostgreSQL. On each, the core flows:
 * add a passkey, a passwordless login recording `hwk`, the second step after a password, a reused
 * challenge refused (SEC-82) and a regressed counter refused (SEC-83). Without a server they skip,
 * saying why, and fail in CI (test/support/services.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { createClient } from 'redis';
import { RedisStore } from 'latchkey/redis';
import { SoftwareAuthenticator } from '../support/authenticator.ts';
import { POSTGRES_URL, probePostgres, probeRedis, REDIS_URL, requireService } from '../support/services.ts';
import { ORIGIN, PASSWORD, seedUser, setup, type Client, type TestApp } from './support.ts';

const postgres = await requireService('postgres', probePostgres);
const redis = await requireService('redis', probeRedis);
for (const service of [postgres, redis]) if (!service.available) console.log(`# skipping: ${service.reason}`);

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A PostgreSQL database of this test's own, dropped after it; its URL. */
async function database(t: TestContext): Promise<string> {
  const name = `latchkey_app_passkeys_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE "${name}"`);
  t.after(() => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.href;
}

let redisClient: ReturnType<typeof createClient> | null = null;
after(async () => {
  if (redisClient?.isOpen) await redisClient.close();
});

/** A RedisStore under a prefix of this test's own, its keys deleted after it. */
async function redisStore(t: TestContext): Promise<RedisStore> {
  if (redisClient === null) {
    redisClient = createClient({ url: REDIS_URL, socket: { connectTimeout: 2_000 }, disableOfflineQueue: true });
    redisClient.on('error', () => {});
    await redisClient.connect();
  }
  const client = redisClient;
  const prefix = `latchkey-app-passkeys:${randomBytes(8).toString('hex')}:`;
  const store = new RedisStore({ client, prefix });
  t.after(async () => {
    await store.close();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
  });
  return store;
}

async function json(client: Client, path: string, body: unknown, status: number) {
  const res = await client.json(path, body);
  assert.equal(res.status, status, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function methodsOf(client: Client): Promise<string[]> {
  const { body } = await client.getJson('/account');
  return body.sessions.find((s: { current: boolean }) => s.current).methods;
}

/** The core flows, on whatever stores `app` opened. */
async function coreFlows(app: TestApp): Promise<void> {
  await seedUser(app);
  const owner = app.client();
  await owner.login();
  const authenticator = new SoftwareAuthenticator({ origin: ORIGIN });
  const created = authenticator.startRegistration(await json(owner, '/account/passkeys/options', {}, 200));
  const added = await json(owner, '/account/passkeys', { credential: created, name: 'Laptop' }, 201);
  assert.deepEqual((await owner.getJson('/account')).body.passkeys.map((p: { id: string }) => p.id), [added.id]);
  const clone = authenticator.clone();

  // Passwordless, recorded as hwk; the same challenge again is refused (SEC-82).
  const browser = app.client();
  const options = await json(browser, '/login/passkey/options', {}, 200);
  await json(browser, '/login/passkey', { credential: authenticator.startAuthentication(options) }, 200);
  assert.deepEqual(await methodsOf(browser), ['hwk']);
  await json(app.client(), '/login/passkey', { credential: authenticator.startAuthentication(options) }, 401);

  // The second step after the password, recorded as pwd + hwk.
  const stepper = app.client();
  assert.deepEqual((await json(stepper, '/login', { login: 'ann@example.com', password: PASSWORD }, 200)).methods, ['passkey']);
  const stepOptions = await json(stepper, '/login/two-factor/passkey/options', {}, 200);
  await json(stepper, '/login/two-factor/passkey', { credential: authenticator.startAuthentication(stepOptions) }, 200);
  assert.deepEqual(await methodsOf(stepper), ['pwd', 'hwk']);

  // A clone with the counter of registration time (SEC-83).
  const cloned = app.client();
  await json(cloned, '/login/passkey', { credential: clone.startAuthentication(await json(cloned, '/login/passkey/options', {}, 200)) }, 401);
  assert.equal(app.logs.filter((line) => line.event === 'passkey_counter_regressed').length, 1);

  // Removed with the fresh login of the step: it logs in no more.
  await json(stepper, `/account/passkeys/${added.id}/delete`, {}, 200);
  await json(app.client(), '/login/passkey', { credential: authenticator.startAuthentication(await json(app.client(), '/login/passkey/options', {}, 200)) }, 401);
}

describe('app passkeys on PostgreSQL (users, credentials, sessions, challenges)', { skip: postgres.available ? false : postgres.reason }, () => {
  it('SEC-82, SEC-83, SEC-84: add, passwordless login as hwk, second step as pwd + hwk, reused challenge and clone refused, removal', async (t) => {
    const url = await database(t);
    const app = await setup(t, { env: { DATABASE_URL: url } });
    await coreFlows(app);
  });
});

describe('app passkeys with sessions and challenges in Redis, users in PostgreSQL', { skip: postgres.available && redis.available ? false : 'PostgreSQL and Redis are both needed' }, () => {
  it('SEC-82, SEC-83, SEC-84: add, passwordless login as hwk, second step as pwd + hwk, reused challenge and clone refused, removal', async (t) => {
    const url = await database(t);
    const sessions = await redisStore(t);
    const app = await setup(t, { env: { DATABASE_URL: url }, wrapStores: (stores) => Object.assign(Object.create(stores), { sessions }) });
    await coreFlows(app);
  });
});
