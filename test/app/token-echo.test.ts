/**
 * SEC-26: the session token, the remember-me token and the CSRF token are never echoed. A full
 * flow runs through the app, as a browser and as an API client (register, login with remember,
 * pages, the account page, JSON answers, redirects, errors including a 500, a restored remembered
 * login, logout), every answer is recorded, and each token value that was ever set is looked for
 * in every body, every `Location` and every log line. The CSRF token's one legitimate place is
 * the `_csrf` field of a form; it may be nowhere else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserRecord } from 'latchkey';
import type { AppStores } from '../../app/stores.ts';
import { Client, PASSWORD, setup, type TestApp } from './support.ts';

interface Recorded {
  readonly what: string;
  readonly status: number;
  readonly location: string | null;
  readonly body: string;
  readonly setCookies: readonly string[];
}

test('SEC-26: no session, remember-me or CSRF token appears in any body, Location or log line of a full flow', async (t) => {
  let buggy = false;
  const app = await setup(t, {
    wrapStores: (stores) => {
      // For one request, a bug past the guards (a 500, logged): the log line is searched too.
      const users = new Proxy(stores.users, {
        get(target, name, receiver) {
          if (name === 'getUserById' && buggy) {
            return (id: string) => target.getUserById(id).then((user: UserRecord | null) => user && Object.defineProperty({ ...user }, 'name', {
              get: () => { throw new Error('a bug while rendering'); },
            }));
          }
          const value = Reflect.get(target, name, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as AppStores['users'];
      return { ...stores, users };
    },
    env: { USER_CACHE_TTL: '0' },
  });
  const recorded: Recorded[] = [];
  const recording: TestApp = {
    ...app,
    request: async (path, init) => {
      const res = await app.request(path, init);
      recorded.push({
        what: `${init?.method ?? 'GET'} ${path}`,
        status: res.status,
        location: res.headers.get('location'),
        body: await res.clone().text(),
        setCookies: res.headers.getSetCookie(),
      });
      return res;
    },
  };

  // A browser: register, pages, logout, login with remember, a restored remembered login, the
  // account page and its actions, errors, logout.
  const browser = new Client(recording);
  assert.equal((await browser.form('/register', { email: 'ann@example.com', name: 'Ann', password: PASSWORD }, { tokenFrom: '/register' })).status, 303);
  for (const path of ['/', '/dashboard', '/account', '/download', '/reauth', '/protected', '/nope']) await browser.page(path);
  assert.equal((await browser.form('/logout', {})).status, 303);
  assert.equal((await browser.form('/login?next=/account', { login: 'ann@example.com', password: PASSWORD, remember: 'on', next: '/account' })).status, 303);
  await browser.page('/account');
  browser.restartBrowser();
  await browser.page('/dashboard'); // restored from the remember-me cookie, under a new session token
  assert.equal((await browser.form('/reauth', { password: PASSWORD, next: '/account' })).status, 303);
  assert.equal((await browser.form('/account/sessions/revoke-others', {})).status, 303);
  await browser.form('/account/password', { current_password: 'not my password at all', new_password: 'another long passphrase' });
  await browser.form('/logout', { _csrf: 'forged' }); // 403
  await browser.form('/login', { login: 'ann@example.com', password: 'wrong wrong wrong' }); // 401 while logged in
  buggy = true;
  assert.equal((await browser.page('/dashboard')).status, 500);
  buggy = false;
  assert.equal((await browser.form('/logout', {})).status, 303);
  await browser.page('/dashboard'); // 302 to the login page

  // An API client: register (and a second time: 409), bad input, login with remember, JSON
  // answers, a 500, logout, then 401.
  const api = new Client(recording);
  await api.register('bob@example.com', 'Bob');
  await api.json('/register', { email: 'bob@example.com', name: 'Bob', password: PASSWORD });
  await api.json('/login', { login: 'bob@example.com', password: 123 });
  await api.login('bob@example.com', PASSWORD, true);
  for (const path of ['/protected', '/dashboard', '/account', '/login', '/healthz']) await api.getJson(path);
  await api.json('/account/password', { current_password: PASSWORD, new_password: 'short' });
  buggy = true;
  assert.equal((await api.getJson('/dashboard')).status, 500);
  buggy = false;
  await api.json('/logout', {});
  assert.equal((await api.getJson('/protected')).status, 401);

  // Every token value the app ever set, with the secret half of the id.secret ones.
  const secrets = new Set<string>();
  const csrfTokens = new Set<string>();
  for (const r of recorded) {
    for (const cookie of r.setCookies) {
      const match = /^(?:__Host-)?(session|remember_token|lk-csrf)=([^;]+)/.exec(cookie);
      if (!match) continue;
      const value = match[2] as string;
      secrets.add(value);
      if (value.includes('.')) secrets.add(value.slice(value.indexOf('.') + 1));
    }
    for (const m of r.body.matchAll(/name="_csrf" value="([^"]+)"/g)) csrfTokens.add(m[1] as string);
  }
  // Not vacuous: two logins with remember-me, a restored login, a registration, pages with forms.
  assert.ok([...secrets].filter((s) => s.length === 43).length >= 6, `${secrets.size} token values`);
  assert.ok(csrfTokens.size >= 3, `${csrfTokens.size} CSRF tokens`);
  assert.ok(app.logs.length >= 2, 'the two 500s were logged');

  const logs = app.logs.map((entry) => JSON.stringify(entry));
  for (const secret of secrets) {
    for (const r of recorded) {
      assert.ok(!r.body.includes(secret), `${r.what} (${r.status}): the body holds a cookie token`);
      assert.ok(!r.location?.includes(secret), `${r.what}: the Location holds a cookie token`);
    }
    for (const line of logs) assert.ok(!line.includes(secret), `a log line holds a cookie token: ${line.slice(0, 200)}`);
  }
  for (const token of csrfTokens) {
    for (const r of recorded) {
      const outsideForms = r.body.replaceAll(`name="_csrf" value="${token}"`, '');
      assert.ok(!outsideForms.includes(token), `${r.what} (${r.status}): the CSRF token outside a form's _csrf field`);
      assert.ok(!r.location?.includes(token), `${r.what}: the Location holds a CSRF token`);
    }
    for (const line of logs) assert.ok(!line.includes(token), 'a log line holds a CSRF token');
  }
});
