/**
 * SEC-67 in the app: fail closed. Each dependency of the protected routes is made to fail in turn
 * (the session store's reads and sliding-expiry writes, the user store behind `loadUser`, the
 * throttle's counters) and every guarded request must be refused with 503, never a 200 or a 500:
 * no protected content in the answer, and nothing a protected action would change (a password,
 * another session) changed. Once the fault is gone, the same browser gets through.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { SqliteUserStore } from 'latchkey/sqlite';
import type { AppStores } from '../../app/stores.ts';
import { PASSWORD, setup, type Client, type TestApp } from './support.ts';

const NEW_PASSWORD = 'a completely different passphrase';
/** A plain driver error, as a third-party store would reject with. */
const injected = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));

/** `target`, except that the methods named reject while `fault.on`. */
function failing<T extends object>(target: T, names: readonly string[], fault: { on: boolean }): T {
  return new Proxy(target, {
    get(object, name, receiver) {
      const value = Reflect.get(object, name, receiver);
      if (typeof value !== 'function') return value;
      if (names.includes(String(name))) return (...args: unknown[]) => (fault.on ? injected() : value.apply(object, args));
      return value.bind(object);
    },
  });
}

interface Fault {
  readonly on: boolean;
  readonly sessions?: readonly string[];
  readonly users?: readonly string[];
}

/** An app whose stores fail as `fault` says; the user cache off, so every request reads the user store. */
async function faultyApp(t: TestContext, fault: Fault, clock: { now: number }): Promise<TestApp> {
  return setup(t, {
    env: { USER_CACHE_TTL: '0' },
    now: () => clock.now,
    wrapStores: (stores): AppStores => ({
      ...stores,
      sessions: failing(stores.sessions, fault.sessions ?? [], fault),
      users: failing(stores.users, fault.users ?? [], fault),
    }),
  });
}

/**
 * Ann, logged in on two browsers; every guarded request of the first while `start()` holds must be
 * a 503 that shows and changes nothing.
 */
