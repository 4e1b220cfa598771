/**
 * the app's HTTP contract, "Cookies and CSRF": cookie attributes over HTTP and HTTPS, remember-me, the
 * `_csrf` field in every form, and the attacks the checks stop (SEC-24, SEC-36, SEC-43…SEC-47).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSER_ACCEPT, ORIGIN, PASSWORD, csrfOf, seedUser, setup } from './support.ts';

function cookieLine(response: Response, name: string): string {
  const line = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  assert.ok(line, `no Set-Cookie for ${name}: ${response.headers.getSetCookie().join(' | ')}`);
  return line;
}

test('The session cookie is a browser-session cookie: HttpOnly, SameSite=Lax, Path=/, no Max-Age', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const { response } = await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD });
  const line = cookieLine(response, 'session');
  assert.match(line, /; Path=\//);
  assert.match(line, /; HttpOnly/);
  assert.match(line, /; SameSite=Lax/);
  assert.doesNotMatch(line, /Max-Age|Expires|Secure|Domain/i);
  assert.equal(response.headers.get('cache-control'), 'no-store');
});

test('Remember me is unchecked by default: no persistent cookie', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const html = await (await client.page('/login')).text();
  assert.match(html, /<input id="f-remember" name="remember" type="checkbox" value="on">/);
  const res = await client.form('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('remember_token=')));
});

test('Remember me adds a persistent cookie that restores a non-fresh login after the browser closes', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const res = await client.form('/login', { login: 'ann@example.com', password: PASSWORD, remember: 'on' });
  const line = cookieLine(res, 'remember_token');
  const maxAge = Number(/Max-Age=(\d+)/.exec(line)![1]);
  assert.ok(maxAge > 29 * 86_400 && maxAge <= 30 * 86_400, String(maxAge));
  assert.match(line, /; HttpOnly/);
  client.restartBrowser();
  const { status, body } = await client.getJson('/account');
  assert.equal(status, 200);
  assert.equal(body.fresh, false);
});

test('Over HTTPS through a trusted proxy: __Host- prefix, Secure, and HSTS', async (t) => {
  const app = await setup(t, { env: { TRUST_PROXY: 'true' } });
  await seedUser(app);
  const https = { 'x-forwarded-proto': 'https' };
  const client = app.client(https);
  const { response } = await client.json('/login', { login: 'ann@example.com', password: PASSWORD, remember: true });
  for (const name of ['__Host-session', '__Host-remember_token']) {
    const line = cookieLine(response, name);
    assert.match(line, /; Secure/);
    assert.match(line, /; Path=\//);
    assert.doesNotMatch(line, /Domain/i);
  }
  assert.match(response.headers.get('strict-transport-security')!, /^max-age=31536000/);
  assert.equal((await client.getJson('/protected')).status, 200);
});

test('Served over HTTPS directly: __Host- cookies; over plain HTTP: no HSTS; X-Forwarded-Proto ignored without TRUST_PROXY', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const body = JSON.stringify({ login: 'ann@example.com', password: PASSWORD });
  const direct = await app.request('https://127.0.0.1:3000/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.ok(direct.headers.getSetCookie().some((c) => c.startsWith('__Host-session=') && /; Secure/.test(c)));
  const spoofed = await app.request('/login', { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' }, body });
  assert.ok(spoofed.headers.getSetCookie().some((c) => c.startsWith('session=') && !/Secure/.test(c)));
  assert.equal(spoofed.headers.get('strict-transport-security'), null);
});

test('Every HTML form carries a hidden _csrf field', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const anonymous = app.client();
  const client = app.client();
  await client.login();
  const pages: [ReturnType<typeof app.client>, string][] = [
    [anonymous, '/login'], [anonymous, '/register'], [client, '/'], [client, '/dashboard'], [client, '/account'], [client, '/reauth'], [client, '/nowhere'],
  ];
  for (const [who, path] of pages) {
    const html = await (await who.page(path)).text();
    const forms = html.match(/<form [^>]*>/g) ?? [];
    assert.ok(forms.length > 0 || path === '/nowhere', path);
    for (const form of html.split('<form ').slice(1)) assert.match(form, /^[^>]*method="post"[^>]*>\s*<input type="hidden" name="_csrf" value="[\w-]{43}">/, path);
  }
});

test('A form POST without the right token gets 403 (missing, another session\'s, mutated, in the query, only as cookie)', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const victim = app.client();
  const attacker = app.client();
  const token = await victim.csrf('/login');
  const foreign = await attacker.csrf('/login');
  const post = (fields: Record<string, string>, path = '/login', extra: Record<string, string> = {}) =>
    victim.fetch(path, {
      method: 'POST',
      headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, ...extra },
      body: new URLSearchParams({ login: 'ann@example.com', password: PASSWORD, ...fields }),
    });
  const cases: [string, Response][] = [
    ['missing', await post({})],
    ['empty', await post({ _csrf: '' })],
    ['other session', await post({ _csrf: foreign })],
    ['truncated', await post({ _csrf: token.slice(0, 20) })],
    ['upper-cased', await post({ _csrf: token.toUpperCase() })],
    ['in the query', await post({}, `/login?_csrf=${token}`)],
    ['as a cookie', await post({}, '/login', { cookie: `${victim.cookie}; _csrf=${token}` })],
  ];
  for (const [name, res] of cases) {
    assert.equal(res.status, 403, name);
    const html = await res.text();
    // The page speaks to the person, not the developer: what happened, nothing changed, what to do.
    assert.match(html, /<h1>This form has expired<\/h1>/, name);
    assert.match(html, /Nothing was changed\. Reload the page and try again\./, name);
    assert.doesNotMatch(html, /CSRF|token/i, name);
  }
  assert.equal((await post({ _csrf: token })).status, 303);
});

test('A refused cross-site post answered as JSON keeps the precise reason for developers', async (t) => {
  const app = await setup(t);
  const res = await app.request('/login', {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', origin: 'https://evil.example' },
    body: JSON.stringify({ login: 'ann@example.com', password: PASSWORD }),
  });
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { message: string }).message, /^cross-site request refused/);
});

test('Login CSRF: a token minted for one visitor is refused for another (SEC-44)', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const attacker = app.client();
  const victim = app.client();
  const token = await attacker.csrf('/login');
  await victim.page('/login');
  const res = await victim.form('/login', { _csrf: token, login: 'ann@example.com', password: PASSWORD });
  assert.equal(res.status, 403);
});

test('Cross-site requests are refused even with a valid token or as JSON (SEC-45, SEC-47)', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const token = await client.csrf('/login');
  const vectors: Record<string, string>[] = [
    { origin: 'https://evil.example' },
    { origin: 'null' },
    { origin: `${ORIGIN}.evil.com` },
    { origin: ORIGIN.replace('http:', 'https:') },
    { origin: '', 'sec-fetch-site': 'cross-site' },
    { origin: '', 'sec-fetch-site': 'same-site' },
  ];
  for (const headers of vectors) {
    const form = await client.form('/login', { _csrf: token, login: 'ann@example.com', password: PASSWORD }, { headers: { 'sec-fetch-site': 'same-origin', ...headers } });
    assert.equal(form.status, 403, JSON.stringify(headers));
    const sent = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''));
    const json = await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD }, sent);
    assert.equal(json.status, 403, `JSON ${JSON.stringify(headers)}`);
    assert.ok(json.body.message);
  }
});

test('A JSON write with neither Origin nor Sec-Fetch-Site (curl, a server) is allowed without a token', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const { status } = await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.equal(status, 200);
  const same = await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD }, { origin: ORIGIN, 'sec-fetch-site': 'same-origin' });
  assert.equal(same.status, 200);
});

test('A bodiless POST (curl -X POST) is checked by origin: a cross-site one cannot log the user out', async (t) => {
  const app = await setup(t);
  const client = app.client();
  await client.register();
  const crossSite = await client.fetch('/logout', { method: 'POST', headers: { origin: 'https://evil.example' } });
  assert.equal(crossSite.status, 403);
  assert.equal((await client.getJson('/protected')).status, 200);
  const curl = await client.fetch('/logout', { method: 'POST' });
  assert.equal(curl.status, 200);
  assert.equal((await client.getJson('/protected')).status, 401);
});

test('The CSRF token changes at login (bound to the new session)', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const before = await client.csrf('/login');
  await client.form('/login', { _csrf: before, login: 'ann@example.com', password: PASSWORD });
  const after = csrfOf(await (await client.page('/')).text());
  assert.notEqual(after, before);
  const stale = await client.form('/logout', { _csrf: before });
  assert.equal(stale.status, 403);
});

test('finding 10: a login form token minted before a login is refused after that login and its logout (SEC-44, attacker)', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const preLogin = await client.csrf('/login'); // seen by whoever used this browser before
  await client.form('/login', { _csrf: preLogin, login: 'ann@example.com', password: PASSWORD });
  const loggedIn = csrfOf(await (await client.page('/')).text());
  assert.equal((await client.form('/logout', { _csrf: loggedIn })).status, 303);
  for (const stale of [preLogin, loggedIn]) {
    const res = await client.form('/login', { _csrf: stale, login: 'ann@example.com', password: PASSWORD });
    assert.equal(res.status, 403);
  }
  assert.equal((await client.form('/login', { login: 'ann@example.com', password: PASSWORD }, { tokenFrom: '/login' })).status, 303);
});
