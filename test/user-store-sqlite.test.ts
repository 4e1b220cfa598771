import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { SqliteUserStore } from '../src/sqlite-user-store.ts';
import { describeUserStoreConformance } from './user-store-conformance.ts';

function tempPath(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-users-'));
  return { path: join(dir, 'users.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describeUserStoreConformance('sqlite file', async () => {
  const { path, remove } = tempPath();
  const store = new SqliteUserStore({ path });
  return { store, cleanup: async () => { await store.close(); remove(); } };
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
