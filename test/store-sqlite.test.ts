/**
 * `latchkey/sqlite`: the conformance suites (sessions on a temporary file and on `:memory:`,
 * counters and one-time tokens on a temporary file), then what only SQLite has: WAL and busy timeout, a
 * versioned schema, sweeps, option checks, coded driver failures and two
 * processes on one file.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { isServiceUnavailable, SchemaVersionError } from '../src/errors.ts';
import { SqliteStore } from '../src/sqlite/index.ts';
import type { SqliteStoreOptions } from '../src/sqlite/index.ts';
import type { NewSession } from '../src/store.ts';
import { describeCounterStoreConformance, describeStoreConformance, describeTokenStoreConformance } from '../src/testing/index.ts';

/** Workers still running: a test that fails half-way must not leave one waiting for ever. */
const workersAlive = new Set<ChildProcess>();
after(() => {
  for (const child of workersAlive) child.kill();
});

/** Two child processes running `script`, each with its exit and its stderr kept for messages. */
function forkWorkers(script: URL, args: string[]) {
  return [0, 1].map(() => {
    const child = fork(script, args, { execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    workersAlive.add(child);
    child.once('exit', () => workersAlive.delete(child));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.resume();
    const exit = once(child, 'exit');
    return { child, exit, stderr: () => stderr };
  });
}

/** Waits for every worker's ready message; a worker that dies first fails the test, never hangs it. */
async function allReady(workers: ReturnType<typeof forkWorkers>): Promise<void> {
  await Promise.all(
    workers.map(({ child, exit, stderr }) =>
      Promise.race([once(child, 'message'), exit.then(() => assert.fail(`worker exited early: ${stderr()}`))]),
    ),
  );
}

function tempDir(): { dir: string; file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-sqlite-'));
  return { dir, file: join(dir, 'sessions.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describeStoreConformance('SqliteStore on a file', {
  makeStore: async (clock) => {
    const temp = tempDir();
    const store = new SqliteStore({ path: temp.file, now: clock.now, sweepInterval: 0 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        temp.remove();
      },
    };
  },
});

describeStoreConformance('SqliteStore in memory', {
  makeStore: async (clock) => {
    const store = new SqliteStore({ path: ':memory:', now: clock.now, sweepInterval: 0 });
    return { store, cleanup: () => store.close() };
  },
});

/** The defaults an app may open its own connection with, none of which the store's statements use. */
const APP_DEFAULTS = { returnArrays: true, readBigInts: true, allowBareNamedParameters: false } as const;

describeStoreConformance('SqliteStore on an app connection opened with returnArrays, readBigInts and no bare parameters (finding 12)', {
  makeStore: async (clock) => {
    const db = new DatabaseSync(':memory:', APP_DEFAULTS);
    const store = new SqliteStore({ database: db, now: clock.now, sweepInterval: 0 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        db.close();
      },
    };
  },
});

const T0 = Date.UTC(2030, 0, 1);
let counter = 0;
function session(fields: Partial<NewSession> = {}): NewSession {
  counter += 1;
  return {
    id: `session-${counter}`,
    secretHash: `hash-${counter}`,
    userId: 'user-1',
    fresh: true,
    rememberSeries: null,
    identifier: null,
    userAgent: null,
    ipAddress: null,
    idleTimeout: 30 * 60_000,
    absoluteTimeout: 24 * 3_600_000,
    ...fields,
  };
}

/** Runs `test` with a store on a fresh file, a second raw connection to inspect it, and a clock. */
async function withFile(
  test: (t: { store: SqliteStore; db: DatabaseSync; file: string; clock: { time: number } }) => Promise<void>,
  options: Partial<SqliteStoreOptions> = {},
): Promise<void> {
  const temp = tempDir();
  const clock = { time: T0 };
  const store = new SqliteStore({ path: temp.file, now: () => clock.time, sweepInterval: 0, ...options } as SqliteStoreOptions);
  const db = new DatabaseSync(temp.file, { timeout: 5_000 });
  try {
    await test({ store, db, file: temp.file, clock });
  } finally {
    await store.close();
    db.close();
    temp.remove();
  }
}

function count(db: DatabaseSync, table: string): number {
  return Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n);
}

describe('SqliteStore', () => {
  it('puts a file database in WAL mode (R-11)', () =>
    withFile(async ({ store, db }) => {
      await store.ping();
      assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    }));

  it('creates its schema once: a second store on the same file shares the data and schema version 5', () =>
    withFile(async ({ store, db, file, clock }) => {
      await store.createSession(session({ id: 'shared' }));
      const second = new SqliteStore({ path: file, now: () => clock.time, sweepInterval: 0 });
      try {
        assert.equal((await second.getSession('shared'))?.id, 'shared');
      } finally {
        await second.close();
      }
      assert.equal(db.prepare(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`).get()?.value, '5');
      const indexes = db
        .prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'latchkey_%' ORDER BY name`)
        .all()
        .map((row) => row.name);
      assert.deepEqual(indexes, [
        'latchkey_counters_expires_at',
        'latchkey_remember_tokens_expires_at',
        'latchkey_remember_tokens_user_id',
        'latchkey_sessions_expires_at',
        'latchkey_sessions_user_id',
        'latchkey_tokens_expires_at',
        'latchkey_tokens_user_id',
      ]);
    }));

  it('finding 2: upgrades a schema-version-2 file to version 5: a session made before gets authenticatedAt = createdAt', () =>
    withFile(async ({ store, db, file, clock }) => {
      const before = await store.createSession(session({ id: 'from-v2' }));
      await store.close();
      // Put the file back in the state version 2 left it in.
      db.exec(`DROP TABLE latchkey_tokens; ALTER TABLE latchkey_sessions DROP COLUMN authenticated_at;
        ALTER TABLE latchkey_sessions DROP COLUMN methods;
        UPDATE latchkey_meta SET value = '2' WHERE key = 'schema_version'`);
      clock.time += 60_000;
      const upgraded = new SqliteStore({ path: file, now: () => clock.time, sweepInterval: 0 });
      try {
        assert.deepEqual({ ...(await upgraded.getSession('from-v2')) }, { ...before, authenticatedAt: before.createdAt });
        assert.equal(db.prepare(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`).get()?.value, '5');
      } finally {
        await upgraded.close();
      }
    }));

  it('upgrades a schema-version-4 file to version 5: a session made before records no methods and reads as [] (SEC-84)', () =>
    withFile(async ({ store, db, file, clock }) => {
      const before = await store.createSession(session({ id: 'from-v4', methods: ['pwd'] }));
      await store.close();
      // Put the file back in the state version 4 left it in.
      db.exec(`ALTER TABLE latchkey_sessions DROP COLUMN methods; UPDATE latchkey_meta SET value = '4' WHERE key = 'schema_version'`);
      const upgraded = new SqliteStore({ path: file, now: () => clock.time, sweepInterval: 0 });
      try {
        assert.deepEqual({ ...(await upgraded.getSession('from-v4')) }, { ...before, methods: [] });
        assert.equal(db.prepare(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`).get()?.value, '5');
        const after = await upgraded.createSession(session({ id: 'after', methods: ['pwd', 'otp'] }));
        assert.deepEqual([...after.methods], ['pwd', 'otp']);
        assert.deepEqual(db.prepare(`SELECT methods FROM latchkey_sessions WHERE id = 'after'`).get()?.methods, '["pwd","otp"]');
      } finally {
        await upgraded.close();
      }
    }));

  it('refuses a database whose schema is newer than it knows with ERR_LATCHKEY_SCHEMA_TOO_NEW, not a retryable 503 (issue 11)', () =>
    withFile(async ({ store, db, file }) => {
      await store.ping();
      db.exec(`UPDATE latchkey_meta SET value = '99' WHERE key = 'schema_version'`);
      const newer = new SqliteStore({ path: file, sweepInterval: 0 });
      try {
        await assert.rejects(newer.ping(), (error: Error & { code: string }) => {
          assert.ok(error instanceof SchemaVersionError);
          assert.equal(error.code, 'ERR_LATCHKEY_SCHEMA_TOO_NEW');
          assert.equal(isServiceUnavailable(error), false);
          assert.match(error.message, /latchkey_meta says schema version 99; this latchkey knows 5/);
          return true;
        });
      } finally {
        await newer.close();
      }
    }));

  it('keeps its tables under tablePrefix, next to the app tables', () =>
    withFile(
      async ({ store, db }) => {
        await store.ping();
        const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).all().map((r) => r.name);
        assert.deepEqual(tables, ['auth_counters', 'auth_meta', 'auth_remember_tokens', 'auth_sessions', 'auth_tokens']);
      },
      { tablePrefix: 'auth_' },
    ));

  it('deletes an expired session row as getSession finds it (SEC-28)', () =>
    withFile(async ({ store, db, clock }) => {
      await store.createSession(session({ id: 'old' }));
      clock.time += 30 * 60_000;
      assert.equal(await store.getSession('old'), null);
      assert.equal(count(db, 'latchkey_sessions'), 0);
    }));

  it('every way a session comes back gives the same frozen plain object, each field from its own column (sessions are read from arrays of values)', () =>
    withFile(async ({ store, clock }) => {
      const made = await store.createSession(
        session({ id: 'shape', secretHash: 'h', userId: 'u-9', fresh: false, rememberSeries: 'series', identifier: 'fp', userAgent: 'ua', ipAddress: '192.0.2.1', methods: ['pwd', 'otp'] }),
      );
      clock.time += 3 * 60_000;
      const touched = await store.updateSession('shape', { idleTimeout: 30 * 60_000 });
      const expected = {
        id: 'shape', secretHash: 'h', userId: 'u-9', fresh: false, rememberSeries: 'series', identifier: 'fp', userAgent: 'ua', ipAddress: '192.0.2.1',
        createdAt: T0, authenticatedAt: T0, lastSeenAt: T0 + 3 * 60_000, expiresAt: T0 + 33 * 60_000, absoluteExpiresAt: T0 + 24 * 3_600_000, methods: ['pwd', 'otp'],
      };
      assert.deepStrictEqual({ ...made }, { ...expected, lastSeenAt: T0, expiresAt: T0 + 30 * 60_000 });
      for (const read of [touched, await store.getSession('shape'), (await store.listUserSessions('u-9'))[0]]) {
        assert.ok(read !== null && read !== undefined);
        assert.ok(Object.isFrozen(read));
        assert.equal(Object.getPrototypeOf(read), Object.prototype);
        assert.deepStrictEqual({ ...read }, expected);
      }
    }));

  it('reads the sessions asked for in one turn with one statement at its end: a logout committed by another connection in that turn is seen (SEC-31)', () =>
    withFile(async ({ store, db }) => {
      for (const id of ['a', 'b']) await store.createSession(session({ id }));
      const reads = [store.getSession('a'), store.getSession('b')];
      db.prepare('DELETE FROM latchkey_sessions WHERE id = ?').run('a'); // another instance's logout, same turn
      assert.deepEqual((await Promise.all(reads)).map((s) => s?.id ?? null), [null, 'b']);
    }));

  it('deleteExpired removes expired sessions and remember tokens, returns how many, and keeps live ones (R-09)', () =>
    withFile(async ({ store, db, clock }) => {
      await store.createSession(session({ idleTimeout: 60_000 }));
      await store.createSession(session({ idleTimeout: 60_000 }));
      await store.createSession(session({ id: 'live' }));
      await store.createRememberToken({ series: 'old', validatorHash: 'h', userId: 'u', lifetime: 60_000 });
      await store.createRememberToken({ series: 'new', validatorHash: 'h', userId: 'u', lifetime: 3_600_000 });
      clock.time += 60_000;
      assert.equal(await store.deleteExpired(), 3);
      assert.equal(count(db, 'latchkey_sessions'), 1);
      assert.equal(count(db, 'latchkey_remember_tokens'), 1);
      assert.equal(await store.deleteExpired(), 0);
      assert.ok(await store.getSession('live'));
    }));

  it('sweeps expired rows in the background every sweepInterval ms (R-09)', () =>
    withFile(
      async ({ store, db, clock }) => {
        await store.createSession(session({ idleTimeout: 60_000 }));
        clock.time += 60_000;
        for (let i = 0; i < 100 && count(db, 'latchkey_sessions') > 0; i++) await sleep(10);
        assert.equal(count(db, 'latchkey_sessions'), 0);
      },
      { sweepInterval: 10 },
    ));

  it('rejects misused options with TypeError at construction', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { path: '' },
      { path: ':memory:', database: new DatabaseSync(':memory:') },
      { database: {} },
      { path: ':memory:', now: 5 },
      { path: ':memory:', busyTimeout: -1 },
      { path: ':memory:', busyTimeout: 1.5 },
      { path: ':memory:', sweepInterval: Number.NaN },
      { path: ':memory:', sweepInterval: 2 ** 31 },
      { path: ':memory:', tablePrefix: 'latchkey-' },
      { path: ':memory:', tablePrefix: '1st_' },
      { path: ':memory:', tablePrefix: 'x; DROP TABLE users; --' },
      { path: ':memory:', tablePrefix: '' },
    ];
    for (const options of bad) {
      assert.throws(() => new SqliteStore(options as SqliteStoreOptions), TypeError, JSON.stringify(options));
    }
  });

  it('a closed store rejects every method with ERR_LATCHKEY_STORE_UNAVAILABLE, and close is idempotent (R-01)', async () => {
    const store = new SqliteStore({ path: ':memory:', sweepInterval: 0 });
    await store.createSession(session({ id: 'before-close' }));
    await store.close();
    await store.close();
    await assert.rejects(store.getSession('before-close'), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    await assert.rejects(store.createSession(session()), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    await assert.rejects(store.useRememberToken('s', 'v', 'n', 0), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    await assert.rejects(store.ping(), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
  });

  it('turns a real driver failure (the connection closed underneath it) into ERR_LATCHKEY_STORE_UNAVAILABLE with the cause kept (R-01)', async () => {
    const db = new DatabaseSync(':memory:');
    const store = new SqliteStore({ database: db, sweepInterval: 0 });
    await store.createSession(session({ id: 'x' }));
    db.close();
    const error = await store.getSession('x').then(
      () => assert.fail('resolved'),
      (e: unknown) => e as Error & { code: string; cause: Error & { code: string } },
    );
    assert.equal(error.code, 'ERR_LATCHKEY_STORE_UNAVAILABLE');
    assert.equal(error.cause.code, 'ERR_INVALID_STATE'); // node:sqlite's own error
    await store.close();
  });

  it('rejects, not throws, when the file cannot be opened, naming it, and recovers once it can (R-01, R-02)', async () => {
    const temp = tempDir();
    mkdirSync(temp.file); // a folder where the file should be
    const store = new SqliteStore({ path: temp.file, sweepInterval: 0 });
    try {
      await assert.rejects(store.ping(), (e: Error & { code: string; cause: unknown }) => {
        assert.equal(e.code, 'ERR_LATCHKEY_STORE_UNAVAILABLE');
        assert.ok(e.message.includes(temp.file), e.message);
        assert.ok(e.cause instanceof Error);
        return true;
      });
      rmSync(temp.file, { recursive: true });
      await store.ping();
      assert.equal(await store.getSession('nobody'), null);
    } finally {
      await store.close();
      temp.remove();
    }
  });

  it('finding 14: a path whose folder does not exist throws at construction, naming the path and the cause', () => {
    const temp = tempDir();
    try {
      const path = join(temp.dir, 'missing', 'sessions.db');
      assert.throws(() => new SqliteStore({ path, sweepInterval: 0 }), (e: Error & { code: string; cause: NodeJS.ErrnoException }) => {
        assert.equal(e.code, 'ERR_LATCHKEY_STORE_UNAVAILABLE');
        assert.ok(e.message.includes(path), e.message);
        assert.match(e.message, /does not exist/);
        assert.equal(e.cause.code, 'ENOENT');
        return true;
      });
      // A relative path is checked against the working directory, as SQLite opens it.
      assert.throws(() => new SqliteStore({ path: './latchkey-no-such-folder/app.db', sweepInterval: 0 }), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    } finally {
      temp.remove();
    }
  });

  it('finding 11: creates its database file readable by its owner only (0600), -wal and -shm too, under umask 022', async () => {
    const temp = tempDir();
    const previous = process.umask(0o022);
    try {
      const store = new SqliteStore({ path: temp.file, sweepInterval: 0 });
      await store.createSession(session({ id: 'private' }));
      for (const file of [temp.file, `${temp.file}-wal`, `${temp.file}-shm`]) assert.equal(statSync(file).mode & 0o777, 0o600, file);
      await store.close();
      // A file that exists keeps the mode its owner gave it.
      chmodSync(temp.file, 0o640);
      const again = new SqliteStore({ path: temp.file, sweepInterval: 0 });
      await again.ping();
      assert.equal(statSync(temp.file).mode & 0o777, 0o640);
      await again.close();
    } finally {
      process.umask(previous);
      temp.remove();
    }
  });

  it("shares an app's connection without closing it and gives it a busy timeout when it has none (R-03)", async () => {
    const temp = tempDir();
    const db = new DatabaseSync(temp.file);
    try {
      db.exec('CREATE TABLE users (id TEXT PRIMARY KEY)');
      const store = new SqliteStore({ database: db, sweepInterval: 0 });
      await store.createSession(session({ id: 'app' }));
      await store.close();
      assert.equal(db.isOpen, true);
      assert.equal(db.prepare('PRAGMA busy_timeout').get()?.timeout, 5_000);
      assert.equal(count(db, 'latchkey_sessions'), 1);
    } finally {
      db.close();
      temp.remove();
    }
  });

  it('gives numbers and objects on an app connection opened with readBigInts, returnArrays and no bare parameters', async () => {
    const db = new DatabaseSync(':memory:', { readBigInts: true, returnArrays: true, allowBareNamedParameters: false });
    const store = new SqliteStore({ database: db, sweepInterval: 0, now: () => T0 });
    try {
      await store.createSession(session({ id: 'typed', fresh: false }));
      const got = await store.getSession('typed');
      assert.equal(got?.createdAt, T0);
      assert.equal(got?.fresh, false);
      assert.equal((await store.listUserSessions('user-1'))[0]?.expiresAt, T0 + 30 * 60_000);
    } finally {
      await store.close();
      db.close();
    }
  });

  it('two processes on one file, 500 session cycles each at once, both finish without SQLITE_BUSY (R-11)', { timeout: 120_000 }, async () => {
    const temp = tempDir();
    try {
      const script = new URL('./fixtures/sqlite-worker.ts', import.meta.url);
      const workers = forkWorkers(script, [temp.file, '500']);
      // A worker that dies while creating the schema must fail the test, not leave it waiting.
      await allReady(workers);
      for (const { child } of workers) child.send('go');
      const codes = await Promise.all(workers.map(({ exit }) => exit));
      for (const [i, worker] of workers.entries()) {
        assert.doesNotMatch(worker.stderr(), /SQLITE_BUSY|database is locked/i);
        assert.deepEqual(codes[i], [0, null], worker.stderr());
      }
      const db = new DatabaseSync(temp.file);
      assert.equal(count(db, 'latchkey_sessions'), 0);
      db.close();
    } finally {
      temp.remove();
    }
  });
});

describeCounterStoreConformance('SqliteStore on a file', {
  makeStore: async (clock) => {
    const temp = tempDir();
    const store = new SqliteStore({ path: temp.file, now: clock.now, sweepInterval: 0 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        temp.remove();
      },
    };
  },
});

describe('SqliteStore throttle counters', () => {
  it('upgrades a schema-version-1 file to version 5: adds the counters table and keeps the sessions', () =>
    withFile(async ({ store, db, file, clock }) => {
      await store.createSession(session({ id: 'from-v1' }));
      await store.close();
      // Put the file back in the state version 1 left it in.
      db.exec(`DROP TABLE latchkey_counters; DROP TABLE latchkey_tokens; ALTER TABLE latchkey_sessions DROP COLUMN authenticated_at;
        ALTER TABLE latchkey_sessions DROP COLUMN methods;
        UPDATE latchkey_meta SET value = '1' WHERE key = 'schema_version'`);
      const upgraded = new SqliteStore({ path: file, now: () => clock.time, sweepInterval: 0 });
      try {
        assert.equal((await upgraded.getSession('from-v1'))?.id, 'from-v1');
        assert.equal((await upgraded.recordFailure('k', 60_000)).count, 1);
        assert.equal(db.prepare(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`).get()?.value, '5');
      } finally {
        await upgraded.close();
      }
    }));

  it('deleteExpired also removes expired counters and keeps live ones (R-09)', () =>
    withFile(async ({ store, db, clock }) => {
      await store.recordFailure('short-1', 60_000);
      await store.recordFailure('short-2', 60_000);
      await store.recordFailure('long', 3_600_000);
      clock.time += 60_000;
      assert.equal(await store.deleteExpired(), 2);
      assert.equal(count(db, 'latchkey_counters'), 1);
      assert.equal((await store.getCounter('long'))?.count, 1);
    }));

  it('deletes an expired counter row as getCounter finds it', () =>
    withFile(async ({ store, db, clock }) => {
      await store.recordFailure('old', 60_000);
      clock.time += 60_000;
      assert.equal(await store.getCounter('old'), null);
      assert.equal(count(db, 'latchkey_counters'), 0);
    }));

  it('a closed store rejects the counter methods with ERR_LATCHKEY_STORE_UNAVAILABLE (R-01, SEC-55)', async () => {
    const store = new SqliteStore({ path: ':memory:', sweepInterval: 0 });
    await store.recordFailure('k', 60_000);
    await store.close();
    await assert.rejects(store.recordFailure('k', 60_000), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    await assert.rejects(store.getCounter('k'), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    await assert.rejects(store.clearCounter('k'), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
  });

  it('two processes on one file, 200 failures each on one key at once: the count is 400 and every count 1..400 was handed out once (R-07, R-05)', { timeout: 120_000 }, async () => {
    const temp = tempDir();
    try {
      const script = new URL('./fixtures/counter-worker.ts', import.meta.url);
      const key = 'throttle:login:account:shared';
      const workers = forkWorkers(script, [temp.file, key, '200']);
      await allReady(workers);
      const results = workers.map(({ child, exit, stderr }) =>
        Promise.race([
          once(child, 'message').then(([message]) => (message as { counts: number[] }).counts),
          exit.then(() => assert.fail(`worker exited without its counts: ${stderr()}`)),
        ]),
      );
      for (const { child } of workers) child.send('go');
      const counts = await Promise.all(results);
      const codes = await Promise.all(workers.map(({ exit }) => exit));
      for (const [i, worker] of workers.entries()) {
        assert.doesNotMatch(worker.stderr(), /SQLITE_BUSY|database is locked/i);
        assert.deepEqual(codes[i], [0, null], worker.stderr());
      }
      assert.deepEqual(
        counts.flat().sort((a, b) => a - b),
        Array.from({ length: 400 }, (_, i) => i + 1),
      );
      const store = new SqliteStore({ path: temp.file, sweepInterval: 0 });
      try {
        assert.equal((await store.getCounter(key))?.count, 400);
      } finally {
        await store.close();
      }
    } finally {
      temp.remove();
    }
  });
});

/** Every row of the store's one-time token table, as JSON, read through another connection. */
function tokenRows(db: DatabaseSync, table = 'latchkey_tokens'): string[] {
  return db.prepare(`SELECT * FROM ${table}`).all().map((row) => JSON.stringify(row));
}

describeTokenStoreConformance('SqliteStore on a file', {
  makeStore: async (clock) => {
    const temp = tempDir();
    const store = new SqliteStore({ path: temp.file, now: clock.now, sweepInterval: 0 });
    await store.ping(); // creates the file and its tables, so that a second connection sees them
    const db = new DatabaseSync(temp.file, { timeout: 5_000 });
    return {
      store,
      storedTokens: async () => tokenRows(db),
      sweep: () => store.deleteExpired(),
      cleanup: async () => {
        await store.close();
        db.close();
        temp.remove();
      },
    };
  },
});

describe('SqliteStore one-time tokens', () => {
  it('upgrades a schema-version-3 file to version 5: adds the tokens table and keeps sessions, remember tokens and counters (SEC-57)', () =>
    withFile(async ({ store, db, file, clock }) => {
      await store.createSession(session({ id: 'from-v3' }));
      await store.createRememberToken({ series: 'kept', validatorHash: 'h', userId: 'u', lifetime: 3_600_000 });
      await store.recordFailure('k', 60_000);
      await store.close();
      // Put the file back in the state version 3 left it in.
      db.exec(`DROP TABLE latchkey_tokens; ALTER TABLE latchkey_sessions DROP COLUMN methods;
        UPDATE latchkey_meta SET value = '3' WHERE key = 'schema_version'`);
      const upgraded = new SqliteStore({ path: file, now: () => clock.time, sweepInterval: 0 });
      try {
        assert.equal((await upgraded.getSession('from-v3'))?.id, 'from-v3');
        assert.equal((await upgraded.getCounter('k'))?.count, 1);
        assert.equal(await upgraded.deleteRememberToken('kept'), true);
        const hash = 'h'.repeat(43);
        await upgraded.createToken({ hash, userId: 'u', purpose: 'reset', email: 'a@example.com', lifetime: 60_000 });
        assert.equal((await upgraded.consumeToken(hash, 'reset'))?.email, 'a@example.com');
        assert.equal(db.prepare(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`).get()?.value, '5');
      } finally {
        await upgraded.close();
      }
    }));

  it('deleteExpired removes expired one-time tokens with the rest, counts them, and keeps live ones (R-09)', () =>
    withFile(async ({ store, db, clock }) => {
      const token = (c: string, lifetime: number) => ({ hash: c.repeat(43), userId: 'u', purpose: 'verify', email: null, lifetime });
      await store.createToken(token('a', 60_000));
      await store.createToken(token('b', 60_000));
      await store.createToken(token('c', 24 * 3_600_000));
      await store.createSession(session({ idleTimeout: 60_000 }));
      clock.time += 60_000;
      assert.equal(await store.deleteExpired(), 3);
      assert.deepEqual(tokenRows(db).map((row) => JSON.parse(row).hash), ['c'.repeat(43)]);
    }));

  it('sweeps expired one-time tokens in the background every sweepInterval ms (R-09)', () =>
    withFile(
      async ({ store, db, clock }) => {
        await store.createToken({ hash: 'x'.repeat(43), userId: 'u', purpose: 'reset', email: null, lifetime: 60_000 });
        clock.time += 60_000;
        for (let i = 0; i < 100 && count(db, 'latchkey_tokens') > 0; i++) await sleep(10);
        assert.equal(count(db, 'latchkey_tokens'), 0);
      },
      { sweepInterval: 10 },
    ));
});
