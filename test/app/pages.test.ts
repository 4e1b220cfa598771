/**
 * the app's HTTP contract, "Routes": the read-only pages (home, dashboard, protected, download), the form
 * pages for logged-in users, `/healthz`, the stylesheet, and "Representations" (HTML to browsers,
 * JSON to API clients). One test at least per row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSER_ACCEPT, FIREFOX, PASSWORD, seedUser, setup } from './support.ts';

test('GET / anonymous: home with links to log in and to register (HTML)', async (t) => {
  const app = await setup(t);
  const res = await app.client().page('/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/html; charset=utf-8$/i);
  const html = await res.text();
  assert.match(html, /<a class="button primary" href="\/login">Log in<\/a>/);
  assert.match(html, /href="\/register"/);
  assert.doesNotMatch(html, /You are already logged in/);
});

test('GET / anonymous, as JSON: links to log in and to register', async (t) => {
  const app = await setup(t);
  const { status, body } = await app.client().getJson('/');
  assert.equal(status, 200);
  assert.deepEqual(body.links, { login: '/login', register: '/register' });
});

test('GET / logged in: "You are already logged in", the name, links to dashboard and account, a logout button', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register('ann@example.com', 'Ann Example');
  const html = await (await client.page('/')).text();
  assert.match(html, /You are already logged in/);
  assert.match(html, /Ann Example/);
  assert.match(html, /href="\/dashboard"/);
  assert.match(html, /href="\/account"/);
  assert.match(html, /<div class="actions">[\s\S]*<form class="inline" method="post" action="\/logout"><input type="hidden" name="_csrf" value="[\w-]{43}"><button type="submit" class="button">Log out<\/button>/);
  const json = await client.getJson('/');
  assert.equal(json.body.message, 'You are already logged in');
  assert.equal(json.body.user.name, 'Ann Example');
});

test('GET /register and GET /login logged in: redirect to /dashboard', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register();
  for (const path of ['/register', '/login']) {
    const res = await client.page(path);
    assert.equal(res.status, 302, path);
    assert.equal(res.headers.get('location'), '/dashboard');
  }
});

test('GET /register and GET /login anonymous: the forms', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const register = await (await client.page('/register')).text();
  for (const name of ['email', 'name', 'password']) assert.match(register, new RegExp(`name="${name}"`));
  const login = await (await client.page('/login')).text();
  for (const name of ['login', 'password', 'remember']) assert.match(login, new RegExp(`name="${name}"`));
});

test('GET /dashboard anonymous: redirect to /login?next=%2Fdashboard with the flash "Please log in to access this page."', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const res = await client.page('/dashboard');
  assert.ok(res.status === 302 || res.status === 303);
  assert.equal(res.headers.get('location'), '/login?next=%2Fdashboard');
  const login = await (await client.page('/login?next=%2Fdashboard')).text();
  assert.match(login, /<p class="flash flash-message" role="status">Please log in to access this page.<\/p>/);
  assert.match(login, /name="next" value="\/dashboard"/);
});

test('GET /dashboard anonymous API client: JSON 401 "Please log in to access this page."', async (t) => {
  const app = await setup(t);
  const { status, body } = await app.client().getJson('/dashboard');
  assert.equal(status, 401);
  assert.deepEqual(body, { message: 'Please log in to access this page.' });
});

test('GET /dashboard logged in: "Hello, NAME! Welcome to your dashboard." and a download link', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register('ann@example.com', 'Ann');
  const html = await (await client.page('/dashboard')).text();
  assert.match(html, /Hello, <bdi>Ann<\/bdi>! Welcome to your dashboard./);
  assert.match(html, /href="\/download"/);
  const json = await client.getJson('/dashboard');
  assert.deepEqual(json.body, { message: 'Hello, Ann! Welcome to your dashboard.' });
});

test('GET /protected anonymous: JSON 401, even to a browser', async (t) => {
  const app = await setup(t);
  for (const accept of ['*/*', BROWSER_ACCEPT]) {
    const res = await app.request('/protected', { headers: { accept } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type')!, /^application\/json; charset=utf-8$/);
    assert.deepEqual(await res.json(), { message: 'Please log in to access this page.' });
  }
});

test('GET /protected logged in: JSON 200 "Hello, NAME! This is a protected route."', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register('ann@example.com', 'Ann');
  const res = await client.page('/protected');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { message: 'Hello, Ann! This is a protected route.' });
});

test('GET /download anonymous: as /dashboard (redirect to log in, JSON 401)', async (t) => {
  const app = await setup(t);
  const res = await app.client().page('/download');
  assert.equal(res.headers.get('location'), '/login?next=%2Fdownload');
  assert.equal((await app.client().getJson('/download')).status, 401);
});

test('GET /download logged in: a file with Content-Disposition: attachment', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register('ann@example.com', 'Ann');
  const res = await client.page('/download');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-disposition')!, /^attachment; filename="[\w.-]+"$/);
  assert.match(res.headers.get('content-type')!, /^text\/plain; charset=utf-8$/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.match(await res.text(), /Hello, Ann!/);
});

