/**
 * Finding 9 of issue 10, "the app logs nothing that matters": the security event log (SEC-56,
 * SEC-68), no secret in any line (SEC-69), no forged line (SEC-70), one line per request, and
 * LOG_LEVEL. Each test runs the app with a captured logger (support.ts keeps every line as written)
 * and, where time matters, a session store on the test's clock, so the throttle's delays and the
 * remember-me grace window are crossed by moving the clock, never by waiting.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { SqliteStore } from 'latchkey/sqlite';
import { loadConfig } from '../../app/config.ts';
import { createTestClock, type TestClock } from 'latchkey/testing';
import { BROWSER_ACCEPT, Client, FIREFOX, ORIGIN, PASSWORD, setup, type LogEntry, type TestApp } from './support.ts';

const T0 = Date.UTC(2026, 0, 5, 12);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HASH = /^[A-Za-z0-9_-]{22}$/;
const FIFTEEN_MINUTES = 15 * 60_000;

/** An app whose manager, throttle and session store all run on `clock`. */
async function clockedApp(t: TestContext, clock: TestClock, env: Record<string, string> = {}): Promise<TestApp> {
  return setup(t, {
    env,
    now: clock.now,
    wrapStores: (stores) => {
      const sessions = new SqliteStore({ path: ':memory:', now: clock.now, sweepInterval: 0 });
      t.after(() => sessions.close());
      return { ...stores, sessions, ping: stores.ping, close: stores.close };
    },
  });
}

/** A client whose requests come from the socket address `ip` (as @hono/node-server reports it). */
function clientFrom(app: TestApp, ip: string, headers: Record<string, string> = {}): Client {
  const env = { incoming: { socket: { remoteAddress: ip } } };
  const request = (path: string, init?: RequestInit) => Promise.resolve(app.app.request(path.startsWith('http') ? path : `${ORIGIN}${path}`, init, env));
  return new Client({ ...app, request }, headers);
}

const named = (app: TestApp, event: string) => app.logs.filter((line) => line.event === event);
const only = (app: TestApp, event: string): LogEntry => {
  const lines = named(app, event);
  assert.equal(lines.length, 1, `${event}: ${JSON.stringify(lines)}`);
  return lines[0]!;
};

