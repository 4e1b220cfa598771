/**
 * the app's HTTP contract's session timeouts (`SESSION_IDLE_TIMEOUT`, `SESSION_ABSOLUTE_TIMEOUT`) seen
 * from outside, as the black-box run of issue 10 drove them: a client on `/protected` and on the
 * account actions, with the app's clock and its session store's clock moved together by the test.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SqliteStore } from '../../src/sqlite/index.ts';
import { FIREFOX, PASSWORD, seedUser, setup, type TestApp } from './support.ts';

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

test('A session whose browser lost its cookie is marked idle, with when it ends on its own, not shown as a live device', async (t) => {
  const { app, advance } = await clockedApp(t, {});
  await seedUser(app);
  const phone = app.client({ 'user-agent': FIREFOX });
  await phone.login('ann@example.com', PASSWORD, true);
  const laptop = app.client();
  await laptop.login();
  advance(6 * 60_000);
  phone.restartBrowser(); // the phone's browser was closed: its first session is left behind
  assert.equal((await phone.getJson('/protected')).status, 200, 'restored from remember-me');
  assert.equal((await laptop.getJson('/protected')).status, 200);
  const html = await (await laptop.page('/account')).text();
  const items = html.split('<li class="session').slice(1);
  const idle = items.filter((item) => item.includes('<span class="badge muted">Idle</span>'));
  assert.equal(idle.length, 1, 'only the session the phone left behind is idle; the restored one and this one are not');
  assert.match(idle[0]!, /Firefox on Linux/);
  assert.match(idle[0]!, /Not used for 6 min; ends on its own at 2030-01-01 12:30 UTC unless used again\./);
  assert.match(html, /An idle session is often what a browser leaves behind/);
});

test('"Log out other sessions" says how many sessions ended and of which devices, the idle one called so', async (t) => {
  const { app, advance } = await clockedApp(t, {});
  await seedUser(app);
  const phone = app.client({ 'user-agent': FIREFOX });
  await phone.login('ann@example.com', PASSWORD, true);
  advance(6 * 60_000);
  phone.restartBrowser();
  await phone.getJson('/protected');
  const laptop = app.client();
  await laptop.login();
  const res = await laptop.form('/account/sessions/revoke-others', {}, { tokenFrom: '/account' });
  assert.equal(res.status, 303);
  const page = await (await laptop.page('/account')).text();
  // Two sessions of one device: said as such, not as two devices.
  assert.match(page, /Logged out 2 other sessions: Firefox on Linux; Firefox on Linux \(idle\)\./);
  assert.match(page, /You are not logged in anywhere else\./);
});

test('"Log out other sessions" with nothing to log out says so instead of "0 other sessions were logged out"', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  const res = await client.form('/account/sessions/revoke-others', {}, { tokenFrom: '/account' });
  assert.equal(res.status, 303);
  assert.match(await (await client.page('/account')).text(), /There were no other sessions to log out\./);
  const changed = await client.form('/account/password', { current_password: PASSWORD, new_password: 'a new and longer passphrase' }, { tokenFrom: '/account' });
  assert.equal(changed.status, 303);
  const after = await (await client.page('/account')).text();
  assert.match(after, /Your password has been changed\. You were not logged in anywhere else\./);
  assert.doesNotMatch(after, /\b0 other sessions/);
});
