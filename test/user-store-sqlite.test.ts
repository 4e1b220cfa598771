import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

// An app that shares its connection may have opened it with any defaults: the store's statements
// must give objects of numbers and strings with bare named parameters all the same.
describeUserStoreConformance('SqliteUserStore on an app connection opened with returnArrays, readBigInts and no bare parameters (finding 12)', async () => {
  const db = new DatabaseSync(':memory:', { returnArrays: true, readBigInts: true, allowBareNamedParameters: false });
  const store = new SqliteUserStore({ database: db });
  return { store, cleanup: async () => { await store.close(); db.close(); } };
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

  it('rejects with a coded error when the database cannot be used (R-01)', async () => {
    const store = new SqliteUserStore({ path: '/nonexistent-dir/x/users.db' });
    await assert.rejects(store.getUserByLogin('a@b.c'), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
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
