/**
 * app-contract.md's session timeouts (`SESSION_IDLE_TIMEOUT`, `SESSION_ABSOLUTE_TIMEOUT`) seen
 * from outside, as the black-box run of issue 10 drove them: a client on `/protected` and on the
 * account actions, with the app's clock and its session store's clock moved together by the test.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SqliteStore } from '../../src/sqlite/index.ts';
import { seedUser, setup, type TestApp } from './support.ts';

/**
 * An app whose login manager and session store share one clock that only the test moves: the
 * sessions live in a SQLite store of their own, on that clock (the app's default store reads the
 * host's clock, R-08).
 */
async function clockedApp(t: TestContext, env: Record<string, string>): Promise<{ app: TestApp; advance(ms: number): void }> {
  let time = Date.UTC(2030, 0, 1, 12);
  const now = () => time;
  const sessions = new SqliteStore({ path: ':memory:', now, sweepInterval: 0 });
  t.after(() => sessions.close());
  const app = await setup(t, { env, now, wrapStores: (stores) => ({ ...stores, sessions }) });
  return { app, advance: (ms) => { time += ms; } };
}

test('finding 1: with SESSION_IDLE_TIMEOUT=3s a client on /protected every 0.8 s stays logged in, and is logged out 3 s after its last request', async (t) => {
  const { app, advance } = await clockedApp(t, { SESSION_IDLE_TIMEOUT: '3s' });
  await seedUser(app);
  const client = app.client();
  await client.login();
  for (let elapsed = 800; elapsed <= 30_000; elapsed += 800) {
    advance(800);
    assert.equal((await client.getJson('/protected')).status, 200, `at ${elapsed} ms`);
  }
  advance(3_000);
  assert.equal((await client.getJson('/protected')).status, 401);
});

test('finding 1: with SESSION_IDLE_TIMEOUT=90s activity at 59 s keeps the request at 91 s logged in', async (t) => {
  const { app, advance } = await clockedApp(t, { SESSION_IDLE_TIMEOUT: '90s' });
  await seedUser(app);
  const client = app.client();
  await client.login();
  advance(59_000);
  assert.equal((await client.getJson('/protected')).status, 200);
  advance(32_000);
  assert.equal((await client.getJson('/protected')).status, 200, 'at 91 s');
});

test('finding 2: with idle and absolute timeouts of 20 s, logging out other sessions every 4 s cannot keep a login past 20 s (SEC-29)', async (t) => {
  const { app, advance } = await clockedApp(t, { SESSION_IDLE_TIMEOUT: '20s', SESSION_ABSOLUTE_TIMEOUT: '20s' });
  await seedUser(app);
  const client = app.client();
  await client.login();
  for (let elapsed = 4_000; elapsed < 20_000; elapsed += 4_000) {
    advance(4_000);
    assert.equal((await client.json('/account/sessions/revoke-others', {})).status, 200, `at ${elapsed} ms`);
    assert.equal((await client.getJson('/protected')).status, 200, `at ${elapsed} ms`);
  }
  advance(4_000); // 20 s after the login
  assert.equal((await client.getJson('/protected')).status, 401);
  assert.equal((await client.json('/account/sessions/revoke-others', {})).status, 401);
});
