/**
 * The app's recovery, verification and email-change routes (the app's HTTP contract, "Account recovery,
 * verification, email change"), mails read from the development outbox.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { BROWSER_ACCEPT, csrfOf, linkFor, ORIGIN, PASSWORD, seedUser, setup, type Client, type TestApp } from './support.ts';

const NEW_PASSWORD = 'a brand new passphrase for ann';
const INVALID = 'This link is invalid or has expired.';

function app(t: TestContext, env: Record<string, string> = {}): Promise<TestApp> {
  return setup(t, { env });
}

async function resetLink(a: TestApp, client: Client, email = 'ann@example.com'): Promise<string> {
  assert.equal((await client.form('/forgot-password', { email }, { tokenFrom: '/forgot-password' })).status, 303);
  return linkFor(a, email, '/reset-password');
}

test('SEC-16: /forgot-password answers the same for a registered and an unknown address (JSON 202; HTML 303 to /login with the flash)', async (t) => {
  const a = await app(t);
  await seedUser(a);
  const client = a.client();
  const known = await client.json('/forgot-password', { email: 'ann@example.com' });
  const unknown = await client.json('/forgot-password', { email: 'nobody@example.com' });
  assert.deepEqual([known.status, known.body], [202, { message: 'If that address is registered, we have sent a link to reset the password.' }]);
  assert.deepEqual([unknown.status, unknown.body], [known.status, known.body]);
  const browser = a.client();
  const html = await browser.form('/forgot-password', { email: 'nobody@example.com' }, { tokenFrom: '/forgot-password' });
  assert.deepEqual([html.status, html.headers.get('location')], [303, '/login']);
  assert.match(await (await browser.page('/login')).text(), /If that address is registered, we have sent a link to reset the password\./);
});

test('SEC-59: the reset link is exchanged for an HttpOnly SameSite=Lax lk-reset cookie (10 min, Path=/reset-password) and a 303 to a token-free /reset-password (Referrer-Policy: no-referrer; the form page strict-origin, so its POST keeps its Origin, SEC-45); the request log has no token', async (t) => {
  const a = await app(t);
  await seedUser(a);
  const browser = a.client();
  const link = await resetLink(a, browser);
  const token = link.split('/').at(-1)!;
  const opened = await browser.page(link);
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get('location'), '/reset-password');
  assert.equal(opened.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(opened.headers.get('cache-control'), 'no-store');
  const cookie = opened.headers.getSetCookie().find((c) => c.startsWith('lk-reset='))!;
  assert.match(cookie, new RegExp(`^lk-reset=${token}; Max-Age=600; Expires=[^;]+; Path=/reset-password; HttpOnly; SameSite=Lax$`));

  const form = await browser.page('/reset-password');
  assert.equal(form.status, 200);
  assert.equal(form.headers.get('referrer-policy'), 'strict-origin');
  const html = await form.text();
  assert.ok(!html.includes(token));
  assert.match(html, /name="_csrf"/);

  const requestPaths = a.logs.filter((l) => l.event === 'http_request').map((l) => l.path);
  assert.ok(requestPaths.includes('/reset-password/:token'));
  // Every line but the dev outbox's own delivery (a mail printed on purpose, no mail server; never in production).
  for (const line of a.lines.filter((l) => !l.includes('"event":"mail_outbox"'))) assert.ok(!line.includes(token), line);
});

test('SEC-59: over HTTPS the reset cookie is __Host-lk-reset, Secure, Path=/ (the prefix requires it)', async (t) => {
  const a = await app(t, { TRUST_PROXY: 'true' });
  await seedUser(a);
  const link = await resetLink(a, a.client());
  const opened = await a.request(link, { headers: { accept: BROWSER_ACCEPT, 'x-forwarded-proto': 'https' } });
  assert.equal(opened.status, 303);
  const cookie = opened.headers.getSetCookie().find((c) => c.startsWith('__Host-lk-reset='))!;
  assert.match(cookie, /; Max-Age=600; Expires=[^;]+; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
});

test('SEC-60, SEC-52: a reset sets the password, ends the old sessions, logs nobody in, clears the cookie; the link then is invalid (SEC-57)', async (t) => {
  const a = await app(t);
  await seedUser(a);
  const old = a.client();
  await old.login();
  const browser = a.client();
  const link = await resetLink(a, browser);
  await browser.page(link);
  const done = await browser.form('/reset-password', { password: NEW_PASSWORD }, { tokenFrom: '/reset-password' });
  assert.deepEqual([done.status, done.headers.get('location')], [303, '/login']);
  assert.ok(done.headers.getSetCookie().some((c) => /^lk-reset=; Max-Age=0/.test(c)));
  assert.match(await (await browser.page('/login')).text(), /Your password has been reset\. Please log in\./);
  assert.equal((await browser.getJson('/protected')).status, 401);
  assert.equal((await old.getJson('/protected')).status, 401);
  assert.equal((await a.client().json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 401);
  assert.equal((await a.client().json('/login', { login: 'ann@example.com', password: NEW_PASSWORD })).status, 200);

  const again = await browser.page(link);
  assert.equal(again.status, 400);
  assert.equal(again.headers.get('referrer-policy'), 'strict-origin');
  const page = await again.text();
  assert.ok(page.includes(INVALID));
  assert.ok(page.includes('href="/forgot-password"'));
});

test('SEC-42 (attacker: a mail scanner follows the link): GETs of a reset link consume nothing; the token works once via JSON POST, then 400', async (t) => {
  const a = await app(t);
  await seedUser(a);
  const link = await resetLink(a, a.client());
  const token = link.split('/').at(-1)!;
  for (let i = 0; i < 2; i++) assert.equal((await a.request(link, { headers: { accept: BROWSER_ACCEPT } })).status, 303);
  const api = a.client();
  const weak = await api.json('/reset-password', { token, password: 'short' });
  assert.equal(weak.status, 400); // SEC-60: the policy is checked before the token is consumed
  assert.ok(weak.body.errors.password);
  assert.deepEqual(await api.json('/reset-password', { token, password: NEW_PASSWORD }).then((r) => [r.status, r.body]), [200, { message: 'Your password has been reset. Please log in.' }]);
  assert.deepEqual(await api.json('/reset-password', { token, password: NEW_PASSWORD }).then((r) => [r.status, r.body]), [400, { message: INVALID }]);
});

test('An invalid or made-up reset link is a 400 with a way to ask again; a reset POST without any token is the same 400', async (t) => {
  const a = await app(t);
  const forged = await a.request(`/reset-password/${'A'.repeat(43)}`, { headers: { accept: BROWSER_ACCEPT } });
  assert.equal(forged.status, 400);
  assert.ok((await forged.text()).includes('href="/forgot-password"'));
  assert.equal((await a.request('/reset-password/short', { headers: { accept: 'application/json' } })).status, 400);
  assert.equal((await a.request('/reset-password', { headers: { accept: BROWSER_ACCEPT } })).status, 400);
  assert.deepEqual(await a.client().json('/reset-password', { password: NEW_PASSWORD }).then((r) => [r.status, r.body]), [400, { message: INVALID }]);
});

test('SEC-42, SEC-61: GET of a verification link shows one button that POSTs the token and consumes nothing; the POST verifies once; the account page says so', async (t) => {
  const a = await app(t);
  const browser = a.client();
  await browser.register();
  const link = await linkFor(a, 'ann@example.com', '/verify-email');
  const token = link.split('/').at(-1)!;
  let html = '';
  for (let i = 0; i < 2; i++) {
    const shown = await browser.page(link);
    assert.equal(shown.status, 200);
    assert.equal(shown.headers.get('referrer-policy'), 'strict-origin');
    html = await shown.text();
  }
  assert.equal(html.match(/<form /g)?.length, 2); // the button's form, and the nav's logout
  assert.match(html, /<form method="post" action="\/verify-email">/);
  assert.match(html, new RegExp(`name="token" value="${token}"`));
  assert.match(await (await browser.page('/account')).text(), /Not verified/);

  const verified = await browser.form('/verify-email', { token, _csrf: csrfOf(html) });
  assert.deepEqual([verified.status, verified.headers.get('location')], [303, '/dashboard']);
  assert.match(await (await browser.page('/dashboard')).text(), /Your email address is verified\./);
  assert.equal((await browser.getJson('/account')).body.user.email_verified, true);
  assert.deepEqual(await browser.json('/verify-email', { token }).then((r) => [r.status, r.body]), [400, { message: INVALID }]);
});

test('POST /verify-email/resend: logged in and unverified, 202 and a new mail; anonymous, sent to log in; verified already, 409', async (t) => {
  const a = await app(t);
  const user = a.client();
  await user.register();
  await a.mailSent();
  const resent = await user.json('/verify-email/resend', {});
  assert.equal(resent.status, 202);
  assert.equal((await a.client().json('/verify-email/resend', {})).status, 401);
  const token = (await linkFor(a, 'ann@example.com', '/verify-email')).split('/').at(-1)!;
  assert.equal((await user.json('/verify-email', { token })).status, 200);
  assert.equal((await user.json('/verify-email/resend', {})).status, 409);
  assert.equal((await user.fetch('/verify-email/resend')).status, 405);
});

test('SEC-15, SEC-62: with EMAIL_VERIFICATION=required, registering answers the same for a new and a taken address and logs nobody in; an unverified login is 403 after a correct password only, 401 after a wrong one', async (t) => {
  const a = await app(t, { EMAIL_VERIFICATION: 'required' });
  const first = a.client();
  const created = await first.json('/register', { email: 'ann@example.com', name: 'Ann', password: PASSWORD });
  const taken = await a.client().json('/register', { email: 'ann@example.com', name: 'Eve', password: PASSWORD });
  assert.deepEqual([created.status, created.body], [202, { message: 'Check your inbox to finish registering.' }]);
  assert.deepEqual([taken.status, taken.body], [created.status, created.body]);
  assert.equal((await first.getJson('/protected')).status, 401);
  const browser = a.client();
  const html = await browser.form('/register', { email: 'bob@example.com', name: 'Bob', password: PASSWORD }, { tokenFrom: '/register' });
  assert.deepEqual([html.status, html.headers.get('location')], [303, '/login']);

  const unverified = await a.client().json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.deepEqual([unverified.status, unverified.body], [403, { message: 'Please verify your email address first.' }]);
  assert.equal((await a.client().json('/login', { login: 'ann@example.com', password: 'wrong password, wrong' })).status, 401);

  const token = (await linkFor(a, 'ann@example.com', '/verify-email')).split('/').at(-1)!;
  assert.equal((await a.client().json('/verify-email', { token })).status, 200);
  assert.equal((await a.client().json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 200);
});

test('SEC-63, SEC-71: changing the address needs a fresh login, mails a link to the new address and a notice to the old; it changes only once confirmed by POST', async (t) => {
  const a = await app(t);
  const user = a.client();
  await user.register();
  const requested = await user.json('/account/email', { email: 'ann.new@example.com' });
  assert.deepEqual([requested.status, requested.body], [202, { message: 'Check your new address for a confirmation link.' }]);
  await a.mailSent();
  const outbox = (await user.getJson('/dev/outbox')).body.messages;
  assert.ok(outbox.some((m: { to: string; links: string[] }) => m.to === 'ann@example.com' && m.links.length === 0), 'notice to the old address');
  const link = await linkFor(a, 'ann.new@example.com', '/confirm-email');
  const shown = await user.page(link);
  assert.equal(shown.headers.get('referrer-policy'), 'strict-origin');
  assert.match(await shown.text(), /action="\/confirm-email"/);
  assert.equal((await user.getJson('/account')).body.user.email, 'ann@example.com');
  const confirmed = await user.json('/confirm-email', { token: link.split('/').at(-1) });
  assert.deepEqual([confirmed.status, confirmed.body], [200, { message: 'Your email address has been changed.' }]);
  assert.equal((await user.getJson('/account')).body.user.email, 'ann.new@example.com');

  // A login restored from remember-me is not fresh (SEC-35): 403, nothing mailed.
  const remembered = a.client();
  await remembered.login('ann.new@example.com', PASSWORD, true); // the address is the new one now
  remembered.restartBrowser();
  assert.deepEqual(await remembered.json('/account/email', { email: 'eve@example.com' }).then((r) => r.status), 403);
});

test('Every form of the recovery pages carries _csrf (SEC-43), and the login page links to "Forgot your password?"', async (t) => {
  const a = await app(t);
  const browser = a.client();
  const login = await (await browser.page('/login')).text();
  assert.match(login, /<a href="\/forgot-password">Forgot your password\?<\/a>/);
  const forgot = await (await browser.page('/forgot-password')).text();
  assert.match(forgot, /<form method="post" action="\/forgot-password">\s*<input type="hidden" name="_csrf"/);
  const noToken = await browser.fetch('/forgot-password', {
    method: 'POST',
    headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
    body: 'email=ann%40example.com',
  });
  assert.equal(noToken.status, 403);
});
