/**
 * `latchkey/postgres` against a real PostgreSQL: the four conformance suites (sessions and
 * remember-me, throttle counters, one-time tokens, accounts), each test in a schema of its own that it drops
 * afterwards, then what only PostgreSQL has: versioned migrations under an advisory lock, the
 * database's clock, coded failures when the server is unreachable, silent or gone (R-01,
 * ), races across connections and instances, sweeps, named
 * prepared statements, and an import that leaves the driver unloaded. Without a server the file
 * skips, saying why; in CI it fails (test/support/services.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { isServiceUnavailable, SchemaVersionError } from '../src/errors.ts';
import { createLoginManager } from '../src/manager.ts';
import { PostgresStore, PostgresUserStore } from '../src/postgres/index.ts';
import type { NewSession } from '../src/store.ts';
import type { UserRecord } from '../src/user-store.ts';
import { describeCounterStoreConformance, describeCredentialStoreConformance, describeFactorStoreConformance, describeStoreConformance, describeTokenStoreConformance, describeUserStoreConformance, loginTestUser } from '../src/testing/index.ts';
import { POSTGRES_URL, probePostgres, requireService } from './support/services.ts';
import { newUser } from '../src/testing/user-store-fixture.ts';

const UNAVAILABLE = 'ERR_LATCHKEY_STORE_UNAVAILABLE';
/** Names of knowledge-based authentication or password-hint columns, which SEC-11 forbids. */
const KBA_COLUMN = /hint|question|answer|reminder|kba|secret_?q|maiden|pet_?name|birth/i;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const service = await requireService('postgres', probePostgres);
if (!service.available) console.log(`# skipping the PostgreSQL store tests: ${service.reason}`);
const skip = service.available ? false : service.reason;

/** A pool set up as the PostgresStore docs ask: timeouts and an `error` listener. */
function makePool(config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: POSTGRES_URL,
    max: 10,
    connectionTimeoutMillis: 2_000,
    query_timeout: 10_000,
    statement_timeout: 10_000,
    idleTimeoutMillis: 1_000, // the server's connections are shared with other test files
    ...config,
  });
  // An idle client whose connection dies (a test kills one) emits `error` on the pool; unhandled,
  // it would end the process. An app logs it; the tests have nothing more to do.
  pool.on('error', () => {});
  return pool;
}

/** A pool of the test's own, ended when the test ends. */
function testPool(t: { after(fn: () => unknown): void }, config: pg.PoolConfig = {}): pg.Pool {
  const pool = makePool(config);
  t.after(() => pool.end().catch(() => {})); // a test may have ended it already
  return pool;
}

let sharedPool: pg.Pool | null = null;
/** The pool most tests share; made on first use, so a skipped file opens nothing. */
function shared(): pg.Pool {
  sharedPool ??= makePool();
  return sharedPool;
}

/** A fresh schema, `latchkey_test_<random>`, and a way to drop exactly that one. */
async function createSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `latchkey_test_${randomBytes(8).toString('hex')}`;
  await shared().query(`CREATE SCHEMA "${schema}"`);
  return { schema, drop: async () => void (await shared().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)) };
}

/** Runs `test` with a fresh schema, dropped afterwards whatever happens. */
async function withSchema(test: (schema: string) => Promise<void>): Promise<void> {
  const { schema, drop } = await createSchema();
  try {
    await test(schema);
  } finally {
    await drop();
  }
}

async function dbNow(): Promise<number> {
  const { rows } = await shared().query('SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now');
  return Number(rows[0].now);
}

