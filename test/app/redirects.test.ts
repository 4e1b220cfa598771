/**
 * "A `next` that leads off the app's origin in any way is replaced by `/dashboard`"
 * (the app's HTTP contract; SEC-49): every redirect vector of the security requirements §2, sent as the login form's
 * `next` field and as the login page's `?next=`, lands on `/dashboard`; safe targets are kept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSER_ACCEPT, PASSWORD, csrfOf, seedUser, setup } from './support.ts';

const HOST = '127.0.0.1:3000'; // the test app's origin, as in "app.example.com" of the vectors

const VECTORS = [
  'https://evil.com', '//evil.com', '///evil.com', '/\\evil.com', '\\\\evil.com', '\\/evil.com', '/\\/evil.com',
  '/%2F%2Fevil.com', '%2F%2Fevil.com', '%252F%252Fevil.com', '/%5Cevil.com', '/\t/evil.com', '/\n/evil.com',
  '\b//evil.com', '\u0000//evil.com', ' //evil.com', 'https:evil.com', 'http:/\\/evil.com',
  `https://${HOST}.evil.com`, `https://${HOST}@evil.com`, `//${HOST}@evil.com`, 'http://[::1', 'http:999999999',
  'javascript:alert(1)', 'JaVaScRiPt:alert(1)', '\njavascript:alert(1)', 'data:text/html,<script>', '／／evil.com',
  '/%0d%0aSet-Cookie:%20x=y', '\r\nLocation: https://evil.com', `/${'a'.repeat(8 * 1024)}`, '/login', '/login?next=/login',
  '/reauth', `http://${HOST}/dashboard/../..//evil.com`, '/.//evil.com', '/%2e%2e//evil.com',
];

function assertSafe(location: string | null, vector: string): void {
  assert.ok(location !== null, vector);
  assert.doesNotMatch(location, /[\r\n]/, JSON.stringify(vector));
  assert.equal(location, '/dashboard', JSON.stringify(vector));
}

test('Every open-redirect vector as the login form\'s next: Location /dashboard', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  for (const next of VECTORS) {
    const res = await app.client().form('/login', { login: 'ann@example.com', password: PASSWORD, next });
    assert.equal(res.status, 303, JSON.stringify(next));
    assertSafe(res.headers.get('location'), next);
  }
});

test('Every open-redirect vector as ?next= on the login page: the hidden field and the redirect stay on our origin', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  for (const next of VECTORS.filter((v) => v.length < 2000)) {
    const client = app.client();
    const page = await client.page(`/login?next=${encodeURIComponent(next)}`);
    assert.equal(page.status, 200, JSON.stringify(next));
    const html = await page.text();
    assert.match(html, /name="next" value="\/dashboard"/, JSON.stringify(next));
    const res = await client.form('/login', { _csrf: csrfOf(html), login: 'ann@example.com', password: PASSWORD, next: '' });
    assertSafe(res.headers.get('location'), next);
  }
});

test('next given twice (next=/a&next=//evil.com) or as a JSON array: no redirect off the origin', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const html = await (await client.page('/login?next=/a&next=//evil.com')).text();
  assert.match(html, /name="next" value="\/dashboard"/);
  const res = await client.fetch('/login?next=/account&next=//evil.com', {
    method: 'POST',
    headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrfOf(html), login: 'ann@example.com', password: PASSWORD }),
  });
  assertSafe(res.headers.get('location'), 'query twice');
  const array = await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD, next: ['/a', '//evil.com'] });
  assert.equal(array.status, 400);
});

test('Safe next targets are kept, path, query and fragment', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  for (const next of ['/account', '/account?tab=sessions', '/dashboard?tab=a%20b#top']) {
    const res = await app.client().form('/login', { login: 'ann@example.com', password: PASSWORD, next });
    assert.equal(res.headers.get('location'), next);
  }
});

test('A Host header naming another site changes no redirect target', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const res = await app.client().form('/login', { login: 'ann@example.com', password: PASSWORD, next: 'https://evil.example/x' }, { headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' } });
  assert.equal(res.headers.get('location'), '/dashboard');
  const login = await app.request('/dashboard', { headers: { accept: BROWSER_ACCEPT, host: 'evil.example' } });
  assert.match(login.headers.get('location')!, /^\/login\?next=/);
});