test('finding 9: a flow logs its security events with request, user and client fields (SEC-56, SEC-68)', async (t) => {
  const clock = createTestClock(T0);
  const app = await clockedApp(t, clock);
  const ann = clientFrom(app, '192.0.2.10', { 'user-agent': FIREFOX });
  const annId = String(await ann.register('ann@example.com', 'Ann', PASSWORD));

  // Registration: the account, its first session, the login.
  const created = only(app, 'user_created');
  assert.equal(created.user_id, annId);
  assert.equal(created.level, 'info');
  assert.match(String(created.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(created.time, new Date(T0).toISOString()); // the app's clock, in UTC
  assert.match(String(created.request_id), UUID);
  assert.equal(created.method, 'POST');
  assert.equal(created.path, '/register');
  assert.equal(created.ip, '192.0.2.10');
  assert.equal(created.user_agent, FIREFOX);
  const firstSession = only(app, 'session_created');
  assert.deepEqual([firstSession.user_id, firstSession.fresh, firstSession.remembered], [annId, true, false]);
  assert.match(String(firstSession.session_hash), HASH);
  const success = only(app, 'authn_login_success');
  assert.deepEqual([success.user_id, success.via, success.request_id], [annId, 'login', created.request_id]);

  // An attacker guesses: five failures reach the end of the free ones (fail_max), the sixth is refused.
  const attacker = clientFrom(app, '198.51.100.9');
  for (let i = 0; i < 5; i++) assert.equal((await attacker.json('/login', { login: 'ann@example.com', password: 'wrong guess number ' + i })).status, 401);
  const fails = named(app, 'authn_login_fail');
  assert.equal(fails.length, 5);
  for (const [i, line] of fails.entries()) {
    assert.equal(line.level, 'warn');
    assert.deepEqual([line.reason, line.user_id, line.account_failures, line.ip_failures, line.ip], ['password', annId, i + 1, i + 1, '198.51.100.9']);
    assert.match(String(line.login_hash), HASH);
    assert.equal(line.login_hash, fails[0]!.login_hash);
    assert.equal(line.path, '/login');
  }
  const max = only(app, 'authn_login_fail_max');
  assert.deepEqual([max.level, max.max, max.user_id, max.request_id], ['warn', 5, annId, fails[4]!.request_id]);
  const refused = await attacker.json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.equal(refused.status, 429);
  const throttled = only(app, 'authn_login_throttled');
  assert.deepEqual([throttled.level, throttled.scope, throttled.retry_after, throttled.login_hash], ['warn', 'account', 1, fails[0]!.login_hash]);

  // An unknown account: its identifier only as a keyed hash.
  assert.equal((await attacker.json('/login', { login: 'nobody@example.com', password: 'wrong guess again' })).status, 401);
  const unknown = named(app, 'authn_login_fail').at(-1)!;
  assert.deepEqual([unknown.reason, unknown.user_id], ['unknown', null]);
  assert.notEqual(unknown.login_hash, fails[0]!.login_hash);
  assert.ok(!app.lines.some((line) => line.includes('nobody')));

  // CSRF refusals: a cross-site form, and a form whose token is wrong.
  const crossSite = await ann.form('/logout', {}, { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
  assert.equal(crossSite.status, 403);
  const badToken = await attacker.form('/login', { login: 'ann@example.com', password: PASSWORD, _csrf: 'x'.repeat(43) });
  assert.equal(badToken.status, 403);
  const csrf = named(app, 'malicious_csrf');
  assert.equal(csrf.length, 2);
  assert.match(String(csrf[0]!.reason), /cross-site request refused \(Origin https:\/\/evil\.example\)/);
  assert.deepEqual([csrf[0]!.level, csrf[0]!.path, csrf[0]!.user_agent], ['warn', '/logout', FIREFOX]);
  assert.match(String(csrf[1]!.reason), /CSRF token/);

  // Login with remember-me once the delay has passed; the browser restarts; a copy of the old
  // remember-me cookie is replayed after the grace window: theft (SEC-38).
  clock.advance(2_000);
  const victim = clientFrom(app, '192.0.2.20');
  await victim.login('ann@example.com', PASSWORD, true);
  const login = named(app, 'authn_login_success').at(-1)!;
  assert.deepEqual([login.via, login.remember, login.fresh, login.ip], ['login', true, true, '192.0.2.20']);
  assert.equal(named(app, 'session_created').at(-1)!.remembered, true);
  const copied = victim.jar.get('remember_token')!;
  victim.restartBrowser();
  assert.equal((await victim.getJson('/protected')).status, 200);
  const restored = named(app, 'authn_login_success').at(-1)!;
  assert.deepEqual([restored.via, restored.user_id, restored.path], ['remember_me', annId, '/protected']);
  assert.equal(named(app, 'session_created').at(-1)!.fresh, false);
  clock.advance(31_000);
  const thief = clientFrom(app, '203.0.113.66');
  thief.jar.set('remember_token', copied);
  assert.equal((await thief.getJson('/protected')).status, 401);
  const theft = only(app, 'authn_token_reuse');
  assert.deepEqual([theft.level, theft.user_id, theft.kind, theft.ip], ['error', annId, 'remember_me', '203.0.113.66']);

  // The theft ended Ann's first session: her cookie now names an expired session, logged by the
  // same keyed hash as when it was created.
  assert.equal((await ann.getJson('/protected')).status, 401);
  const expired = only(app, 'session_expired');
  assert.deepEqual([expired.level, expired.session_hash], ['info', firstSession.session_hash]);

  // Logged in again on two devices: log out the other one, change the password, log out.
  await ann.login();
  const phone = clientFrom(app, '192.0.2.30');
  await phone.login();
  assert.equal((await ann.json('/account/sessions/revoke-others', {})).status, 200);
  const revoked = only(app, 'session_revoked');
  assert.deepEqual([revoked.user_id, revoked.scope, revoked.sessions, revoked.path], [annId, 'others', 1, '/account/sessions/revoke-others']);
  const sessions = (await ann.getJson('/account')).body.sessions as Array<{ id: string; current: boolean }>;
  assert.equal(sessions.length, 1);
  await phone.login();
  const phoneSession = named(app, 'session_created').at(-1)!;
  const phoneId = ((await ann.getJson('/account')).body.sessions as Array<{ id: string; current: boolean }>).find((s) => !s.current)!.id;
  assert.equal((await ann.json(`/account/sessions/${phoneId}/revoke`, {})).status, 200);
  const one = named(app, 'session_revoked').at(-1)!;
  assert.deepEqual([one.scope, one.sessions, one.session_hash, one.path], ['one', 1, phoneSession.session_hash, '/account/sessions/:id/revoke']);
  const changed = await ann.json('/account/password', { current_password: PASSWORD, new_password: 'a brand new passphrase here' });
  assert.equal(changed.status, 200);
  assert.equal(only(app, 'authn_password_change').user_id, annId);
  assert.equal((await ann.json('/logout', {})).status, 200);
  const logout = only(app, 'logout');
  assert.deepEqual([logout.level, logout.user_id, logout.path], ['info', annId, '/logout']);

  // Every security line belongs to a request that has its own request line.
  const requests = named(app, 'http_request');
  const ids = new Set(requests.map((line) => line.request_id));
  assert.equal(ids.size, requests.length);
  // The development outbox prints each mail, sent in the background after the answer (SEC-16).
  for (const line of app.logs) if (line.event !== 'mail_outbox') assert.ok(ids.has(line.request_id), JSON.stringify(line));
});

test('finding 9: the account lock and the per-IP cap are logged once each, at their thresholds (SEC-56)', async (t) => {
  const clock = createTestClock(T0);
  const app = await clockedApp(t, clock);
  await clientFrom(app, '192.0.2.10').register('ann@example.com', 'Ann', PASSWORD);

  // One client spreading guesses over 50 addresses: the 50th failure from its IP reaches the cap.
  const spreader = clientFrom(app, '198.51.100.7');
  for (let i = 0; i < 50; i++) assert.equal((await spreader.json('/login', { login: `user${i}@example.com`, password: 'wrong guess here' })).status, 401);
  const cap = only(app, 'excess_rate_limit_exceeded');
  assert.deepEqual([cap.level, cap.scope, cap.max, cap.ip], ['warn', 'ip', 50, '198.51.100.7']);
  assert.equal(cap.request_id, named(app, 'authn_login_fail').at(-1)!.request_id);
  assert.equal((await spreader.json('/login', { login: 'user99@example.com', password: 'wrong guess here' })).status, 429);
  assert.equal(named(app, 'authn_login_throttled').at(-1)!.scope, 'ip');

  // 100 failures on one account, each after its delay (at most 15 minutes): the 100th locks it.
  const guesser = app.client();
  for (let i = 1; i <= 100; i++) {
    assert.equal((await guesser.json('/login', { login: 'ann@example.com', password: 'wrong guess here' })).status, 401, `attempt ${i}`);
    clock.advance(FIFTEEN_MINUTES);
  }
  assert.equal(only(app, 'authn_login_fail_max').max, 5);
  const lock = only(app, 'authn_login_lock');
  assert.deepEqual([lock.level, lock.max, lock.request_id], ['warn', 100, named(app, 'authn_login_fail').at(-1)!.request_id]);
  assert.equal(named(app, 'authn_login_fail').at(-1)!.account_failures, 100);
  assert.equal((await guesser.json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 429);
  assert.equal(named(app, 'authn_login_throttled').at(-1)!.scope, 'locked');
});

/** Every value a response set as a cookie, and both halves of `id.secret` ones. */
function cookieValues(response: Response): string[] {
  const values: string[] = [];
  for (const line of response.headers.getSetCookie()) {
    const value = line.slice(line.indexOf('=') + 1).split(';', 1)[0]!;
    values.push(value, ...value.split('.'));
  }
  return values;
}

test('finding 9: no password, token, cookie or session id reaches the log, as the attacker (SEC-69)', async (t) => {
  const clock = createTestClock(T0);
  const app = await clockedApp(t, clock);
  const secrets = new Set<string>();
  // Every client records what the server set as a cookie and every CSRF token it put in a page.
  const recorded: TestApp = {
    ...app,
    request: async (path, init) => {
      const response = await app.request(path, init);
      for (const value of cookieValues(response)) secrets.add(value);
      if (response.headers.get('content-type')?.startsWith('text/html')) {
        for (const match of (await response.clone().text()).matchAll(/name="_csrf" value="([^"]+)"/g)) secrets.add(match[1]!);
      }
      return response;
    },
  };
  const password = 'CANARY-password-0001-correct-horse';
  const newPassword = 'CANARY-password-0002-battery-staple';
  const email = 'canary.ann@example.com';
  for (const value of [password, newPassword, email, 'canary.ann']) secrets.add(value);

  // Registration and a browser login with remember-me, through the HTML forms (CSRF tokens in pages).
  const ann = new Client(recorded);
  assert.equal((await ann.form('/register', { email, name: 'Ann', password })).status, 303);
  await ann.page('/dashboard');
  assert.equal((await ann.form('/logout', {})).status, 303);
  assert.equal((await ann.form('/login', { login: email, password, remember: 'on' })).status, 303);
  // Re-authentication, a password change, and the session list (raw ids in its JSON).
  ann.restartBrowser();
  assert.equal((await ann.form('/reauth', { password, next: '/account' }, { tokenFrom: '/reauth' })).status, 303);
  const listed = (await ann.getJson('/account')).body.sessions as Array<{ id: string }>;
  for (const session of listed) secrets.add(session.id);
  const other = new Client(recorded);
  await other.login(email, password);
  // The session the other browser just started: not ann's own older one, whose remember-me series
  // this browser shares (revoking that would end this browser's remember-me login too).
  const otherId = ((await ann.getJson('/account')).body.sessions as Array<{ id: string }>).find((s) => !listed.some((l) => l.id === s.id))!.id;
  secrets.add(otherId);
  assert.equal((await ann.form(`/account/sessions/${otherId}/revoke`, {}, { tokenFrom: '/account' })).status, 303);
  assert.equal((await ann.form('/account/password', { current_password: password, new_password: newPassword }, { tokenFrom: '/account' })).status, 303);
  assert.equal((await ann.form('/account/sessions/revoke-others', {}, { tokenFrom: '/account' })).status, 303);

  // The attacker: wrong passwords, a password typed in the login field, a forged session cookie,
  // a forged CSRF token in the form and the header, a token in the query string, a bearer header,
  // and the copied remember-me cookie replayed after the grace window.
  const forgedSession = `CANARYsessionid0000001.${'CANARYsecret'.repeat(3)}0000000`;
  const attackerValues = ['CANARY-wrong-password-1', 'CANARY-typed-in-login-field', forgedSession, 'CANARYsessionid0000001', 'CANARY-csrf-token-form', 'CANARY-csrf-token-header', 'CANARY-query-token', 'CANARY-bearer-token', 'CANARY-malformed-session-cookie', 'CANARY-unknown@example.com'];
  for (const value of attackerValues) secrets.add(value);
  const attacker = new Client(recorded);
  await attacker.json('/login', { login: email, password: 'CANARY-wrong-password-1' });
  await attacker.json('/login', { login: 'CANARY-typed-in-login-field', password: 'whatever whatever' });
  await attacker.json('/login', { login: 'CANARY-unknown@example.com', password: 'whatever whatever' });
  await attacker.fetch('/protected', { headers: { cookie: `session=${forgedSession}`, authorization: 'Bearer CANARY-bearer-token' } });
  await attacker.fetch('/protected', { headers: { cookie: 'session=CANARY-malformed-session-cookie' } });
  await attacker.form('/login', { login: email, password, _csrf: 'CANARY-csrf-token-form' });
  await attacker.form('/login', { login: email, password }, { headers: { 'x-csrf-token': 'CANARY-csrf-token-header' } });
  await attacker.page('/login?next=%2Fdashboard&token=CANARY-query-token');
  const copied = ann.jar.get('remember_token')!;
  clock.advance(31_000);
  ann.restartBrowser();
  assert.equal((await ann.getJson('/protected')).status, 200); // restored: the validator rotates
  clock.advance(31_000);
  const thief = new Client(recorded);
  thief.jar.set('remember_token', copied);
  assert.equal((await thief.getJson('/protected')).status, 401);
  await ann.form('/logout', {});

  // The flows were logged (this test would pass on an app that logs nothing otherwise).
  for (const event of ['user_created', 'authn_login_success', 'session_created', 'authn_login_fail', 'session_renewed', 'session_revoked', 'authn_password_change', 'session_expired', 'session_invalid', 'malicious_csrf', 'authn_token_reuse', 'logout']) {
    assert.ok(named(app, event).length > 0, `no ${event} line`);
  }
  assert.ok(named(app, 'http_request').some((line) => line.path === '/account/sessions/:id/revoke'));
  assert.ok(secrets.size > 20, `only ${secrets.size} secrets recorded`);
  // Without SMTP_URL, outside production only, the development outbox prints each mail with its
  // recipient and links on purpose (the app refuses to start in production without SMTP_URL): every
  // other line is held to SEC-69.
  const lines = app.lines.filter((line) => !line.includes('"event":"mail_outbox"'));
  assert.ok(lines.length < app.lines.length, 'the flow sent mail through the outbox');
  const hits = [...secrets].filter((value) => value.length >= 8).flatMap((value) => lines.filter((line) => line.includes(value)).map((line) => `${value} in ${line}`));
  assert.deepEqual(hits, []);
  assert.ok(!lines.some((line) => /canary/i.test(line)), lines.filter((line) => /canary/i.test(line)).join(''));
});

test('finding 9: control characters in a login identifier, a path or a header cannot forge a log line (SEC-70)', async (t) => {
  const app = await setup(t);
  const injected = 'a\nauthn_login_success\r\n{"level":"info","event":"authn_login_success"}\u0000\u001b[2J\u0085\u2028\u2029\u007f';
  const attacker = app.client({ 'user-agent': 'curl\u001b[31m\u0085\u007f{"event":"authn_login_success"}' });
  const before = app.lines.length;
  let requests = 0;
  for (const login of [injected, `${injected}@example.com`, 'ann\u0085@example.com']) {
    await attacker.json('/login', { login, password: 'wrong guess here' });
    requests++;
  }
  await attacker.fetch('/login%0A%7B%22event%22%3A%22authn_login_success%22%7D%E2%80%A8%C2%85', { headers: { accept: 'application/json' } });
  requests++;
  const csrf = await attacker.fetch('/logout', { method: 'POST', headers: { accept: BROWSER_ACCEPT, origin: 'https://evil.example/\u001b[2J\u0085', 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' });
  assert.equal(csrf.status, 403);
  requests++;

  const lines = app.lines.slice(before);
  assert.equal(named(app, 'http_request').length, requests); // one request line per request
  assert.equal(named(app, 'authn_login_fail').length, 3); // one failure line per attempt
  assert.equal(named(app, 'malicious_csrf').length, 1);
  assert.equal(lines.length, requests + 3 + 1);
  for (const line of lines) {
    assert.ok(line.endsWith('\n'));
    assert.doesNotMatch(line.slice(0, -1), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, JSON.stringify(line));
    assert.equal(typeof JSON.parse(line), 'object');
  }
  assert.equal(named(app, 'authn_login_success').length, 0);
  // What came in is still there, escaped: the path and the User-Agent as sent.
  assert.ok(named(app, 'http_request').some((line) => String(line.path).includes('"event"')));
  assert.ok(named(app, 'authn_login_fail').every((line) => String(line.user_agent).startsWith('curl\u001b[31m')));
});

test('finding 9: one request line per request, path without its query; LOG_LEVEL=warn drops them, silent drops all', async (t) => {
  const app = await setup(t);
  await app.client().page('/login?next=%2Fdashboard&x=1');
  const line = only(app, 'http_request');
  assert.deepEqual([line.level, line.method, line.path, line.status], ['info', 'GET', '/login', 200]);
  assert.equal(typeof line.duration_ms, 'number');
  assert.ok((line.duration_ms as number) >= 0);
  assert.match(String(line.request_id), UUID);

  const warn = await setup(t, { env: { LOG_LEVEL: 'warn' } });
  await warn.client().page('/login');
  await warn.client().json('/login', { login: 'nobody@example.com', password: 'wrong guess here' });
  assert.deepEqual(warn.logs.map((l) => l.event), ['authn_login_fail']);

  const silent = await setup(t, { env: { LOG_LEVEL: 'silent' } });
  await silent.client().json('/login', { login: 'nobody@example.com', password: 'wrong guess here' });
  assert.deepEqual(silent.lines, []);
});

test('at LOG_LEVEL=warn, without request lines, every line of one request still carries that request\'s one id, and other requests other ids', async (t) => {
  // The id is made when a request's first line needs it (app/request-log.ts): at warn most
  // requests write none, and the lines that are written must still be placed in their request.
  const app = await clockedApp(t, createTestClock(T0), { LOG_LEVEL: 'warn' });
  const ann = clientFrom(app, '192.0.2.10');
  await ann.register('ann@example.com', 'Ann', PASSWORD);
  const attacker = clientFrom(app, '198.51.100.9');
  for (let i = 0; i < 5; i++) assert.equal((await attacker.json('/login', { login: 'ann@example.com', password: 'wrong guess number ' + i })).status, 401);
  assert.equal(named(app, 'http_request').length, 0);
  const fails = named(app, 'authn_login_fail');
  assert.equal(fails.length, 5);
  for (const line of fails) assert.match(String(line.request_id), UUID);
  assert.equal(new Set(fails.map((line) => line.request_id)).size, 5, 'five requests, five ids');
  const max = only(app, 'authn_login_fail_max');
  assert.equal(max.request_id, fails[4]!.request_id, 'the fifth request\'s two lines share its id');
});

test('finding 9: a bad LOG_LEVEL refuses to start with one line naming it', async () => {
  const loaded = loadConfig({ LOG_LEVEL: 'loud', SECRET_KEY: 'k'.repeat(64), DATA_DIR: '/nonexistent-latchkey' });
  assert.ok(!loaded.ok);
  assert.deepEqual(loaded.problems, ['LOG_LEVEL: "loud" must be one of debug, info, warn, error, silent']);
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-loglevel-'));
  try {
    const main = new URL('../../app/main.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--conditions=source', main], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dir, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'loud' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.equal(stderr, 'LOG_LEVEL: "loud" must be one of debug, info, warn, error, silent\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
