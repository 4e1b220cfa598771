/**
 * R-07, "Kill -9 and restart app → existing sessions still valid": the reference app
 * is killed with SIGKILL right after its logins (no shutdown, no chance to flush anything), and a
 * new process is started on the same store: SQLite on the same `DATA_DIR`, or the same PostgreSQL
 * database. A plain login's session cookie still works there, a remember-me login's session
 * cookie too, and its remember-me cookie alone (the browser closed) restores a non-fresh login.
 * Both processes share SECRET_KEY and PUBLIC_URL, as one deployment's successive releases do.
 *
 * The PostgreSQL half needs the server (a database of its own, dropped afterwards); without it,
 * it skips saying why (CI: fails).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { probePostgres, requireService } from '../support/services.ts';
import { Client, createDatabase, removeDir, startApp, stopAll, tempDir, troubleLines, uniqueEmail, type TestDatabase } from './support.ts';

const postgres = await requireService('postgres', probePostgres);
const noPostgres = postgres.available ? false : postgres.reason;
if (noPostgres) console.log(`# skipping the PostgreSQL kill -9 test: ${noPostgres}`);

/**
 * Logs in twice (plain and remember-me) on an app started with `settings`, kills it with SIGKILL,
 * starts another with `restarted`, and checks both logins there.
 */
async function survivesKill9(settings: Record<string, string>, restarted: Record<string, string> = settings): Promise<void> {
  const first = await startApp('before-kill', settings);
  const plainEmail = uniqueEmail('plain');
  const rememberEmail = uniqueEmail('remember');
  await new Client().register(first, plainEmail);
  await new Client().register(first, rememberEmail);

  const plain = new Client();
  await plain.login(first, plainEmail);
  const remembered = new Client();
  await remembered.login(first, rememberEmail, undefined, true);
  assert.ok(remembered.jar.has('remember_token'), 'a remember-me cookie was set');
  assert.equal((await plain.get(first, '/protected')).status, 200);
  assert.equal((await remembered.get(first, '/protected')).status, 200);
  // The same user's remember-me cookie alone, for after the restart.
  const browserClosed = remembered.clone();
  browserClosed.closeBrowser();
  assert.equal(browserClosed.jar.has('session'), false);

  await first.kill9();
  assert.equal(first.alive(), false);

  const second = await startApp('after-kill', restarted);
  const plainAnswer = await plain.get(second, '/protected');
  assert.equal(plainAnswer.status, 200, `the plain session after kill -9: ${plainAnswer.status} ${JSON.stringify(plainAnswer.body)}\n${second.output()}`);
  const rememberedAnswer = await remembered.get(second, '/protected');
  assert.equal(rememberedAnswer.status, 200, `the remember-me login's session after kill -9: ${rememberedAnswer.status}`);
  const account = await remembered.get(second, '/account');
  assert.equal(account.status, 200);
  assert.equal(account.body.fresh, true, 'the session cookie keeps its fresh login');

  // The remember-me cookie alone restores a login, non-fresh (the app's HTTP contract).
  const restored = await browserClosed.get(second, '/protected');
  assert.equal(restored.status, 200, `the remember-me cookie after kill -9: ${restored.status} ${JSON.stringify(restored.body)}`);
  assert.ok(browserClosed.jar.has('session'), 'the restored login got a session cookie');
  const restoredAccount = await browserClosed.get(second, '/account');
  assert.equal(restoredAccount.body.fresh, false, 'a login restored from remember-me is not fresh');

  // And logging out still works on the new process.
  assert.equal((await plain.post(second, '/logout')).status, 200);
  assert.equal((await plain.clone().get(second, '/protected')).status, 401);
  assert.deepEqual(troubleLines(second.output()), [], 'the new process logged errors');
  await second.stop();
}

describe('kill -9 and restart (R-07)', { timeout: 60_000 }, () => {
  const dirs: string[] = [];
  let db: TestDatabase | undefined;

  before(async () => {
    if (!noPostgres) db = await createDatabase();
  });
  after(async () => {
    await stopAll();
    await db?.drop();
    for (const dir of dirs) removeDir(dir);
  });

  it('R-07: SQLite — sessions and remember-me logins survive kill -9 of the app (same DATA_DIR)', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    await survivesKill9({ DATA_DIR: dataDir });
  });

  it('R-07: PostgreSQL — sessions and remember-me logins survive kill -9 of the app (same database)', { skip: noPostgres }, async () => {
    // Another DATA_DIR for the new process (another host): nothing it needs may live on the old one's disk.
    const [one, two] = [tempDir(), tempDir()] as [string, string];
    dirs.push(one, two);
    await survivesKill9({ DATA_DIR: one, DATABASE_URL: db!.url }, { DATA_DIR: two, DATABASE_URL: db!.url });
  });
});

