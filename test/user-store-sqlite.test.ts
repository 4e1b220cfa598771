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
import { describeUserStoreConformance } from '../src/testing/index.ts';

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

describe('SqliteUserStore', () => {
  it('shares an app-owned connection and leaves it open on close', async () => {
    const db = new DatabaseSync(':memory:');
    const store = new SqliteUserStore({ database: db, table: 'accounts' });
    await store.listUsers();
    await store.close();
    assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'accounts'").get() as { n: number }).n, 1);
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
      assert.match(error.message, /users_meta says schema version 99; this latchkey knows 3/);
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
    assert.equal(db.prepare(`SELECT value FROM users_meta WHERE key = 'schema_version'`).get()?.value, '3');
    const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL ORDER BY name").all();
    assert.deepEqual(indexes.map((row) => row.name), ['users_email_canonical', 'users_username_canonical']);
    assert.equal(db.prepare('PRAGMA foreign_keys').get()?.foreign_keys, 1);

    const again = new SqliteUserStore({ path }); // a later start: already current, nothing changes
    assert.equal((await again.listUsers()).length, 3);
    await again.close();
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