async function countRows(schema: string, table: string): Promise<number> {
  const { rows } = await shared().query(`SELECT count(*)::int AS n FROM "${schema}"."${table}"`);
  return rows[0].n;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');
const randomId = (): string => randomBytes(16).toString('base64url');

function session(fields: Partial<NewSession> = {}): NewSession {
  return {
    id: randomId(),
    secretHash: sha256(randomId()),
    userId: randomId(),
    fresh: true,
    rememberSeries: null,
    identifier: null,
    userAgent: null,
    ipAddress: null,
    idleTimeout: 30 * MINUTE,
    absoluteTimeout: DAY,
    ...fields,
  };
}

/** A TCP port on which nothing listens (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A server that accepts connections and never answers: a database that hangs. */
async function blackhole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Calls every method of both stores, each expected to reject. */
function callEverything(store: PostgresStore, users: PostgresUserStore): Array<[string, Promise<unknown>]> {
  return [
    ['createSession', store.createSession(session())],
    ['getSession', store.getSession(randomId())],
    ['updateSession', store.updateSession(randomId(), { idleTimeout: MINUTE })],
    ['deleteSession', store.deleteSession(randomId())],
    ['listUserSessions', store.listUserSessions(randomId())],
    ['deleteUserSessions', store.deleteUserSessions(randomId())],
    ['createRememberToken', store.createRememberToken({ series: randomId(), validatorHash: 'v', userId: 'u', lifetime: DAY })],
    ['useRememberToken', store.useRememberToken(randomId(), 'v', 'n', 1_000)],
    ['deleteRememberToken', store.deleteRememberToken(randomId())],
    ['deleteUserRememberTokens', store.deleteUserRememberTokens(randomId())],
    ['recordFailure', store.recordFailure('k', MINUTE)],
    ['getCounter', store.getCounter('k')],
    ['clearCounter', store.clearCounter('k')],
    ['createToken', store.createToken({ hash: sha256('t'), userId: 'u', purpose: 'reset', email: null, lifetime: MINUTE })],
    ['findToken', store.findToken(sha256('t'), 'reset')],
    ['consumeToken', store.consumeToken(sha256('t'), 'reset')],
    ['deleteUserTokens', store.deleteUserTokens('u')],
    ['deleteExpired', store.deleteExpired()],
    ['ping', store.ping()],
    ['createUser', users.createUser({ email: 'a@b.c', emailCanonical: 'a@b.c', username: null, usernameCanonical: null, name: 'A', passwordHash: 'h' })],
    ['getUserById', users.getUserById('1')],
    ['getUserByLogin', users.getUserByLogin('a@b.c')],
    ['updatePasswordHash', users.updatePasswordHash('1', 'h')],
    ['setUserActive', users.setUserActive('1', false)],
    ['listUsers', users.listUsers()],
    ['markEmailVerified', users.markEmailVerified('1', 'a@b.c')],
    ['changeEmail', users.changeEmail('1', 'a@b.c', 'a@b.c')],
    ['users.ping', users.ping()],
    ['getTotp', users.getTotp('1')],
    ['beginTotp', users.beginTotp('1', 'secret')],
    ['confirmTotp', users.confirmTotp('1', 'secret', 1)],
    ['deleteTotp', users.deleteTotp('1')],
    ['useTotpStep', users.useTotpStep('1', 1)],
    ['setRecoveryCodes', users.setRecoveryCodes('1', [sha256('code')])],
    ['useRecoveryCode', users.useRecoveryCode('1', sha256('code'))],
    ['countRecoveryCodes', users.countRecoveryCodes('1')],
    ['addCredential', users.addCredential({ id: 'AA', userId: '1', publicKey: 'AA', counter: 0, transports: [], name: 'n' })],
    ['getCredential', users.getCredential('AA')],
    ['listCredentials', users.listCredentials('1')],
    ['useCredential', users.useCredential('AA', 1)],
    ['renameCredential', users.renameCredential('1', 'AA', 'n')],
    ['removeCredential', users.removeCredential('1', 'AA')],
  ];
}

/** Asserts that every call rejects with ERR_LATCHKEY_STORE_UNAVAILABLE keeping the driver's error as cause. */
async function assertAllUnavailable(calls: Array<[string, Promise<unknown>]>, withCause = true): Promise<void> {
  await Promise.all(
    calls.map(([name, call]) =>
      assert.rejects(call, (error: Error & { code?: string }) => {
        assert.equal(error.code, UNAVAILABLE, name);
        if (withCause) assert.ok(error.cause instanceof Error, `${name} keeps the driver's error as cause`);
        return true;
      }),
    ),
  );
}

describe('PostgreSQL stores', { skip }, () => {
  after(async () => {
    await sharedPool?.end();
  });

  describeStoreConformance('PostgresStore', {
    makeStore: async (clock) => {
      const { schema, drop } = await createSchema();
      const store = new PostgresStore({ pool: shared(), schema, now: clock.now, sweepInterval: 0 });
      return { store, cleanup: async () => { await store.close(); await drop(); } };
    },
  });

  describeCounterStoreConformance('PostgresStore', {
    makeStore: async (clock) => {
      const { schema, drop } = await createSchema();
      const store = new PostgresStore({ pool: shared(), schema, now: clock.now, sweepInterval: 0 });
      return { store, cleanup: async () => { await store.close(); await drop(); } };
    },
  });

  describeTokenStoreConformance('PostgresStore', {
    makeStore: async (clock) => {
      const { schema, drop } = await createSchema();
      const store = new PostgresStore({ pool: shared(), schema, now: clock.now, sweepInterval: 0 });
      await store.migrate();
      return {
        store,
        storedTokens: async () => (await shared().query(`SELECT row_to_json(k)::text AS row FROM "${schema}".latchkey_tokens k`)).rows.map((r) => r.row),
        sweep: () => store.deleteExpired(),
        cleanup: async () => { await store.close(); await drop(); },
      };
    },
  });

  describeUserStoreConformance('PostgresUserStore', {
    makeStore: async () => {
      const { schema, drop } = await createSchema();
      const store = new PostgresUserStore({ pool: shared(), schema });
      return { store, cleanup: async () => { await store.close(); await drop(); } };
    },
  });

  describeFactorStoreConformance('PostgresUserStore', {
    makeStore: async () => {
      const { schema, drop } = await createSchema();
      const store = new PostgresUserStore({ pool: shared(), schema });
      return { store, cleanup: async () => { await store.close(); await drop(); } };
    },
  });

  describeCredentialStoreConformance('PostgresUserStore', {
    makeStore: async () => {
      const { schema, drop } = await createSchema();
      const store = new PostgresUserStore({ pool: shared(), schema });
      return { store, cleanup: async () => { await store.close(); await drop(); } };
    },
  });

  describe('PostgresStore schema', () => {
    it('five stores migrating one schema at once all succeed and record schema version 4, with every table and index', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 5 });
        const stores = Array.from({ length: 5 }, () => new PostgresStore({ pool, schema, sweepInterval: 0 }));
        await Promise.all(stores.map((store) => store.migrate()));
        await Promise.all(stores.map((store) => store.migrate())); // idempotent, and memoised
        await new PostgresStore({ pool, schema, sweepInterval: 0 }).migrate(); // a later start: the fast path
        const { rows: meta } = await shared().query(`SELECT key, value FROM "${schema}".latchkey_meta`);
        assert.deepEqual(meta, [{ key: 'schema_version', value: '4' }]);
        const { rows: tables } = await shared().query(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
          [schema],
        );
        assert.deepEqual(tables.map((r) => r.table_name), ['latchkey_counters', 'latchkey_meta', 'latchkey_remember_tokens', 'latchkey_sessions', 'latchkey_tokens']);
        const { rows: indexes } = await shared().query(
          `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname NOT LIKE '%pkey' ORDER BY indexname`,
          [schema],
        );
        assert.deepEqual(indexes.map((r) => r.indexname), [
          'latchkey_counters_expires_at',
          'latchkey_remember_tokens_expires_at',
          'latchkey_remember_tokens_user_id',
          'latchkey_sessions_expires_at',
          'latchkey_sessions_user_id',
          'latchkey_tokens_expires_at',
          'latchkey_tokens_user_id',
        ]);
      }));

    it('five user stores creating one table at once all succeed, and the unique indexes exist', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 5 });
        await Promise.all(Array.from({ length: 5 }, () => new PostgresUserStore({ pool, schema, table: 'accounts' }).migrate()));
        const { rows } = await shared().query(
          `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE 'CREATE UNIQUE%' ORDER BY indexname`,
          [schema],
        );
        assert.deepEqual(rows.map((r) => r.indexname), ['accounts_email_canonical', 'accounts_meta_pkey', 'accounts_passkeys_pkey', 'accounts_pkey', 'accounts_recovery_codes_pkey', 'accounts_totp_pkey', 'accounts_username_canonical']);
      }));

    it('finding 13: five user stores upgrade a table made before email became optional, in place, rows and ids kept', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 5 });
        // The table exactly as PostgresUserStore created it before versioning.
        await shared().query(`
          CREATE TABLE "${schema}".users (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            email text NOT NULL,
            email_canonical text NOT NULL,
            username text,
            username_canonical text,
            name text NOT NULL,
            password_hash text NOT NULL,
            is_active boolean NOT NULL DEFAULT true,
            created_at bigint NOT NULL
          );
          CREATE UNIQUE INDEX "users_email_canonical" ON "${schema}".users (email_canonical);
          CREATE UNIQUE INDEX "users_username_canonical" ON "${schema}".users (username_canonical);
          CREATE TABLE "${schema}".posts (id serial PRIMARY KEY, user_id bigint NOT NULL REFERENCES "${schema}".users (id) ON DELETE CASCADE);
          INSERT INTO "${schema}".users (email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at) VALUES
            ('Ann@Example.com', 'ann@example.com', 'Ann', 'ann', 'Ann', 'hash-ann', true, 1000),
            ('bob@example.com', 'bob@example.com', NULL, NULL, 'Bob', 'hash-bob', false, 2000);
          INSERT INTO "${schema}".posts (user_id) VALUES (1), (2);`);
        const stores = Array.from({ length: 5 }, () => new PostgresUserStore({ pool, schema, now: () => 3000 }));
        await Promise.all(stores.map((store) => store.migrate()));
        const store = stores[0]!;
        assert.deepEqual((await store.listUsers()).map((u) => ({ ...u })), [
          { id: '1', email: 'Ann@Example.com', emailCanonical: 'ann@example.com', username: 'Ann', usernameCanonical: 'ann', name: 'Ann', passwordHash: 'hash-ann', isActive: true, emailVerified: false, createdAt: 1000 },
          { id: '2', email: 'bob@example.com', emailCanonical: 'bob@example.com', username: null, usernameCanonical: null, name: 'Bob', passwordHash: 'hash-bob', isActive: false, emailVerified: false, createdAt: 2000 },
        ]);
        const dan = await store.createUser({ email: null, emailCanonical: null, username: 'dan', usernameCanonical: 'dan', name: 'Dan', passwordHash: 'hash-dan' });
        assert.equal(dan?.id, '3');
        assert.equal(await store.createUser({ email: null, emailCanonical: null, username: 'ANN', usernameCanonical: 'ann', name: 'x', passwordHash: 'x' }), null);
        assert.equal(await countRows(schema, 'posts'), 2);
        const { rows: meta } = await shared().query(`SELECT key, value FROM "${schema}".users_meta`);
        assert.deepEqual(meta, [{ key: 'schema_version', value: '5' }]);
        // The database itself refuses an account with neither identifier, whatever writes to it.
        await assert.rejects(
          shared().query(`INSERT INTO "${schema}".users (name, password_hash, created_at) VALUES ('x', 'x', 0)`),
          { code: '23514' }, // check_violation
        );
      }));

    it('issue 13: five user stores upgrade a version-2 table in place, every account unverified, rows, ids and references kept (SEC-61, SEC-63)', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 5 });
        // The table exactly as migration 2 left it, with its version recorded, and an app table that references it.
        await shared().query(`
          CREATE TABLE "${schema}".users (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            email text,
            email_canonical text,
            username text,
            username_canonical text,
            name text NOT NULL,
            password_hash text NOT NULL,
            is_active boolean NOT NULL DEFAULT true,
            created_at bigint NOT NULL,
            CONSTRAINT "users_email_or_username" CHECK (email_canonical IS NOT NULL OR username_canonical IS NOT NULL)
          );
          CREATE UNIQUE INDEX "users_email_canonical" ON "${schema}".users (email_canonical);
          CREATE UNIQUE INDEX "users_username_canonical" ON "${schema}".users (username_canonical);
          CREATE TABLE "${schema}".users_meta (key text PRIMARY KEY, value text NOT NULL);
          INSERT INTO "${schema}".users_meta (key, value) VALUES ('schema_version', '2');
          CREATE TABLE "${schema}".posts (id serial PRIMARY KEY, user_id bigint NOT NULL REFERENCES "${schema}".users (id) ON DELETE CASCADE);
          INSERT INTO "${schema}".users (email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at) VALUES
            ('Ann@Example.com', 'ann@example.com', NULL, NULL, 'Ann', 'hash-ann', true, 1000),
            (NULL, NULL, 'Bob', 'bob', 'Bob', 'hash-bob', false, 2000);
          INSERT INTO "${schema}".posts (user_id) VALUES (1), (2);`);
        const stores = Array.from({ length: 5 }, () => new PostgresUserStore({ pool, schema, now: () => 3000 }));
        await Promise.all(stores.map((store) => store.migrate()));
        const store = stores[0]!;
        assert.deepEqual((await store.listUsers()).map((u) => ({ ...u })), [
          { id: '1', email: 'Ann@Example.com', emailCanonical: 'ann@example.com', username: null, usernameCanonical: null, name: 'Ann', passwordHash: 'hash-ann', isActive: true, emailVerified: false, createdAt: 1000 },
          { id: '2', email: null, emailCanonical: null, username: 'Bob', usernameCanonical: 'bob', name: 'Bob', passwordHash: 'hash-bob', isActive: false, emailVerified: false, createdAt: 2000 },
        ]);
        // The upgraded table does what the new version promises: proofs, changes, and its index still decides.
        assert.equal(await store.markEmailVerified('1', 'ann@example.com'), true);
        assert.equal(await store.changeEmail('2', 'Ann@example.com', 'ann@example.com'), 'taken');
        assert.equal(await store.changeEmail('2', 'bob@example.com', 'bob@example.com'), 'changed');
        const cy = await store.createUser({ email: 'cy@example.com', emailCanonical: 'cy@example.com', username: null, usernameCanonical: null, name: 'Cy', passwordHash: 'h' });
        assert.equal(cy?.id, '3');
        assert.deepEqual((await store.listUsers()).map((u) => [u.id, u.emailVerified]), [['1', true], ['2', true], ['3', false]]);
        assert.equal(await countRows(schema, 'posts'), 2);
        const { rows: meta } = await shared().query(`SELECT key, value FROM "${schema}".users_meta`);
        assert.deepEqual(meta, [{ key: 'schema_version', value: '5' }]);
        // The database itself keeps an account without an address unverified, whatever writes to it.
        await assert.rejects(
          shared().query(`INSERT INTO "${schema}".users (username, username_canonical, name, password_hash, created_at, email_verified) VALUES ('x', 'x', 'x', 'x', 0, true)`),
          { code: '23514' }, // check_violation
        );
      }));

    it('issue 14: five user stores upgrade a version-3 table in place to hold second factors; deleting an account deletes its factors (SEC-77, SEC-81)', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 5 });
        // The table as migrations 1 to 3 leave it: made by a store, then put back at version 3.
        await new PostgresUserStore({ pool: shared(), schema }).migrate();
        await shared().query(`DROP TABLE "${schema}".users_passkeys, "${schema}".users_totp, "${schema}".users_recovery_codes; UPDATE "${schema}".users_meta SET value = '3';
          INSERT INTO "${schema}".users (email, email_canonical, name, password_hash, created_at, email_verified) VALUES
            ('ann@example.com', 'ann@example.com', 'Ann', 'hash-ann', 1000, true), ('bob@example.com', 'bob@example.com', 'Bob', 'hash-bob', 2000, false);`);
        const stores = Array.from({ length: 5 }, () => new PostgresUserStore({ pool, schema, now: () => 3000 }));
        await Promise.all(stores.map((store) => store.migrate()));
        const store = stores[0]!;
        assert.deepEqual((await store.listUsers()).map((u) => [u.id, u.emailVerified]), [['1', true], ['2', false]]);
        const { rows: meta } = await shared().query(`SELECT key, value FROM "${schema}".users_meta`);
        assert.deepEqual(meta, [{ key: 'schema_version', value: '5' }]);
        for (const id of ['1', '2']) {
          assert.equal(await store.beginTotp(id, 'JBSWY3DPEHPK3PXP'), true);
          assert.equal(await store.confirmTotp(id, 'JBSWY3DPEHPK3PXP', 42), true);
          await store.setRecoveryCodes(id, [sha256(`a${id}`), sha256(`b${id}`)]);
        }
        assert.deepEqual({ ...(await store.getTotp('1')) }, { secret: 'JBSWY3DPEHPK3PXP', confirmed: true, lastStep: 42, createdAt: 3000 });
        // The store has no deletion of its own: the app deletes the row, and the factors go with it.
        await shared().query(`DELETE FROM "${schema}".users WHERE id = 1`);
        assert.equal(await store.getTotp('1'), null);
        assert.equal(await countRows(schema, 'users_recovery_codes'), 2);
        assert.equal(await store.countRecoveryCodes('2'), 2);
        assert.equal((await store.getTotp('2'))?.confirmed, true);
        // And no factor can be written for an account that does not exist.
        assert.equal(await store.beginTotp('1', 'JBSWY3DPEHPK3PXP'), false);
        await store.setRecoveryCodes('1', [sha256('c')]);
        assert.equal(await store.countRecoveryCodes('1'), 0);
      }));

    it('issue 14: five user stores upgrade a version-4 table in place to hold passkeys, factors kept; deleting an account deletes its passkeys (SEC-83)', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 5 });
        // The tables as migrations 1 to 4 leave them: made by a store, then put back at version 4.
        const first = new PostgresUserStore({ pool: shared(), schema });
        const [ann, bob] = [(await first.createUser({ email: 'ann@b.c', emailCanonical: 'ann@b.c', username: null, usernameCanonical: null, name: 'Ann', passwordHash: 'h' }))!,
          (await first.createUser({ email: 'bob@b.c', emailCanonical: 'bob@b.c', username: null, usernameCanonical: null, name: 'Bob', passwordHash: 'h' }))!];
        assert.equal(await first.beginTotp(ann.id, 'JBSWY3DPEHPK3PXP'), true);
        await shared().query(`DROP TABLE "${schema}".users_passkeys; UPDATE "${schema}".users_meta SET value = '4'`);
        const stores = Array.from({ length: 5 }, () => new PostgresUserStore({ pool, schema, now: () => 7000 }));
        await Promise.all(stores.map((store) => store.migrate()));
        const store = stores[0]!;
        const { rows: meta } = await shared().query(`SELECT key, value FROM "${schema}".users_meta`);
        assert.deepEqual(meta, [{ key: 'schema_version', value: '5' }]);
        assert.deepEqual((await store.listUsers()).map((u) => u.id), [ann.id, bob.id]);
        assert.equal((await store.getTotp(ann.id))?.secret, 'JBSWY3DPEHPK3PXP');
        const key = { publicKey: 'pQECAyYgASFYIA', counter: 3, transports: ['internal'], name: 'Laptop' };
        const added = await store.addCredential({ id: 'Y3JlZC1hbm4', userId: ann.id, ...key });
        assert.deepEqual({ ...added, transports: [...added!.transports] }, { id: 'Y3JlZC1hbm4', userId: ann.id, ...key, createdAt: 7000, lastUsedAt: null });
        assert.ok(await store.addCredential({ id: 'Y3JlZC1ib2I', userId: bob.id, ...key }));
        assert.equal(await store.useCredential('Y3JlZC1hbm4', 4), 'ok');
        assert.equal((await store.getCredential('Y3JlZC1hbm4'))?.lastUsedAt, 7000);
        // The store has no deletion of its own: the app deletes the row, and the passkeys go with it.
        await shared().query(`DELETE FROM "${schema}".users WHERE id = $1`, [ann.id]);
        assert.equal(await store.getCredential('Y3JlZC1hbm4'), null);
        assert.equal(await countRows(schema, 'users_passkeys'), 1);
        assert.equal((await store.listCredentials(bob.id)).length, 1);
        assert.equal(await store.addCredential({ id: 'Y3JlZC1hbm4', userId: ann.id, ...key }), null); // no such account
      }));

    it('SEC-11: no table of the stores has a password-hint or security-question (KBA) column', () =>
      withSchema(async (schema) => {
        await new PostgresStore({ pool: shared(), schema, sweepInterval: 0 }).migrate();
        await new PostgresUserStore({ pool: shared(), schema }).migrate();
        const { rows } = await shared().query(
          `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY 1, 2`,
          [schema],
        );
        const columns = rows.map((r) => `${r.table_name}.${r.column_name}`);
        // Not vacuous: the users table and its password column are there to be looked at.
        assert.ok(columns.includes('users.password_hash'), columns.join(' '));
        assert.deepEqual(columns.filter((c) => KBA_COLUMN.test(c)), []);
      }));

    it('keeps its tables under tablePrefix in its schema, and nothing in public', () =>
      withSchema(async (schema) => {
        const store = new PostgresStore({ pool: shared(), schema, tablePrefix: 'auth_', sweepInterval: 0 });
        await store.createSession(session());
        const { rows } = await shared().query(
          `SELECT table_schema, table_name FROM information_schema.tables WHERE table_name LIKE 'auth\\_%' AND table_schema IN ($1, 'public') ORDER BY 2`,
          [schema],
        );
        assert.deepEqual(rows.map((r) => `${r.table_schema}.${r.table_name}`), ['auth_counters', 'auth_meta', 'auth_remember_tokens', 'auth_sessions', 'auth_tokens'].map((t) => `${schema}.${t}`));
      }));

    it('finding 2: upgrades a schema-version-1 database to version 4: a session made before gets authenticatedAt = createdAt', () =>
      withSchema(async (schema) => {
        let time = Date.UTC(2030, 0, 1, 12);
        const store = new PostgresStore({ pool: shared(), schema, now: () => time, sweepInterval: 0 });
        const before = await store.createSession(session());
        // Put the schema back in the state version 1 left it in.
        await shared().query(`DROP TABLE "${schema}".latchkey_tokens; ALTER TABLE "${schema}".latchkey_sessions DROP COLUMN authenticated_at;
          ALTER TABLE "${schema}".latchkey_sessions DROP COLUMN methods; UPDATE "${schema}".latchkey_meta SET value = '1'`);
        time += 60_000;
        const upgraded = new PostgresStore({ pool: shared(), schema, now: () => time, sweepInterval: 0 });
        assert.deepEqual({ ...(await upgraded.getSession(before.id)) }, { ...before, authenticatedAt: before.createdAt });
        const { rows } = await shared().query(`SELECT value FROM "${schema}".latchkey_meta`);
        assert.deepEqual(rows, [{ value: '4' }]);
      }));

    it('upgrades a schema-version-2 database to version 4: adds the tokens table and keeps sessions, remember tokens and counters (SEC-57)', () =>
      withSchema(async (schema) => {
        const store = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        const before = await store.createSession(session());
        const series = randomId();
        await store.createRememberToken({ series, validatorHash: 'v', userId: 'u', lifetime: DAY });
        await store.recordFailure('k', MINUTE);
        // Put the schema back in the state version 2 left it in.
        await shared().query(`DROP TABLE "${schema}".latchkey_tokens; ALTER TABLE "${schema}".latchkey_sessions DROP COLUMN methods;
          UPDATE "${schema}".latchkey_meta SET value = '2'`);
        const upgraded = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        assert.deepEqual({ ...(await upgraded.getSession(before.id)) }, { ...before });
        assert.equal((await upgraded.getCounter('k'))?.count, 1);
        assert.equal(await upgraded.deleteRememberToken(series), true);
        const hash = sha256(randomId());
        await upgraded.createToken({ hash, userId: 'u', purpose: 'verify', email: 'a@example.com', lifetime: DAY });
        assert.equal((await upgraded.consumeToken(hash, 'verify'))?.email, 'a@example.com');
        const { rows } = await shared().query(`SELECT value FROM "${schema}".latchkey_meta`);
        assert.deepEqual(rows, [{ value: '4' }]);
      }));

    it('upgrades a schema-version-3 database to version 4: a session made before records no methods and reads as [] (SEC-84)', () =>
      withSchema(async (schema) => {
        const store = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        const before = await store.createSession(session({ methods: ['pwd'] }));
        // Put the schema back in the state version 3 left it in.
        await shared().query(`ALTER TABLE "${schema}".latchkey_sessions DROP COLUMN methods; UPDATE "${schema}".latchkey_meta SET value = '3'`);
        const upgraded = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        assert.deepEqual({ ...(await upgraded.getSession(before.id)) }, { ...before, methods: [] });
        const after = await upgraded.createSession(session({ userId: before.userId, methods: ['pwd', 'otp'] }));
        const listed = new Map((await upgraded.listUserSessions(before.userId)).map((s) => [s.id, [...s.methods]]));
        assert.deepEqual(listed, new Map([[after.id, ['pwd', 'otp']], [before.id, []]]));
        const { rows } = await shared().query(`SELECT value FROM "${schema}".latchkey_meta`);
        assert.deepEqual(rows, [{ value: '4' }]);
      }));

    it('refuses a schema whose version is newer than it knows with ERR_LATCHKEY_SCHEMA_TOO_NEW, not a retryable 503 (issue 11)', () =>
      withSchema(async (schema) => {
        await new PostgresStore({ pool: shared(), schema, sweepInterval: 0 }).migrate();
        await shared().query(`UPDATE "${schema}".latchkey_meta SET value = '99'`);
        const newer = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        await assert.rejects(newer.ping(), (error: Error & { code: string }) => {
          assert.ok(error instanceof SchemaVersionError);
          assert.equal(error.code, 'ERR_LATCHKEY_SCHEMA_TOO_NEW');
          assert.equal(isServiceUnavailable(error), false);
          assert.match(error.message, /schema version 99/);
          return true;
        });
      }));

    it('refuses a users table whose version is newer than it knows with ERR_LATCHKEY_SCHEMA_TOO_NEW, from migrate() and every call (issue 11)', () =>
      withSchema(async (schema) => {
        await new PostgresUserStore({ pool: shared(), schema }).migrate();
        await shared().query(`UPDATE "${schema}".users_meta SET value = '99'`);
        const newer = new PostgresUserStore({ pool: shared(), schema });
        const refused = (error: Error & { code: string }) => {
          assert.ok(error instanceof SchemaVersionError);
          assert.equal(error.code, 'ERR_LATCHKEY_SCHEMA_TOO_NEW');
          assert.equal(isServiceUnavailable(error), false);
          assert.match(error.message, /users_meta" says schema version 99; this latchkey knows 5/);
          return true;
        };
        await assert.rejects(newer.migrate(), refused);
        await assert.rejects(newer.getUserByLogin('someone@example.com'), refused);
      }));

    it('rejects while its schema is missing and recovers, without a restart, once it exists (R-01, R-02)', async () => {
      const schema = `latchkey_test_${randomBytes(8).toString('hex')}`;
      const store = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
      await assert.rejects(store.getSession(randomId()), (error: Error & { code: string; cause: { code: string } }) => {
        assert.equal(error.code, UNAVAILABLE);
        assert.equal(error.cause.code, '3F000'); // invalid_schema_name: the store does not create schemas
        return true;
      });
      await shared().query(`CREATE SCHEMA "${schema}"`);
      try {
        const created = await store.createSession(session());
        assert.equal((await store.getSession(created.id))?.id, created.id);
      } finally {
        await shared().query(`DROP SCHEMA "${schema}" CASCADE`);
      }
    });
  });

  describe('PostgresStore prepared statements', () => {
    /** The named statements on the pool's one connection, and how often each has run. */
    async function preparedStatements(pool: pg.Pool): Promise<Array<{ name: string; statement: string; runs: number }>> {
      const { rows } = await pool.query(
        'SELECT name, statement, (generic_plans + custom_plans)::int AS runs FROM pg_prepared_statements WHERE NOT from_sql',
      );
      return rows;
    }
    const expectedName = (text: string): string => `lk_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;

    it('reads sessions the same through a pool whose app set type parsers of its own (bigint, boolean, json, text), for every statement that returns one', (t) =>
      withSchema(async (schema) => {
        // An app may parse int8 as BigInt, booleans as words, or text otherwise for its own queries: the
        // session statements take the text as PostgreSQL sent it and must read every field as before.
        const odd: Record<number, (text: string) => unknown> = { 20: (v) => BigInt(v), 16: (v) => (v === 't' ? 'yes' : 'no'), 23: (v) => `int:${v}`, 25: (v) => `text:${v}`, 114: () => ({}) };
        const pool = testPool(t, { types: { getTypeParser: ((oid: number, format?: string) => odd[oid] ?? pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser } });
        const store = new PostgresStore({ pool, schema, sweepInterval: 0 });
        const plain = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        const input = session({ fresh: false, rememberSeries: randomId(), methods: ['pwd', 'otp'] });
        const created = await store.createSession(input);
        const expected = await plain.getSession(input.id);
        assert.ok(expected);
        assert.deepEqual({ ...created }, { ...expected });
        assert.deepEqual({ ...(await store.getSession(input.id)) }, { ...expected });
        assert.deepEqual((await store.listUserSessions(input.userId)).map((s) => ({ ...s })), [{ ...expected }]);
        const touched = await store.updateSession(input.id, { fresh: true });
        assert.equal(touched?.fresh, true);
        assert.equal(touched?.createdAt, expected.createdAt);
        await Promise.all([store.close(), plain.close()]);
      }));

    it('prepares each repeated statement once per connection as lk_ + 16 hex of the SHA-256 of its text, and leaves the migration unnamed', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 1, idleTimeoutMillis: 0 }); // one connection, kept: the one the view describes
        const store = new PostgresStore({ pool, schema, sweepInterval: 0 });
        const other = new PostgresStore({ pool, schema, tablePrefix: 'other_', sweepInterval: 0 });
        const users = new PostgresUserStore({ pool, schema });
        // First: a migration's failed probe of a missing meta table ends the connection (pg.Pool drops it).
        for (const each of [store, other, users]) await each.migrate();
        const created = await store.createSession(session());
        for (let i = 0; i < 3; i++) assert.equal((await store.getSession(created.id))?.id, created.id);
        // Reads made in one turn go to the database as one statement (lib/read-batch).
        const many = await Promise.all([created.id, randomId(), created.id, randomId()].map((id) => store.getSession(id)));
        assert.deepEqual(many.map((s) => s?.id ?? null), [created.id, null, created.id, null]);
        assert.equal(await other.getSession(randomId()), null);
        assert.equal(await users.getUserByLogin('nobody@example.com'), null);

        const statements = await preparedStatements(pool);
        for (const { name } of statements) assert.match(name, /^lk_[0-9a-f]{16}$/);
        const selectSession = (prefix: string) => {
          const found = statements.filter((s) => s.statement.includes(`FROM "${schema}"."${prefix}sessions" s, clock WHERE s.id = ANY(ARRAY(SELECT json_array_elements_text($2::json)))`));
          assert.equal(found.length, 1, `one prepared session SELECT for ${prefix}: ${JSON.stringify(statements, null, 1)}`);
          return found[0] as { name: string; statement: string; runs: number };
        };
        const mine = selectSession('latchkey_');
        assert.equal(mine.name, expectedName(mine.statement));
        assert.equal(mine.runs, 4, 'parsed once, executed three times one after the other and once for four reads at once');
        const theirs = selectSession('other_');
        assert.notEqual(theirs.name, mine.name, 'another table prefix, another name');
        assert.ok(statements.some((s) => s.statement.includes(`FROM "${schema}"."users" WHERE email_canonical = $1`)), 'the user store prepares too');
        for (const oneOff of ['pg_advisory_xact_lock', 'CREATE TABLE', 'schema_version', 'to_regclass']) {
          assert.ok(!statements.some((s) => s.statement.includes(oneOff)), `${oneOff} stays unnamed`);
        }
      }));

    it('reads the users asked for by id in one turn with one statement, at most 128 ids each, and finds 007 as user 7', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 1, idleTimeoutMillis: 0 });
        const users = new PostgresUserStore({ pool, schema });
        await users.migrate();
        const made: UserRecord[] = [];
        for (let i = 0; i < 3; i++) made.push((await users.createUser(newUser()))!);
        const byIds = async () => (await preparedStatements(pool)).find((s) => s.statement.includes('WHERE id = ANY($1::bigint[])'))?.runs ?? 0;
        // One request's user, then the users of 32 requests parsed in one turn.
        assert.equal((await users.getUserById(made[0]!.id))?.id, made[0]!.id);
        assert.equal(await byIds(), 1);
        const ids = Array.from({ length: 32 }, (_, i) => made[i % 3]!.id);
        const got = await Promise.all(ids.map((id) => users.getUserById(id)));
        assert.deepEqual(got.map((u) => u?.id), ids);
        assert.equal(await byIds(), 2, 'one statement for the 32 reads of one turn');
        assert.equal((await users.getUserById(`00${made[1]!.id}`))?.id, made[1]!.id, 'leading zeros name the same account, as `id = $1` did');
        assert.equal(await byIds(), 3);
        // As the attacker: 300 made-up ids in one turn (cookies of sessions that name them cannot be
        // forged, but a caller may loop): never one unbounded statement, and every caller answered.
        const flood = await Promise.all(Array.from({ length: 300 }, (_, i) => users.getUserById(String(10_000_000 + i))));
        assert.ok(flood.every((u) => u === null));
        assert.equal(await byIds(), 6, '300 ids are three statements of at most 128');
      }));
  });

  describe('PostgresStore clock (R-08)', () => {
    it('stamps sessions with the database clock and ends them by it: an app clock 5 min behind keeps nothing alive', (t) =>
      withSchema(async (schema) => {
        const realNow = Date.now;
        t.mock.method(Date, 'now', () => realNow() - 5 * MINUTE);
        const store = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        const before = await dbNow();
        const created = await store.createSession(session({ idleTimeout: 1_000 }));
        const afterCreate = await dbNow();
        assert.ok(created.createdAt >= before && created.createdAt <= afterCreate, 'createdAt is the database time');
        assert.equal(created.expiresAt, created.createdAt + 1_000);
        assert.ok(await store.getSession(created.id));
        await sleep(1_200); // real time: the only clock that can move the database's
        assert.equal(await store.getSession(created.id), null);
        assert.equal(await countRows(schema, 'latchkey_sessions'), 0, 'the expired row was deleted as it was found');
      }));

    it('an app clock 5 min ahead ends neither a session nor a counter early', (t) =>
      withSchema(async (schema) => {
        const realNow = Date.now;
        t.mock.method(Date, 'now', () => realNow() + 5 * MINUTE);
        const store = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        const before = await dbNow();
        const created = await store.createSession(session({ idleTimeout: MINUTE }));
        assert.ok(created.createdAt - before < 5_000, 'createdAt is not the skewed app time');
        assert.ok(await store.getSession(created.id));
        assert.ok(await store.updateSession(created.id, { idleTimeout: MINUTE }));
        const counter = await store.recordFailure(randomId(), MINUTE);
        assert.ok(counter.firstAt - before < 5_000);
        const token = await store.createRememberToken({ series: randomId(), validatorHash: 'v', userId: 'u', lifetime: MINUTE });
        assert.ok(token.expiresAt - before < MINUTE + 5_000);
      }));
  });

  describe('PostgresStore failures (R-01, R-03)', () => {
    it('rejects every method with ERR_LATCHKEY_STORE_UNAVAILABLE, at once, when nothing listens on the port', async (t) => {
      const port = await closedPort();
      const pool = testPool(t, { connectionString: undefined, host: '127.0.0.1', port, user: 'postgres', database: 'test', connectionTimeoutMillis: 500 });
      const started = performance.now();
      await assertAllUnavailable(callEverything(new PostgresStore({ pool, sweepInterval: 0 }), new PostgresUserStore({ pool })));
      assert.ok(performance.now() - started < 2_000);
    });

    it('rejects every method within connectionTimeoutMillis when the server accepts and never answers', async (t) => {
      const hole = await blackhole();
      t.after(hole.close);
      const pool = testPool(t, { connectionString: undefined, host: '127.0.0.1', port: hole.port, user: 'postgres', database: 'test', connectionTimeoutMillis: 300 });
      const started = performance.now();
      await assertAllUnavailable(callEverything(new PostgresStore({ pool, sweepInterval: 0 }), new PostgresUserStore({ pool })));
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 1_500, `rejected after ${Math.round(elapsed)} ms`);
    });

    it('rejects every method with ERR_LATCHKEY_STORE_UNAVAILABLE once the pool has been ended', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 2 });
        const store = new PostgresStore({ pool, schema, sweepInterval: 0 });
        const users = new PostgresUserStore({ pool, schema });
        await store.migrate();
        await users.migrate();
        await pool.end();
        await assertAllUnavailable(callEverything(store, users));
      }));

    it('a connection killed inside the remember-me transaction rejects that call, crashes nothing, and the next call works (R-01, R-02)', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 2 });
        const store = new PostgresStore({ pool, schema, sweepInterval: 0 });
        const token = { series: randomId(), validatorHash: sha256('v1'), userId: randomId(), lifetime: DAY };
        await store.createRememberToken(token);
        // Another session holds the row, so the store's transaction waits in SELECT … FOR UPDATE.
        const blocker = await shared().connect();
        try {
          await blocker.query('BEGIN');
          await blocker.query(`SELECT 1 FROM "${schema}".latchkey_remember_tokens WHERE series = $1 FOR UPDATE`, [token.series]);
          // Settled into a value at once: a rejection must not sit unhandled while the test polls.
          const use = store.useRememberToken(token.series, token.validatorHash, sha256('v2'), 1_000).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          let pid: number | undefined;
          for (let i = 0; i < 300 && pid === undefined; i++) {
            const { rows } = await shared().query(
              `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position($1 IN query) > 0`,
              [`"${schema}"`],
            );
            pid = rows[0]?.pid;
            if (pid === undefined) await sleep(10);
          }
          assert.ok(pid !== undefined, 'the store waits for the row lock');
          await shared().query('SELECT pg_terminate_backend($1)', [pid]); // only this test's own connection
          const outcome = await use;
          assert.ok('error' in outcome, 'the call rejects');
          assert.equal((outcome.error as { code?: string }).code, UNAVAILABLE);
          assert.equal(((outcome.error as Error).cause as { code?: string }).code, '57P01'); // admin_shutdown
        } finally {
          await blocker.query('ROLLBACK');
          blocker.release();
        }
        assert.equal((await store.useRememberToken(token.series, token.validatorHash, sha256('v2'), 1_000))?.status, 'valid');
      }));

    it('a closed store rejects with ERR_LATCHKEY_STORE_UNAVAILABLE, close is idempotent, and the pool stays open', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 1 });
        const store = new PostgresStore({ pool, schema, sweepInterval: 0 });
        const users = new PostgresUserStore({ pool, schema });
        await store.ping();
        await store.close();
        await store.close();
        await users.close();
        await assertAllUnavailable(callEverything(store, users), false);
        await assert.rejects(store.migrate(), { code: UNAVAILABLE });
        assert.deepEqual((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
      }));
  });

  describe('PostgresStore concurrency', () => {
    it('twenty concurrent registrations of one email on twenty connections make exactly one row (R-04)', (t) =>
      withSchema(async (schema) => {
        const pool = testPool(t, { max: 20 });
        const users = new PostgresUserStore({ pool, schema });
        await users.migrate();
        const clients = await Promise.all(Array.from({ length: 20 }, () => pool.connect()));
        for (const client of clients) client.release(); // twenty idle connections, one per registration
        const email = `race.${randomId()}@example.com`;
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            users.createUser({ email, emailCanonical: email.toLowerCase(), username: null, usernameCanonical: null, name: `Racer ${i}`, passwordHash: 'h' }),
          ),
        );
        assert.equal(pool.totalCount, 20);
        assert.equal(results.filter((user) => user !== null).length, 1);
        assert.equal(await countRows(schema, 'users'), 1);
      }));

    it('two instances, 50 concurrent failures each on one key: the counts handed out are exactly 1..100 (R-05, R-07)', (t) =>
      withSchema(async (schema) => {
        const instances = [testPool(t, { max: 5 }), testPool(t, { max: 5 })].map((pool) => new PostgresStore({ pool, schema, sweepInterval: 0 }));
        await Promise.all(instances.map((store) => store.migrate()));
        const key = `throttle:login:account:${randomId()}`;
        const states = await Promise.all(instances.flatMap((store) => Array.from({ length: 50 }, () => store.recordFailure(key, 15 * MINUTE))));
        assert.deepEqual(
          states.map((state) => state.count).sort((a, b) => a - b),
          Array.from({ length: 100 }, (_, i) => i + 1),
        );
        assert.equal((await instances[0]?.getCounter(key))?.count, 100);
      }));

    it('two instances, ten concurrent consumptions of one reset token on ten connections: exactly one gets it (R-05, R-07, SEC-57)', (t) =>
      withSchema(async (schema) => {
        const instances = [testPool(t, { max: 5 }), testPool(t, { max: 5 })].map((pool) => new PostgresStore({ pool, schema, sweepInterval: 0 }));
        await Promise.all(instances.map((store) => store.migrate()));
        const hash = sha256(randomId());
        await instances[0]?.createToken({ hash, userId: randomId(), purpose: 'reset', email: 'a@example.com', lifetime: 60 * MINUTE });
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => instances[i % 2]?.consumeToken(hash, 'reset')));
        assert.equal(results.filter((token) => token !== null).length, 1);
        assert.equal(await countRows(schema, 'latchkey_tokens'), 0);
      }));

    it('two instances, ten concurrent uses of one remember cookie: one rotation, nine grace, no false theft (R-05, SEC-39)', (t) =>
      withSchema(async (schema) => {
        const instances = [testPool(t, { max: 5 }), testPool(t, { max: 5 })].map((pool) => new PostgresStore({ pool, schema, sweepInterval: 0 }));
        const token = { series: randomId(), validatorHash: sha256('current'), userId: randomId(), lifetime: DAY };
        await instances[0]?.createRememberToken(token);
        await instances[1]?.migrate();
        const uses = await Promise.all(
          Array.from({ length: 10 }, (_, i) => instances[i % 2]?.useRememberToken(token.series, token.validatorHash, sha256(`next-${i}`), 30_000)),
        );
        const statuses = uses.map((use) => use?.status);
        assert.equal(statuses.filter((s) => s === 'valid').length, 1, String(statuses));
        assert.equal(statuses.filter((s) => s === 'grace').length, 9, String(statuses));
      }));
  });

  describe('PostgresStore sweeps (R-09)', () => {
    it('deleteExpired removes expired sessions, remember tokens, counters and one-time tokens in one statement, counts them, and keeps live ones', () =>
      withSchema(async (schema) => {
        let now = Date.UTC(2030, 0, 1);
        const store = new PostgresStore({ pool: shared(), schema, now: () => now, sweepInterval: 0 });
        await store.createSession(session({ idleTimeout: MINUTE }));
        const live = await store.createSession(session());
        await store.createRememberToken({ series: randomId(), validatorHash: 'v', userId: 'u', lifetime: MINUTE });
        await store.createRememberToken({ series: randomId(), validatorHash: 'v', userId: 'u', lifetime: DAY });
        await store.recordFailure('short', MINUTE);
        await store.recordFailure('long', DAY);
        await store.createToken({ hash: sha256(randomId()), userId: 'u', purpose: 'reset', email: null, lifetime: MINUTE });
        await store.createToken({ hash: sha256(randomId()), userId: 'u', purpose: 'verify', email: null, lifetime: DAY });
        now += MINUTE;
        assert.equal(await store.deleteExpired(), 4);
        assert.equal(await store.deleteExpired(), 0);
        assert.equal(await countRows(schema, 'latchkey_sessions'), 1);
        assert.equal(await countRows(schema, 'latchkey_remember_tokens'), 1);
        assert.equal(await countRows(schema, 'latchkey_counters'), 1);
        assert.equal(await countRows(schema, 'latchkey_tokens'), 1);
        assert.ok(await store.getSession(live.id));
      }));

    it('deletes an expired counter row as getCounter finds it', () =>
      withSchema(async (schema) => {
        let now = Date.UTC(2030, 0, 1);
        const store = new PostgresStore({ pool: shared(), schema, now: () => now, sweepInterval: 0 });
        await store.recordFailure('old', MINUTE);
        now += MINUTE;
        assert.equal(await store.getCounter('old'), null);
        assert.equal(await countRows(schema, 'latchkey_counters'), 0);
      }));

    it('sweeps in the background every sweepInterval ms, and close() stops the sweep', () =>
      withSchema(async (schema) => {
        let now = Date.UTC(2030, 0, 1);
        const store = new PostgresStore({ pool: shared(), schema, now: () => now, sweepInterval: 20 });
        try {
          await store.createSession(session({ idleTimeout: MINUTE }));
          now += MINUTE;
          for (let i = 0; i < 100 && (await countRows(schema, 'latchkey_sessions')) > 0; i++) await sleep(20);
          assert.equal(await countRows(schema, 'latchkey_sessions'), 0);
        } finally {
          await store.close();
        }
        const writer = new PostgresStore({ pool: shared(), schema, now: () => now, sweepInterval: 0 });
        await writer.createSession(session({ idleTimeout: 1 }));
        now += MINUTE;
        await sleep(100);
        assert.equal(await countRows(schema, 'latchkey_sessions'), 1, 'a closed store no longer sweeps');
      }));
  });

  describe('PostgresStore as the attacker', () => {
    it('after a real login the tables hold only SHA-256 of the cookie secrets, never the secrets (SEC-21)', () =>
      withSchema(async (schema) => {
        const store = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        const users = new PostgresUserStore({ pool: shared(), schema });
        const email = `ada.${randomId()}@example.com`;
        const user = await users.createUser({ email, emailCanonical: email.toLowerCase(), username: null, usernameCanonical: null, name: 'Ada', passwordHash: 'h' });
        assert.ok(user);
        const manager = createLoginManager({ store, secret: randomBytes(32), loadUser: (id) => users.getUserById(id) });
        const cookie = await loginTestUser(manager, user, { remember: true });
        const secrets = cookie.split('; ').map((pair) => pair.slice(pair.indexOf('=') + 1).split('.')[1] as string);
        assert.equal(secrets.length, 2, cookie);
        const { rows } = await shared().query(
          `SELECT (SELECT json_agg(s) FROM "${schema}".latchkey_sessions s)::text || (SELECT json_agg(r) FROM "${schema}".latchkey_remember_tokens r)::text AS dump`,
        );
        for (const secret of secrets) {
          assert.ok(!rows[0].dump.includes(secret), 'raw secret stored');
          assert.ok(rows[0].dump.includes(sha256(secret)), 'its SHA-256 stored');
        }
        const auth = manager.forRequest(new Request('http://localhost/', { headers: { cookie } }));
        assert.equal((await auth.user())?.id, user.id);
      }));

    it('takes SQL metacharacters in ids, user ids and keys as plain data (SEC-73)', () =>
      withSchema(async (schema) => {
        const store = new PostgresStore({ pool: shared(), schema, sweepInterval: 0 });
        const evil = `x'; DROP TABLE "${schema}".latchkey_sessions; --`;
        const created = await store.createSession(session({ userId: evil }));
        assert.equal(await store.getSession(evil), null);
        assert.equal(await store.deleteSession(`' OR '1'='1`), false);
        assert.equal(await store.deleteUserSessions(`' OR '1'='1`), 0);
        assert.deepEqual((await store.listUserSessions(evil)).map((s) => s.id), [created.id]);
        assert.equal((await store.recordFailure(evil, MINUTE)).count, 1);
        assert.equal(await countRows(schema, 'latchkey_sessions'), 1);
      }));

    it('refuses names that would be spliced into SQL, and other misused options, with TypeError at construction', () => {
      const pool = new pg.Pool({ connectionString: POSTGRES_URL }); // never connects: nothing is queried
      const bad: unknown[] = [
        undefined,
        {},
        { pool: {} },
        { pool: { query: () => {} } },
        { pool, schema: 'public; DROP TABLE users' },
        { pool, schema: 'Public' },
        { pool, schema: '"x"' },
        { pool, schema: '' },
        { pool, schema: 'a'.repeat(64) },
        { pool, tablePrefix: 'latchkey-' },
        { pool, tablePrefix: '1st_' },
        { pool, tablePrefix: 'x"; DROP TABLE users; --' },
        { pool, tablePrefix: 'p'.repeat(33) },
        { pool, now: 5 },
        { pool, sweepInterval: -1 },
        { pool, sweepInterval: 1.5 },
        { pool, sweepInterval: 2 ** 31 },
      ];
      for (const options of bad) {
        assert.throws(() => new PostgresStore(options as never), TypeError, inspect(options, { depth: 0 }));
      }
      for (const options of [{ pool, table: 'users; --' }, { pool, schema: 'A' }, { pool, table: 'u'.repeat(45) }, { pool, now: 'x' }]) {
        assert.throws(() => new PostgresUserStore(options as never), TypeError, inspect(options, { depth: 0 }));
      }
    });

    it('rejects non-string ids with TypeError before touching the database (misuse)', async () => {
      const store = new PostgresStore({ pool: shared(), schema: 'latchkey_never_created', sweepInterval: 0 });
      await assert.rejects(store.getSession(42 as never), TypeError);
      await assert.rejects(store.recordFailure({} as never, MINUTE), TypeError);
      await assert.rejects(store.deleteUserSessions('u', null as never), TypeError);
    });
  });
});

it('importing latchkey/postgres does not load the pg driver (an optional peer)', () => {
  const script = new URL('./fixtures/pg-no-driver.ts', import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, ['--conditions=source', script, ...args], { encoding: 'utf8' });
  const plain = run();
  assert.equal(plain.status, 0, plain.stderr);
  assert.deepEqual(JSON.parse(plain.stdout), []);
  const control = run('--control');
  assert.equal(control.status, 0, control.stderr);
  assert.ok(JSON.parse(control.stdout).includes('pg'), 'the hook sees pg when it is imported');
});
