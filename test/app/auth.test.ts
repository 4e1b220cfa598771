/**
 * the app's HTTP contract: POST /register, POST /login, POST /logout and their bullets (answers, 409,
 * policy failures, identical login failures, throttling), in both representations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PasswordHasher } from 'latchkey';
import { loadConfig } from '../../app/config.ts';
import { BROWSER_ACCEPT, PASSWORD, seedUser, setup } from './support.ts';

const INVALID = { message: 'Invalid username or password.' };

test('POST /register (JSON): 201 {"message":"Registration successful!","user_id":N} and logged in', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const { status, body, response } = await client.json('/register', { email: 'ann@example.com', name: 'Ann', password: PASSWORD });
  assert.equal(status, 201);
  assert.deepEqual(body, { message: 'Registration successful!', user_id: 1 });
  assert.equal(typeof body.user_id, 'number');
  assert.match(response.headers.getSetCookie().join('\n'), /^session=/m);
  assert.equal((await client.getJson('/protected')).status, 200);
});

test('POST /register (form): creates the account, logs it in, 303 to /dashboard', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const res = await client.form('/register', { email: 'ann@example.com', name: 'Ann', password: PASSWORD }, { tokenFrom: '/register' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/dashboard');
  const dashboard = await (await client.page('/dashboard')).text();
  assert.match(dashboard, /Welcome to your dashboard/);
  assert.match(dashboard, /flash-success[^>]*>Registration successful!/);
});

test('POST /register with an email already registered: 409 "Email already registered. Login instead"', async (t) => {
  const app = await setup(t);
  await seedUser(app, 'ann@example.com');
  const { status, body } = await app.client().json('/register', { email: 'ANN@Example.com', name: 'Other', password: PASSWORD });
  assert.equal(status, 409);
  assert.deepEqual(body, { message: 'Email already registered. Login instead' });
});

test('POST /register with an email already registered (form): redirect to /login with that flash', async (t) => {
  const app = await setup(t);
  await seedUser(app, 'ann@example.com');
  const client = app.client();
  const res = await client.form('/register', { email: 'ann@example.com', name: 'Other', password: PASSWORD }, { tokenFrom: '/register' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login');
  assert.match(await (await client.page('/login')).text(), />Email already registered. Login instead</);
});

test('POST /register asks for an email address as the contract says, even with a username (finding 13: only the library and the CLI take a username alone)', async (t) => {
  const app = await setup(t);
  const { status, body } = await app.client().json('/register', { username: 'test_user', name: 'Test', password: PASSWORD });
  assert.equal(status, 400);
  assert.equal(body.errors.email, 'Email address must not be empty.');
  assert.deepEqual(await app.stores.users.listUsers(), []);
});

test('POST /register with a taken username: 409 naming the username', async (t) => {
  const app = await setup(t);
  await app.accounts.register({ email: 'ann@example.com', name: 'Ann', password: PASSWORD, username: 'ann' });
  const { status, body } = await app.client().json('/register', { email: 'bob@example.com', name: 'Bob', password: PASSWORD, username: 'Ann' });
  assert.equal(status, 409);
  assert.ok(body.errors.username);
});

test('Password policy failures: 400 naming the reason in errors.password', async (t) => {
  const app = await setup(t);
  const cases = ['fourteen chars', 'passwordpassword1', '123456789012345', 'Latchkey2025!Latchkey', 'annannannannann'];
  for (const password of cases) {
    const { status, body } = await app.client().json('/register', { email: 'ann@example.com', name: 'Ann', password });
    assert.equal(status, 400, password);
    assert.equal(typeof body.errors.password, 'string', password);
    assert.ok(body.message.includes(body.errors.password), password);
  }
  const short = await app.client().json('/register', { email: 'ann@example.com', name: 'Ann', password: 'x'.repeat(14) });
  assert.match(short.body.errors.password, /15/);
  assert.equal((await app.client().json('/register', { email: 'ann@example.com', name: 'Ann', password: '🦊🐢🦉🐙🦋🌵🍄🌻🍉🥨🧀🎻🪁🚲⛵' })).status, 201);
});

test('Registration errors in HTML: 400, each error next to its field, input kept, password never echoed', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const res = await client.form('/register', { email: 'not-an-email', name: 'Ann <b>', password: 'short-secret' }, { tokenFrom: '/register' });
  assert.equal(res.status, 400);
  const html = await res.text();
  assert.match(html, /value="not-an-email"/);
  assert.match(html, /value="Ann &lt;b&gt;"/);
  assert.doesNotMatch(html, /short-secret/);
  assert.match(html, /id="f-email-error">Email address must contain exactly one/);
  assert.match(html, /id="f-password-error">Password must be at least 15/);
  assert.match(html, /aria-invalid="true"/);
});

test('POST /login (JSON): 200 {"message":"Login successful!","user_id":N} with login, email or username', async (t) => {
  const app = await setup(t);
  const result = await app.accounts.register({ email: 'ann@example.com', name: 'Ann', password: PASSWORD, username: 'ann_e' });
  assert.ok(result.ok);
  for (const field of ['login', 'email', 'username']) {
    const value = field === 'username' ? 'ann_e' : 'Ann@Example.com';
    const { status, body } = await app.client().json('/login', { [field]: value, password: PASSWORD });
    assert.equal(status, 200, field);
    assert.deepEqual(body, { message: 'Login successful!', user_id: 1 });
  }
});

test('POST /login with two of login, email, username: 400', async (t) => {
  const app = await setup(t);
  const { status, body } = await app.client().json('/login', { login: 'a@x.io', email: 'a@x.io', password: PASSWORD });
  assert.equal(status, 400);
  assert.ok(body.errors.email);
});

test('POST /login with a missing field: 400 with errors', async (t) => {
  const app = await setup(t);
  const { status, body } = await app.client().json('/login', { email: 'ann@example.com' });
  assert.equal(status, 400);
  assert.equal(body.errors.password, 'Enter your password.');
});

test('POST /login (form): 303 to next, with the flash "Login successful!"', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const res = await client.form('/login', { login: 'ann@example.com', password: PASSWORD, next: '/account' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account');
  assert.match(await (await client.page('/account')).text(), /Login successful!/);
  const plain = app.client();
  const res2 = await plain.form('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.equal(res2.headers.get('location'), '/dashboard');
});

test('Login failures (unknown user, wrong password, inactive account): the same 401, body and headers (SEC-13)', async (t) => {
  const app = await setup(t);
  await seedUser(app, 'ann@example.com');
  const inactive = await seedUser(app, 'ina@example.com', 'Ina');
  await app.accounts.deactivate(inactive);
  const attempts = [
    { login: 'nobody@example.com', password: PASSWORD },
    { login: 'ann@example.com', password: `${PASSWORD}!` },
    { login: 'ina@example.com', password: PASSWORD },
  ];
  const seen = [];
  for (const attempt of attempts) {
    const { status, body, response } = await app.client().json('/login', attempt);
    const headers = [...response.headers].filter(([name]) => name !== 'date');
    seen.push({ status, body, headers });
  }
  assert.deepEqual(seen[0], { status: 401, body: INVALID, headers: seen[0]!.headers });
  assert.deepEqual(seen[1], seen[0]);
  assert.deepEqual(seen[2], seen[0]);
});

test('Login failure in HTML: 401, the message shown as a flash, the login kept, never the password', async (t) => {
  const app = await setup(t);
  const res = await app.client().form('/login', { login: 'ann@example.com', password: 'wrong password here' });
  assert.equal(res.status, 401);
  const html = await res.text();
  assert.match(html, /class="flash flash-error" role="alert">Invalid username or password.</);
  assert.match(html, /name="login" type="text" autocomplete="username" value="ann@example.com"/);
  assert.doesNotMatch(html, /wrong password here/);
});

test('Throttled login: 429 with Retry-After, the same for a known and an unknown account (SEC-17)', async (t) => {
  const app = await setup(t);
  await seedUser(app, 'ann@example.com');
  const results = [];
  for (const login of ['ann@example.com', 'nobody@example.com']) {
    for (let i = 0; i < 5; i++) assert.equal((await app.client().json('/login', { login, password: 'wrong wrong wrong' })).status, 401);
    const { status, body, response } = await app.client().json('/login', { login, password: PASSWORD });
    assert.equal(status, 429);
    assert.match(response.headers.get('retry-after')!, /^\d+$/);
    results.push(body);
  }
  assert.deepEqual(results[0], results[1]);
  const html = await app.client().form('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.equal(html.status, 429);
  assert.ok(html.headers.get('retry-after'));
});

test('POST /logout (JSON): 200 {"message":"Logout successful!"}; the old cookie no longer works', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register();
  const cookie = client.cookie;
  const { status, body, response } = await client.json('/logout', {});
  assert.equal(status, 200);
  assert.deepEqual(body, { message: 'Logout successful!' });
  assert.match(response.headers.getSetCookie().join('\n'), /^session=; .*Max-Age=0/m);
  const replay = await app.request('/protected', { headers: { cookie } });
  assert.equal(replay.status, 401);
});

test('POST /logout (form): 303 to /, ends the session and the remember-me login', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login('ann@example.com', PASSWORD, true);
  const cookies = client.cookie;
  assert.match(cookies, /remember_token=/);
  const res = await client.form('/logout', {});
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
  const cleared = res.headers.getSetCookie().join('\n');
  assert.match(cleared, /^remember_token=; .*Max-Age=0/m);
  // Replaying both old cookies (a copy kept by an attacker) gets nobody.
  assert.equal((await app.request('/protected', { headers: { cookie: cookies } })).status, 401);
  assert.equal((await app.request('/protected', { headers: { cookie: cookies.replace(/session=[^;]+; ?/, '') } })).status, 401);
});

test('POST /logout anonymous: the same answer', async (t) => {
  const app = await setup(t);
  const { status, body } = await app.client().json('/logout', {});
  assert.equal(status, 200);
  assert.deepEqual(body, { message: 'Logout successful!' });
  const res = await app.client().form('/logout', {});
  assert.equal(res.status, 303);
});

test('GET /logout: 405, and the user stays logged in (SEC-31)', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register();
  const res = await client.fetch('/logout', { headers: { accept: BROWSER_ACCEPT } });
  assert.equal(res.status, 405);
  assert.match(res.headers.get('allow')!, /POST/);
  assert.equal((await client.getJson('/protected')).status, 200);
});

test('POST /logout while the store is down: 503 saying so, and this browser\'s cookies cleared (the security requirements §5.6)', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register();
  await app.stores.sessions.close?.();
  const { status, body, response } = await client.json('/logout', {});
  assert.equal(status, 503);
  assert.match(body.message, /could not end your session/);
  assert.ok(response.headers.get('retry-after'));
  assert.match(response.headers.getSetCookie().join('\n'), /^session=; .*Max-Age=0/m);
});

test('POST /register while the session store is down: 503 saying the account was created and to log in shortly, then 409 (R-01)', async (t) => {
  const app = await setup(t);
  await app.stores.sessions.close?.();
  const client = app.client();
  const form = { email: 'bo@example.com', name: 'Bo', password: PASSWORD };
  const { status, body, response } = await client.json('/register', form);
  assert.equal(status, 503);
  assert.match(body.message, /account was created.*log in again shortly/i);
  assert.ok(response.headers.get('retry-after'));
  assert.equal((await client.json('/register', form)).status, 409);
});

test('SESSION_CACHE_TTL (default 0, off) and USER_CACHE_TTL (default 5s): up to 5s, more or not a duration stops start-up (R-07)', async (t) => {
  const off = await setup(t);
  assert.equal(off.manager.options.sessionCache, null);
  const on = await setup(t, { env: { SESSION_CACHE_TTL: '5s' } });
  assert.deepEqual(on.manager.options.sessionCache, { ttl: 5000, maxEntries: 10_000 });
  for (const name of ['SESSION_CACHE_TTL', 'USER_CACHE_TTL']) {
    for (const bad of ['6s', 'soon', '-1s']) {
      const loaded = loadConfig({ DATA_DIR: '/nonexistent', SECRET_KEY: 'k'.repeat(64), [name]: bad });
      assert.equal(loaded.ok, false, bad);
      assert.match((loaded as { problems: string[] }).problems.join('\n'), new RegExp(`^${name}: "${bad}" must be 0 \\(off\\) or a duration up to 5s: a logout or password change must reach every instance within 5 s$`, 'm'), bad);
    }
  }
  // The user cache is on by default (sessions are still read on every request), 0 turns it off.
  assert.equal(off.config.userCacheTtl, 5000);
  const noUserCache = loadConfig({ DATA_DIR: '/nonexistent', SECRET_KEY: 'k'.repeat(64), USER_CACHE_TTL: '0' });
  assert.ok(noUserCache.ok && noUserCache.config.userCacheTtl === 0);
});

test('Deactivating an account ends its sessions at once, user cache or not (SEC-32, R-07)', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register();
  assert.equal((await client.getJson('/protected')).status, 200); // the user is now in the user cache
  const user = await app.stores.users.getUserByLogin('ann@example.com');
  assert.equal(await app.accounts.deactivate(user!.id), true);
  assert.equal((await client.getJson('/protected')).status, 401);
});

test('SESSION_CACHE_TTL=5s: a logout and a revocation through this instance are refused at the next request (SEC-31, R-06)', async (t) => {
  const app = await setup(t, { env: { SESSION_CACHE_TTL: '5s' } });
  const client = app.client();
  await client.register();
  const cookies = client.cookie;
  assert.equal((await client.getJson('/protected')).status, 200); // now cached
  assert.equal((await client.json('/logout', {})).status, 200);
  assert.equal((await app.request('/protected', { headers: { cookie: cookies } })).status, 401);

  const other = app.client();
  await other.login('ann@example.com');
  assert.equal((await other.getJson('/protected')).status, 200);
  const user = await app.stores.users.getUserByLogin('ann@example.com');
  await app.manager.revokeUserSessions(user!.id);
  assert.equal((await other.getJson('/protected')).status, 401);
});

test('SEC-11: registration asks for no password hint or security question, and the API refuses one (400, no account)', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const form = await (await client.page('/register')).text();
  const fields = [...form.matchAll(/<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(fields.includes('password'), fields.join(' '));
  assert.deepEqual(fields.filter((name) => /hint|question|answer|reminder/i.test(name as string)), []);
  const { status, body } = await client.json('/register', {
    email: 'ann@example.com', name: 'Ann', password: PASSWORD, password_hint: 'a horse', security_question: 'First pet?', security_answer: 'Rex',
  });
  assert.equal(status, 400);
  assert.deepEqual(Object.keys(body.errors).sort(), ['password_hint', 'security_answer', 'security_question']);
  assert.deepEqual(await app.stores.users.listUsers(), []);
});

test('finding 8, the hard stop is no DoS: an attacker exhausts the account (100 failures); the owner with the device cookie logs in at once, without it is still refused (SEC-51), and logged in can re-authenticate and change the password (SEC-52)', async (t) => {
  let time = Date.now();
  const app = await setup(t, { now: () => time });
  await seedUser(app, 'ann@example.com');
  const trusted = app.client();
  const login = await trusted.json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.equal(login.status, 200);
  const set = login.response.headers.getSetCookie().find((cookie) => cookie.startsWith('lk-device='));
  assert.match(set ?? '', /^lk-device=[A-Za-z0-9_.-]+; Max-Age=31536000; Expires=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
  const owner = app.client(); // logged in before the attack, on another browser
  await owner.login('ann@example.com', PASSWORD, true);

  const attacker = app.client();
  for (let i = 1; i <= 100; i++) {
    time += 15 * 60_000; // every wait of the per-account delay has passed
    assert.equal((await attacker.json('/login', { login: i % 2 ? 'ann@example.com' : 'ANN@example.com', password: `guess number ${i} of many` })).status, 401, `guess ${i}`);
  }
  // The lock does not depend on time (100 failures, until a reset): bring the app's clock back to
  // the store's, which stamps sessions with the real one, so that session times stay consistent.
  time = Date.now();
  assert.equal((await attacker.json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 429, 'the right password without the cookie (SEC-51)');
  assert.equal((await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 429, 'a new browser of the owner');

  trusted.restartBrowser();
  trusted.jar.delete('session');
  assert.equal((await trusted.json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 200, 'the browser with the device cookie');

  assert.equal((await owner.json('/reauth', { password: PASSWORD })).status, 200, 'the logged-in owner re-authenticates');
  const changed = await owner.json('/account/password', { current_password: PASSWORD, new_password: 'a brand new passphrase for ann' });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
});

test('finding 8: a stolen or tampered device cookie of another account exempts nothing (SEC-52)', async (t) => {
  let time = Date.now();
  const app = await setup(t, { now: () => time });
  await seedUser(app, 'ann@example.com');
  await seedUser(app, 'bob@example.com', 'Bob');
  const bob = app.client();
  await bob.login('bob@example.com');
  const attacker = app.client();
  for (let i = 1; i <= 100; i++) {
    time += 15 * 60_000;
    await attacker.json('/login', { login: 'ann@example.com', password: `guess number ${i} of many` });
  }
  const device = bob.jar.get('lk-device') as string;
  for (const cookie of [`lk-device=${device}`, `lk-device=${device.slice(0, -2)}AA`]) {
    const res = await app.request('/login', { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ login: 'ann@example.com', password: PASSWORD }) });
    assert.equal(res.status, 429, cookie);
  }
});

test('finding 7, one counter per account: failures by email and by username count together, and a success by username clears them (SEC-17, SEC-51)', async (t) => {
  const app = await setup(t);
  const registered = await app.client().json('/register', { email: 'ann@example.com', name: 'Ann', username: 'ann', password: PASSWORD });
  assert.equal(registered.status, 201);
  const attacker = app.client();
  for (const login of ['ann@example.com', 'ann', 'ANN@EXAMPLE.COM', 'Ann']) assert.equal((await attacker.json('/login', { login, password: 'wrong wrong wrong' })).status, 401);
  assert.equal((await attacker.json('/login', { login: 'ann@example.com', password: 'wrong wrong wrong' })).status, 401, 'the fifth failure, by email');
  assert.equal((await attacker.json('/login', { login: 'ann', password: PASSWORD })).status, 429, 'the sixth attempt waits, by username too');

  const other = await app.client().json('/register', { email: 'bob@example.com', name: 'Bob', username: 'bob', password: PASSWORD });
  assert.equal(other.status, 201);
  for (let i = 0; i < 4; i++) assert.equal((await attacker.json('/login', { login: 'bob@example.com', password: 'wrong wrong wrong' })).status, 401);
  assert.equal((await app.client().json('/login', { username: 'bob', password: PASSWORD })).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await attacker.json('/login', { login: 'bob@example.com', password: 'wrong wrong wrong' })).status, 401, `after the success, failure ${i + 1} is free again`);
});

test('finding 3, registration is throttled per IP: the (N+1)th registration from one IP is 429 with Retry-After and never reaches the hasher (SEC-53, SEC-12)', async (t) => {
  const app = await setup(t, { env: { TRUST_PROXY: 'true', REGISTRATIONS_PER_HOUR: '3' } });
  const hash = t.mock.method(PasswordHasher.prototype, 'hash');
  const from = (ip: string) => app.client({ 'x-forwarded-for': ip });
  for (let i = 1; i <= 3; i++) assert.equal((await from('203.0.113.5').json('/register', { email: `u${i}@example.com`, name: 'U', password: PASSWORD })).status, 201);
  assert.equal(hash.mock.callCount(), 3);
  const refused = await from('203.0.113.5').json('/register', { email: 'u4@example.com', name: 'U', password: PASSWORD });
  assert.equal(refused.status, 429);
  assert.match(refused.response.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.match(refused.body.message, /Too many registrations/);
  const form = await from('203.0.113.5').form('/register', { email: 'u5@example.com', name: 'U', password: PASSWORD }, { tokenFrom: '/register' });
  assert.equal(form.status, 429);
  assert.equal(hash.mock.callCount(), 3, 'the refused registrations hashed nothing');
  assert.equal((await from('203.0.113.6').json('/register', { email: 'u6@example.com', name: 'U', password: PASSWORD })).status, 201, 'another client');
});

test('finding 3: 90 parallel registrations of a taken address all get 409 without hashing and no 503, and a login from another IP during the flood succeeds (SEC-12, R-04)', async (t) => {
  const app = await setup(t, { env: { TRUST_PROXY: 'true', REGISTRATIONS_PER_HOUR: '1000' } });
  await seedUser(app, 'ann@example.com');
  const hash = t.mock.method(PasswordHasher.prototype, 'hash');
  const verify = t.mock.method(PasswordHasher.prototype, 'verify');
  const flood = Array.from({ length: 90 }, (_, i) =>
    app.client({ 'x-forwarded-for': `198.51.100.${i + 1}` }).json('/register', { email: 'ANN@example.com', name: 'Mallory', password: `${PASSWORD} ${i}` }),
  );
  const legitimate = app.client({ 'x-forwarded-for': '192.0.2.1' }).json('/login', { login: 'ann@example.com', password: PASSWORD });
  const answers = await Promise.all(flood);
  assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [409]);
  assert.equal((await legitimate).status, 200);
  assert.equal(hash.mock.callCount(), 0);
  assert.equal(verify.mock.callCount(), 1, 'only the login verified a password');
});
