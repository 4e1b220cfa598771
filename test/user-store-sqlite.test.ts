import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { isServiceUnavailable, SchemaVersionError } from '../src/errors.ts';
import { SqliteStore } from '../src/sqlite/index.ts';
import { SqliteUserStore } from '../src/sqlite/user-store.ts';
import { describeCredentialStoreConformance, describeFactorStoreConformance, describeUserStoreConformance } from '../src/testing/index.ts';

function tempPath(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-users-'));
  return { path: join(dir, 'users.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describeUserStoreConformance('sqlite file', {
  makeStore: async () => {
    const { path, remove } = tempPath();
    const store = new SqliteUserStore({ path });
    return { store, cleanup: async () => { await store.close(); remove(); } };
  },
});

// An app that shares its connection may have opened it with any defaults: the store's statements
// must give objects of numbers and strings with bare named parameters all the same.
describeUserStoreConformance('SqliteUserStore on an app connection opened with returnArrays, readBigInts and no bare parameters (finding 12)', {
  makeStore: async () => {
    const db = new DatabaseSync(':memory:', { returnArrays: true, readBigInts: true, allowBareNamedParameters: false });
    const store = new SqliteUserStore({ database: db });
    return { store, cleanup: async () => { await store.close(); db.close(); } };
  },
});

describeFactorStoreConformance('SqliteUserStore file', {
  makeStore: async () => {
    const { path, remove } = tempPath();
    const store = new SqliteUserStore({ path });
    return { store, cleanup: async () => { await store.close(); remove(); } };
  },
});

describeFactorStoreConformance('SqliteUserStore on an app connection opened with returnArrays, readBigInts and no bare parameters (finding 12)', {
  makeStore: async () => {
    const db = new DatabaseSync(':memory:', { returnArrays: true, readBigInts: true, allowBareNamedParameters: false });
    const store = new SqliteUserStore({ database: db });
    return { store, cleanup: async () => { await store.close(); db.close(); } };
  },
});

describeCredentialStoreConformance('SqliteUserStore file', {
  makeStore: async () => {
    const { path, remove } = tempPath();
    const store = new SqliteUserStore({ path });
    return { store, cleanup: async () => { await store.close(); remove(); } };
  },
});

describeCredentialStoreConformance('SqliteUserStore on an app connection opened with returnArrays, readBigInts and no bare parameters (finding 12)', {
  makeStore: async () => {
    const db = new DatabaseSync(':memory:', { returnArrays: true, readBigInts: true, allowBareNamedParameters: false });
    const store = new SqliteUserStore({ database: db });
    return { store, cleanup: async () => { await store.close(); db.close(); } };
  },
});

describe('SqliteUserStore', () => {
  it('shares an app-owned connection and leaves it open on close', async () => {
    const db = new DatabaseSync(':memory:');
    const store = new SqliteUserStore({ database: db, table: 'accounts' });
    await store.listUsers();
    await store.close();
    assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'accounts'").get() as { n: number }).n, 1);
    db.close();
  });

  it('every way a user comes back gives the same frozen plain object, each field from its own column (users are read from arrays of values)', async () => {
    const db = new DatabaseSync(':memory:');
    const store = new SqliteUserStore({ database: db, now: () => 1_700_000_000_000 });
    const made = await store.createUser({ email: 'Ann@Example.com', emailCanonical: 'ann@example.com', username: 'Ann', usernameCanonical: 'ann', name: 'Ann N', passwordHash: '$argon2id$x', isActive: false, emailVerified: true });
    assert.ok(made !== null);
    const expected = { id: made.id, email: 'Ann@Example.com', emailCanonical: 'ann@example.com', username: 'Ann', usernameCanonical: 'ann', name: 'Ann N', passwordHash: '$argon2id$x', isActive: false, emailVerified: true, createdAt: 1_700_000_000_000 };
    assert.match(made.id, /^\d+$/);
    for (const user of [made, await store.getUserById(made.id), await store.getUserByLogin('ann'), await store.getUserByLogin('ann@example.com'), (await store.listUsers())[0]]) {
      assert.ok(user !== null && user !== undefined);
      assert.ok(Object.isFrozen(user));
      assert.equal(Object.getPrototypeOf(user), Object.prototype);
      assert.deepStrictEqual({ ...user }, expected);
    }
    await store.close();
    db.close();
  });

  it('refuses a users table whose schema is newer than it knows with ERR_LATCHKEY_SCHEMA_TOO_NEW, not a retryable 503 (issue 11)', async () => {
    const db = new DatabaseSync(':memory:');
    await new SqliteUserStore({ database: db }).listUsers(); // creates the table at the version this code knows
    db.exec(`UPDATE users_meta SET value = '99' WHERE key = 'schema_version'`);
    const newer = new SqliteUserStore({ database: db });
    await assert.rejects(newer.ping(), (error: Error & { code: string }) => {
      assert.ok(error instanceof SchemaVersionError);
      assert.equal(error.code, 'ERR_LATCHKEY_SCHEMA_TOO_NEW');
      assert.equal(isServiceUnavailable(error), false);
      assert.match(error.message, /users_meta says schema version 99; this latchkey knows 5/);
      return true;
    });
    db.close();
  });

  it('SEC-11: no table of the SQLite stores has a password-hint or security-question (KBA) column', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    const users = new SqliteUserStore({ path });
    await users.listUsers(); // creates the table
    const sessions = new SqliteStore({ path, sweepInterval: 0 });
    await sessions.ping();
    const db = new DatabaseSync(path, { readOnly: true });
    const columns = (db.prepare(`SELECT m.name AS tbl, c.name AS col FROM sqlite_master m, pragma_table_info(m.name) c
      WHERE m.type = 'table' ORDER BY 1, 2`).all() as Array<{ tbl: string; col: string }>).map((r) => `${r.tbl}.${r.col}`);
    db.close();
    await users.close();
    await sessions.close();
    // Not vacuous: the users table and its password column are there to be looked at.
    assert.ok(columns.includes('users.password_hash'), columns.join(' '));
    assert.deepEqual(columns.filter((c) => /hint|question|answer|reminder|kba|secret_?q|maiden|pet_?name|birth/i.test(c)), []);
  });

  it('finding 13: upgrades a table made before email became optional in place: rows, ids, the app\'s references and the id sequence kept', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    const old = new DatabaseSync(path);
    // The table exactly as SqliteUserStore created it before versioning, and an app table that
    // references it with ON DELETE CASCADE: a careless rebuild would empty the app's table.
    old.exec(`
      CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL,
        email_canonical TEXT NOT NULL,
        username TEXT,
        username_canonical TEXT,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        is_active INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX users_email_canonical ON users (email_canonical);
      CREATE UNIQUE INDEX users_username_canonical ON users (username_canonical);
      CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, body TEXT);
      INSERT INTO users (email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at) VALUES
        ('Ann@Example.com', 'ann@example.com', 'Ann', 'ann', 'Ann', 'hash-ann', 1, 1000),
        ('bob@example.com', 'bob@example.com', NULL, NULL, 'Bob', 'hash-bob', 0, 2000),
        ('cy@example.com', 'cy@example.com', NULL, NULL, 'Cy', 'hash-cy', 1, 3000);
      DELETE FROM users WHERE id = 3;
      INSERT INTO posts (user_id, body) VALUES (1, 'hello'), (2, 'world');
    `);
    old.close();

    const store = new SqliteUserStore({ path, now: () => 4000 });
    t.after(() => store.close());
    assert.deepEqual((await store.listUsers()).map((u) => ({ ...u })), [
      { id: '1', email: 'Ann@Example.com', emailCanonical: 'ann@example.com', username: 'Ann', usernameCanonical: 'ann', name: 'Ann', passwordHash: 'hash-ann', isActive: true, emailVerified: false, createdAt: 1000 },
      { id: '2', email: 'bob@example.com', emailCanonical: 'bob@example.com', username: null, usernameCanonical: null, name: 'Bob', passwordHash: 'hash-bob', isActive: false, emailVerified: false, createdAt: 2000 },
    ]);
    const dan = await store.createUser({ email: null, emailCanonical: null, username: 'dan', usernameCanonical: 'dan', name: 'Dan', passwordHash: 'hash-dan' });
    assert.equal(dan?.id, '4'); // id 3 belonged to a deleted account: never handed out again
    assert.equal(await store.createUser({ email: 'ANN@example.com', emailCanonical: 'ann@example.com', username: null, usernameCanonical: null, name: 'x', passwordHash: 'x' }), null);
    assert.equal(await store.createUser({ email: null, emailCanonical: null, username: 'ANN', usernameCanonical: 'ann', name: 'x', passwordHash: 'x' }), null);

    const db = new DatabaseSync(path);
    t.after(() => db.close());
    assert.deepEqual(db.prepare('SELECT user_id, body FROM posts ORDER BY id').all().map((row) => ({ ...row })), [{ user_id: 1, body: 'hello' }, { user_id: 2, body: 'world' }]);
    assert.deepEqual(db.prepare('PRAGMA foreign_key_check').all(), []);
    assert.equal(db.prepare(`SELECT value FROM users_meta WHERE key = 'schema_version'`).get()?.value, '5');
    const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL ORDER BY name").all();
    assert.deepEqual(indexes.map((row) => row.name), ['users_email_canonical', 'users_username_canonical']);
    assert.equal(db.prepare('PRAGMA foreign_keys').get()?.foreign_keys, 1);

    const again = new SqliteUserStore({ path }); // a later start: already current, nothing changes
    assert.equal((await again.listUsers()).length, 3);
    await again.close();
  });

  it('issue 13: upgrades a version-2 table in place, every account unverified: rows, ids, the app\'s references and the id sequence kept (SEC-61, SEC-63)', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    const old = new DatabaseSync(path);
    // The table exactly as migration 2 left it, with its version recorded, and an app table that references it.
    old.exec(`
      CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT,
        email_canonical TEXT,
        username TEXT,
        username_canonical TEXT,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        is_active INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        CHECK (email_canonical IS NOT NULL OR username_canonical IS NOT NULL)
      );
      CREATE UNIQUE INDEX users_email_canonical ON users (email_canonical);
      CREATE UNIQUE INDEX users_username_canonical ON users (username_canonical);
      CREATE TABLE users_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO users_meta (key, value) VALUES ('schema_version', '2');
      CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, body TEXT);
      INSERT INTO users (email, email_canonical, username, username_canonical, name, password_hash, is_active, created_at) VALUES
        ('Ann@Example.com', 'ann@example.com', NULL, NULL, 'Ann', 'hash-ann', 1, 1000),
        (NULL, NULL, 'Bob', 'bob', 'Bob', 'hash-bob', 0, 2000),
        ('cy@example.com', 'cy@example.com', NULL, NULL, 'Cy', 'hash-cy', 1, 3000);
      DELETE FROM users WHERE id = 3;
      INSERT INTO posts (user_id, body) VALUES (1, 'hello'), (2, 'world');
    `);
    old.close();

    const store = new SqliteUserStore({ path, now: () => 4000 });
    t.after(() => store.close());
    assert.deepEqual((await store.listUsers()).map((u) => ({ ...u })), [
      { id: '1', email: 'Ann@Example.com', emailCanonical: 'ann@example.com', username: null, usernameCanonical: null, name: 'Ann', passwordHash: 'hash-ann', isActive: true, emailVerified: false, createdAt: 1000 },
      { id: '2', email: null, emailCanonical: null, username: 'Bob', usernameCanonical: 'bob', name: 'Bob', passwordHash: 'hash-bob', isActive: false, emailVerified: false, createdAt: 2000 },
    ]);
    // The upgraded table does what the new version promises: proofs, changes, and its index still decides.
    assert.equal(await store.markEmailVerified('1', 'ann@example.com'), true);
    assert.equal(await store.changeEmail('2', 'Ann@example.com', 'ann@example.com'), 'taken');
    assert.equal(await store.changeEmail('2', 'bob@example.com', 'bob@example.com'), 'changed');
    const dee = await store.createUser({ email: 'dee@example.com', emailCanonical: 'dee@example.com', username: null, usernameCanonical: null, name: 'Dee', passwordHash: 'h' });
    assert.equal(dee?.id, '4'); // id 3 belonged to a deleted account: never handed out again
    assert.deepEqual((await store.listUsers()).map((u) => [u.id, u.emailVerified]), [['1', true], ['2', true], ['4', false]]);

    const db = new DatabaseSync(path);
    t.after(() => db.close());
    assert.deepEqual(db.prepare('SELECT user_id, body FROM posts ORDER BY id').all().map((row) => ({ ...row })), [{ user_id: 1, body: 'hello' }, { user_id: 2, body: 'world' }]);
    assert.equal(db.prepare(`SELECT value FROM users_meta WHERE key = 'schema_version'`).get()?.value, '5');
    // The database itself keeps an account without an address unverified, whatever writes to it.
    assert.throws(() => db.exec(`INSERT INTO users (username, username_canonical, name, password_hash, created_at, email_verified) VALUES ('x', 'x', 'x', 'x', 0, 1)`), /CHECK constraint failed/);
  });

  it('issue 14: upgrades a version-3 table in place to hold second factors, accounts and ids kept (SEC-77, SEC-81)', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    const old = new DatabaseSync(path);
    // The table exactly as migration 3 left it (migrations 1 to 3 run on an old file), version recorded.
    old.exec(`
      CREATE TABLE accounts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT, email_canonical TEXT, username TEXT, username_canonical TEXT,
        name TEXT NOT NULL, password_hash TEXT NOT NULL, is_active INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL,
        email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified = 0 OR email_canonical IS NOT NULL),
        CHECK (email_canonical IS NOT NULL OR username_canonical IS NOT NULL)
      );
      CREATE UNIQUE INDEX accounts_email_canonical ON accounts (email_canonical);
      CREATE UNIQUE INDEX accounts_username_canonical ON accounts (username_canonical);
      CREATE TABLE accounts_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO accounts_meta (key, value) VALUES ('schema_version', '3');
      INSERT INTO accounts (email, email_canonical, name, password_hash, created_at, email_verified) VALUES
        ('Ann@Example.com', 'ann@example.com', 'Ann', 'hash-ann', 1000, 1);
    `);
    old.close();

    const store = new SqliteUserStore({ path, table: 'accounts', now: () => 5000 });
    t.after(() => store.close());
    assert.deepEqual((await store.getUserById('1'))?.emailVerified, true);
    assert.equal(await store.beginTotp('1', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'), true);
    assert.equal(await store.confirmTotp('1', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 42), true);
    assert.deepEqual({ ...(await store.getTotp('1')) }, { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', confirmed: true, lastStep: 42, createdAt: 5000 });
    await store.setRecoveryCodes('1', ['A'.repeat(43)]);
    assert.equal(await store.countRecoveryCodes('1'), 1);

    const db = new DatabaseSync(path);
    t.after(() => db.close());
    assert.equal(db.prepare(`SELECT value FROM accounts_meta WHERE key = 'schema_version'`).get()?.value, '5');
    const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'accounts%' ORDER BY name`).all();
    assert.deepEqual(tables.map((row) => row.name), ['accounts', 'accounts_meta', 'accounts_passkeys', 'accounts_recovery_codes', 'accounts_totp']);
  });

  it('issue 14: upgrades a version-4 table in place to hold passkeys, accounts and factors kept; deleting an account deletes its passkeys (SEC-83)', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    const first = new SqliteUserStore({ path, table: 'accounts' });
    const [ann, bob] = [(await first.createUser({ email: 'ann@b.c', emailCanonical: 'ann@b.c', username: null, usernameCanonical: null, name: 'Ann', passwordHash: 'h' }))!,
      (await first.createUser({ email: 'bob@b.c', emailCanonical: 'bob@b.c', username: null, usernameCanonical: null, name: 'Bob', passwordHash: 'h' }))!];
    assert.equal(await first.beginTotp(ann.id, 'secret'), true);
    await first.close();
    // Put the file back as version 4 left it: no passkeys table, version 4 recorded.
    const old = new DatabaseSync(path);
    old.exec(`DROP TABLE accounts_passkeys; UPDATE accounts_meta SET value = '4'`);
    old.close();

    const store = new SqliteUserStore({ path, table: 'accounts', now: () => 7000 });
    t.after(() => store.close());
    assert.deepEqual((await store.listUsers()).map((u) => u.id), [ann.id, bob.id]);
    assert.equal((await store.getTotp(ann.id))?.secret, 'secret');
    const key = { publicKey: 'pQECAyYgASFYIA', counter: 3, transports: ['internal'], name: 'Laptop' };
    const added = await store.addCredential({ id: 'Y3JlZC1hbm4', userId: ann.id, ...key });
    assert.deepEqual({ ...added, transports: [...added!.transports] }, { id: 'Y3JlZC1hbm4', userId: ann.id, ...key, createdAt: 7000, lastUsedAt: null });
    assert.ok(await store.addCredential({ id: 'Y3JlZC1ib2I', userId: bob.id, ...key }));
    assert.equal(await store.useCredential('Y3JlZC1hbm4', 4), 'ok');
    assert.equal((await store.getCredential('Y3JlZC1hbm4'))?.lastUsedAt, 7000);

    const db = new DatabaseSync(path);
    t.after(() => db.close());
    assert.equal(db.prepare(`SELECT value FROM accounts_meta WHERE key = 'schema_version'`).get()?.value, '5');
    // The store has no deletion of its own: the app deletes the row, and the passkeys go with it.
    db.prepare('DELETE FROM accounts WHERE id = ?').run(Number(ann.id));
    assert.equal(await store.getCredential('Y3JlZC1hbm4'), null);
    assert.equal(db.prepare('SELECT count(*) AS n FROM accounts_passkeys WHERE user_id = ?').get(Number(ann.id))?.n, 0);
    assert.equal((await store.listCredentials(bob.id)).length, 1);
    assert.equal(await store.addCredential({ id: 'Y3JlZC1hbm4', userId: ann.id, ...key }), null); // no such account
  });

  it('issue 14: deleting an account deletes its TOTP record and recovery codes (ON DELETE CASCADE), and no other account\'s', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    const store = new SqliteUserStore({ path });
    t.after(() => store.close());
    const create = (tag: string) => store.createUser({ email: `${tag}@b.c`, emailCanonical: `${tag}@b.c`, username: null, usernameCanonical: null, name: tag, passwordHash: 'h' });
    const [gone, kept] = [(await create('gone'))!, (await create('kept'))!];
    for (const user of [gone, kept]) {
      assert.equal(await store.beginTotp(user.id, 'secret'), true);
      await store.setRecoveryCodes(user.id, ['B'.repeat(43), 'C'.repeat(43)]);
    }
    // The store has no deletion of its own: the app deletes the row, on another connection.
    const db = new DatabaseSync(path);
    t.after(() => db.close());
    db.prepare('DELETE FROM users WHERE id = ?').run(Number(gone.id));
    assert.equal(await store.getTotp(gone.id), null);
    assert.equal(await store.countRecoveryCodes(gone.id), 0);
    assert.equal(db.prepare('SELECT count(*) AS n FROM users_recovery_codes WHERE user_id = ?').get(Number(gone.id))?.n, 0);
    assert.equal((await store.getTotp(kept.id))?.secret, 'secret');
    assert.equal(await store.countRecoveryCodes(kept.id), 2);
    // And no factor can be written for an account that does not exist.
    assert.equal(await store.beginTotp(gone.id, 'secret'), false);
    await store.setRecoveryCodes(gone.id, ['B'.repeat(43)]);
    assert.equal(await store.countRecoveryCodes(gone.id), 0);
  });

  it('issue 14: once closed, every factor and passkey call rejects with ERR_LATCHKEY_STORE_UNAVAILABLE, never an absent answer (R-01)', async () => {
    const store = new SqliteUserStore({ path: ':memory:' });
    await store.listUsers();
    await store.close();
    const calls = [store.getTotp('1'), store.beginTotp('1', 's'), store.confirmTotp('1', 's', 1), store.deleteTotp('1'), store.useTotpStep('1', 1),
      store.setRecoveryCodes('1', []), store.useRecoveryCode('1', 'A'.repeat(43)), store.countRecoveryCodes('1'),
      store.addCredential({ id: 'AA', userId: '1', publicKey: 'AA', counter: 0, transports: [], name: 'n' }), store.getCredential('AA'),
      store.listCredentials('1'), store.useCredential('AA', 1), store.renameCredential('1', 'AA', 'n'), store.removeCredential('1', 'AA')];
    for (const call of calls) await assert.rejects(call, { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
  });

  it('refuses a table name that is not an identifier (TypeError)', () => {
    assert.throws(() => new SqliteUserStore({ path: ':memory:', table: 'users; DROP TABLE x' }), TypeError);
  });

  it('rejects with a coded error that names the path when the database cannot be used (R-01)', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    mkdirSync(path); // a folder where the file should be
    const store = new SqliteUserStore({ path });
    await assert.rejects(store.getUserByLogin('a@b.c'), (e: Error & { code: string; cause: unknown }) => {
      assert.equal(e.code, 'ERR_LATCHKEY_STORE_UNAVAILABLE');
      assert.ok(e.message.includes(path), e.message);
      assert.ok(e.cause instanceof Error);
      return true;
    });
    await store.close();
  });

  it('finding 14: a path whose folder does not exist throws at construction, naming the path and the cause', () => {
    const path = join(tmpdir(), 'latchkey-missing-folder', 'x', 'users.db');
    assert.throws(() => new SqliteUserStore({ path }), (e: Error & { code: string; cause: NodeJS.ErrnoException }) => {
      assert.equal(e.code, 'ERR_LATCHKEY_STORE_UNAVAILABLE');
      assert.ok(e.message.includes(path), e.message);
      assert.match(e.message, /does not exist/);
      assert.equal(e.cause.code, 'ENOENT');
      return true;
    });
  });

  it('finding 11: creates its database file readable by its owner only (0600), -wal and -shm too, under umask 022', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    const previous = process.umask(0o022);
    try {
      const store = new SqliteUserStore({ path });
      await store.createUser({ email: 'a@b.c', emailCanonical: 'a@b.c', username: null, usernameCanonical: null, name: 'A', passwordHash: 'h' });
      for (const file of [path, `${path}-wal`, `${path}-shm`]) assert.equal(statSync(file).mode & 0o777, 0o600, file);
      await store.close();
    } finally {
      process.umask(previous);
    }
  });

  it('two processes registering the same 50 addresses at once make 50 accounts, no errors (R-04, R-11)', async (t) => {
    const { path, remove } = tempPath();
    t.after(remove);
    await new SqliteUserStore({ path }).listUsers(); // create the schema first
    const worker = join(import.meta.dirname, 'fixtures', 'user-worker.ts');
    const run = () => new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--conditions=source', worker, path], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => { out += chunk; });
      child.on('close', (code) => resolve({ code, out }));
    });
    const [a, b] = await Promise.all([run(), run()]);
    assert.equal(a.code, 0);
    assert.equal(b.code, 0);
    const created = Number(a.out.trim()) + Number(b.out.trim());
    assert.equal(created, 50);
    const store = new SqliteUserStore({ path });
    assert.equal((await store.listUsers()).length, 50);
    await store.close();
  });
});