test('A flash message is shown once', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.page('/dashboard');
  assert.match(await (await client.page('/login')).text(), /Please log in to access this page./);
  assert.doesNotMatch(await (await client.page('/login')).text(), /Please log in to access this page./);
});

test('Representations: a JSON body or an Accept without text/html wants JSON; a browser gets HTML', async (t) => {
  const app = await setup(t);
  const cases: [Record<string, string>, RegExp][] = [
    [{ accept: '*/*' }, /^application\/json/],
    [{}, /^application\/json/],
    [{ accept: 'application/json' }, /^application\/json/],
    [{ accept: BROWSER_ACCEPT }, /^text\/html/],
  ];
  for (const [headers, type] of cases) {
    const res = await app.request('/', { headers });
    assert.match(res.headers.get('content-type')!, type, JSON.stringify(headers));
  }
  const res = await app.request('/login', { method: 'POST', headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/json' }, body: '{"login":"a@x.io","password":"x"}' });
  assert.match(res.headers.get('content-type')!, /^application\/json/);
});

test('GET /healthz: 200 {"status":"ok"} while every store answers', async (t) => {
  const app = await setup(t);
  const res = await app.request('/healthz');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok', stores: { users: 'ok', sessions: 'ok' } });
  assert.equal(res.headers.get('set-cookie'), null);
});

test('GET /healthz: 503 with each store\'s state when a store is down', async (t) => {
  const app = await setup(t);
  await app.stores.sessions.close?.();
  const res = await app.request('/healthz');
  assert.equal(res.status, 503);
  assert.ok(res.headers.get('retry-after'));
  assert.deepEqual(await res.json(), { status: 'unavailable', stores: { sessions: 'unavailable', users: 'ok' } });
});

test('GET /static/style.css: text/css, cached for a year, linked from every page with its version', async (t) => {
  const app = await setup(t);
  const html = await (await app.client().page('/')).text();
  const href = /<link rel="stylesheet" href="([^"]+)">/.exec(html)![1]!;
  assert.match(href, /^\/static\/style\.css\?v=[\w-]{12}$/);
  const res = await app.request(href);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.match(res.headers.get('cache-control')!, /max-age=31536000/);
  assert.match(await res.text(), /\.flash-success/);
  assert.equal((await app.request('/static/other.css')).status, 404);
});

test('Logging in from /login?next=/download lands on the dashboard, which starts the download and offers it', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const login = await client.form('/login?next=%2Fdownload', { login: 'ann@example.com', password: PASSWORD, next: '/download' }, { tokenFrom: '/login?next=%2Fdownload' });
  assert.equal(login.status, 303);
  assert.equal(login.headers.get('location'), '/dashboard?download=1');
  const html = await (await client.page('/dashboard?download=1')).text();
  assert.match(html, /<meta http-equiv="refresh" content="0; url=\/download">/);
  assert.match(html, /Login successful!/);
  assert.match(html, /<a href="\/download" download>download it here<\/a>/);
  assert.match(html, /Signed in as <strong><bdi>Ann<\/bdi><\/strong>/);
  // The contract is kept: the download itself is still the file.
  const file = await client.page('/download');
  assert.equal(file.status, 200);
  assert.match(file.headers.get('content-disposition')!, /^attachment; /);
  // A plain visit of the dashboard starts nothing.
  assert.doesNotMatch(await (await client.page('/dashboard')).text(), /http-equiv="refresh"/);
});

test('As the attacker: a next that only looks like the download (another host, a longer path) is not turned into it', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  for (const [next, location] of [['//evil.example/download', '/dashboard'], ['/download-evil', '/download-evil'], ['/downloads', '/downloads']] as const) {
    const client = app.client();
    const res = await client.form('/login', { login: 'ann@example.com', password: PASSWORD, next });
    assert.equal(res.status, 303, next);
    assert.equal(res.headers.get('location'), location, next);
  }
});

test('The dashboard says who is logged in and how, the other sessions, and the security status with ways to fix it', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client({ 'user-agent': FIREFOX });
  await client.login();
  await app.client().login(); // another device
  const html = await (await client.page('/dashboard')).text();
  assert.match(html, /<dt>Logged in as<\/dt><dd><bdi>ann@example.com<\/bdi><\/dd>/);
  assert.match(html, /<dt>This login<\/dt><dd>with password, on Firefox on Linux, since \d{4}-\d\d-\d\d \d\d:\d\d UTC<\/dd>/);
  assert.match(html, /<dt>Other sessions<\/dt><dd>1 \(<a href="\/account">see where<\/a>\)<\/dd>/);
  assert.match(html, /Two-factor authentication: <strong>off<\/strong>\. <a href="\/account">Set it up/);
  assert.match(html, /Email address: <strong>not verified<\/strong>/);
});