async function assertProtectedRoutesFailClosed(app: TestApp, clock: { now: number }, start: () => void, stop: (() => void) | null): Promise<void> {
  const ann = app.client();
  const userId = String(await ann.register());
  const other = app.client();
  await other.login();
  const token = await ann.csrf();
  const hash = (await app.stores.users.getUserById(userId))!.passwordHash;
  start();
  const json = (path: string, body: unknown) => ann.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answers: Array<[string, Response]> = [
    ['JSON /protected', await ann.fetch('/protected')],
    ['JSON /dashboard', await ann.fetch('/dashboard', { headers: { accept: 'application/json' } })],
    ['page /dashboard', await ann.page('/dashboard')],
    ['page /account', await ann.page('/account')],
    ['page /download', await ann.page('/download')],
    ['page /reauth', await ann.page('/reauth')],
    ['JSON password change', await json('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD })],
    ['form password change', await ann.form('/account/password', { _csrf: token, current_password: PASSWORD, new_password: NEW_PASSWORD })],
    ['form revoke other sessions', await ann.form('/account/sessions/revoke-others', { _csrf: token })],
    ['JSON re-authentication', await json('/reauth', { password: PASSWORD })],
  ];
  for (const [what, res] of answers) {
    const body = await res.text();
    assert.equal(res.status, 503, `${what}: ${res.status} ${body.slice(0, 200)}`);
    assert.ok(Number(res.headers.get('retry-after')) > 0, what);
    assert.doesNotMatch(body, /Hello|Welcome to your dashboard|Your sessions|password has been changed|Logged out|confirmed/i, what);
    assert.ok(!res.headers.getSetCookie().some((c) => /^(__Host-)?session=;/.test(c)), `${what}: a 503 logs nobody out`);
  }
  if (stop === null) return;
  stop();
  assert.equal((await app.stores.users.getUserById(userId))!.passwordHash, hash, 'the password did not change');
  assert.equal((await other.getJson('/protected')).status, 200, 'the other session was not revoked');
  assert.equal((await ann.getJson('/protected')).status, 200, 'once the fault is gone, the same browser gets through');
}

test('SEC-67: the session store\'s getSession fails: every protected route and action answers 503, none runs', async (t) => {
  const fault = { on: false, sessions: ['getSession'] };
  const clock = { now: Date.now() }; // the SQLite store stamps with the real clock
  const app = await faultyApp(t, fault, clock);
  await assertProtectedRoutesFailClosed(app, clock, () => (fault.on = true), () => (fault.on = false));
});

test('SEC-67: the session store\'s updateSession (the sliding-expiry write) fails: 503, none runs', async (t) => {
  const fault = { on: false, sessions: ['updateSession'] };
  const clock = { now: Date.now() }; // the SQLite store stamps with the real clock
  const app = await faultyApp(t, fault, clock);
  // Five idle minutes, inside the 30-minute idle timeout: the next request writes the new expiry.
  await assertProtectedRoutesFailClosed(app, clock, () => { clock.now += 5 * 60_000; fault.on = true; }, () => (fault.on = false));
});

test('SEC-67: the user store behind loadUser rejects with a plain driver error: 503, never a 500, none runs', async (t) => {
  const fault = { on: false, users: ['getUserById'] };
  const clock = { now: Date.now() }; // the SQLite store stamps with the real clock
  const app = await faultyApp(t, fault, clock);
  await assertProtectedRoutesFailClosed(app, clock, () => (fault.on = true), () => (fault.on = false));
  // The operator is told what failed, so that a loader bug is not mistaken for an outage (SEC-66:
  // only the log, never the body, says it).
  const warned = app.logs.filter((line) => line.event === 'service_unavailable');
  assert.ok(warned.length > 0, 'a warn line for the 503');
  assert.ok(warned.every((line) => line.level === 'warn' && line.error === 'ERR_LATCHKEY_STORE_UNAVAILABLE' && typeof line.cause === 'string' && typeof line.request_id === 'string'), JSON.stringify(warned[0]));
});

test('SEC-67: the user store is closed under the app: 503, none runs, and login is a 503 too', async (t) => {
  const clock = { now: Date.now() }; // the SQLite store stamps with the real clock
  const app = await faultyApp(t, { on: false }, clock);
  await assertProtectedRoutesFailClosed(app, clock, () => void (app.stores.users as unknown as SqliteUserStore).close(), null);
  const login = await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.equal(login.status, 503);
  assert.deepEqual(login.response.headers.getSetCookie().filter((c) => /^(__Host-)?session=[^;]/.test(c)), []);
});

test('SEC-67: the throttle\'s counter store fails: login, re-authentication and password change answer 503, and no login or change happens', async (t) => {
  const fault = { on: false, sessions: ['getCounter', 'recordFailure', 'clearCounter'] };
  const clock = { now: Date.now() }; // the SQLite store stamps with the real clock
  const app = await faultyApp(t, fault, clock);
  const ann = app.client();
  const userId = String(await ann.register());
  const hash = (await app.stores.users.getUserById(userId))!.passwordHash;
  const token = await ann.csrf();
  fault.on = true;
  const browser: Client = app.client();
  const answers: Array<[string, Response]> = [
    ['JSON login', (await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD })).response],
    ['JSON login, wrong password', (await app.client().json('/login', { login: 'ann@example.com', password: 'not the password at all' })).response],
    ['form login', await browser.form('/login', { login: 'ann@example.com', password: PASSWORD, remember: 'on' })],
    ['JSON re-authentication', (await ann.json('/reauth', { password: PASSWORD })).response],
    ['JSON password change', (await ann.json('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD })).response],
    ['form password change', await ann.form('/account/password', { _csrf: token, current_password: PASSWORD, new_password: NEW_PASSWORD })],
  ];
  for (const [what, res] of answers) {
    assert.equal(res.status, 503, `${what}: ${res.status}`);
    assert.ok(!res.headers.getSetCookie().some((c) => /^(__Host-)?(session|remember_token)=[^;]/.test(c)), `${what}: no login`);
  }
  fault.on = false;
  assert.equal((await app.manager.listUserSessions(userId)).length, 1, 'only the registration\'s session exists');
  assert.equal((await app.stores.users.getUserById(userId))!.passwordHash, hash, 'the password did not change');
  assert.equal((await browser.page('/dashboard')).status, 302, 'the form login did not log that browser in');
});

test('R-03: a user store that accepts and never answers: login and registration answer 503 within the app\'s 1.5 s deadline, not a hung request', async (t) => {
  const hang = { on: false };
  const app = await setup(t, {
    wrapStores: (stores): AppStores => ({
      ...stores,
      users: new Proxy(stores.users, {
        get(object, name, receiver) {
          const value = Reflect.get(object, name, receiver);
          if (typeof value !== 'function') return value;
          if (name === 'getUserByLogin') return (...args: unknown[]) => (hang.on ? new Promise(() => {}) : value.apply(object, args));
          return value.bind(object);
        },
      }),
    }),
  });
  await app.client().register();
  hang.on = true;
  for (const [what, send] of [
    ['JSON login', () => app.client().json('/login', { login: 'ann@example.com', password: PASSWORD })],
    ['JSON registration', () => app.client().json('/register', { email: 'bob@example.com', name: 'Bob', password: PASSWORD })],
  ] as const) {
    const started = performance.now();
    const { response } = await send();
    const elapsed = performance.now() - started;
    assert.equal(response.status, 503, what);
    assert.equal(response.headers.get('retry-after'), '5', what);
    assert.ok(elapsed < 2_000, `${what}: answered after ${Math.round(elapsed)} ms`);
    assert.ok(app.logs.some((line) => line.event === 'service_unavailable' && line.error === 'ERR_LATCHKEY_STORE_TIMEOUT'), what);
  }
});
