/**
 * SEC-61 "on success rotate session (invalidate others)" and SEC-23 (a new session token on email
 * verification) in the app: a verification or an email change confirmed from the account's own
 * logged-in browser gives that browser a new session cookie and ends the account's other sessions
 * and remember-me logins; a confirmation from any other browser logs nobody in and changes no
 * session.
 *
 * @module test/app/address-sessions
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csrfOf, linkFor, PASSWORD, seedUser, setup, type Client, type TestApp } from './support.ts';

const SESSION = 'session';

/** The token of the newest link to `path` mailed to `to`. */
async function tokenFor(app: TestApp, to: string, path: string): Promise<string> {
  return (await linkFor(app, to, path)).split('/').at(-1)!;
}

/** Whether a request with exactly this session cookie is logged in. */
async function sessionWorks(app: TestApp, value: string): Promise<boolean> {
  return (await app.request('/protected', { headers: { accept: 'application/json', cookie: `${SESSION}=${value}` } })).status === 200;
}

async function loggedInAs(client: Client): Promise<string | null> {
  const { status, body } = await client.getJson('/account');
  return status === 200 ? body.user.email : null;
}

test('SEC-61, SEC-23: verifying by the form of a logged-in browser gives it a new session cookie and ends the other sessions and remember-me logins; the old cookie is dead', async (t) => {
  const app = await setup(t);
  const ann = app.client();
  await ann.register();
  const other = app.client();
  await other.login();
  const remembered = app.client();
  await remembered.login('ann@example.com', PASSWORD, true);
  const link = await linkFor(app, 'ann@example.com', '/verify-email');
  const html = await (await ann.page(link)).text();
  const before = ann.jar.get(SESSION)!;

  const verified = await ann.form('/verify-email', { token: link.split('/').at(-1)!, _csrf: csrfOf(html) });
  assert.deepEqual([verified.status, verified.headers.get('location')], [303, '/dashboard']);
  const after = ann.jar.get(SESSION);
  assert.ok(after !== undefined && after !== before, 'a new session cookie');
  assert.match(await (await ann.page('/dashboard')).text(), /Your email address is verified\./);
  assert.equal((await ann.getJson('/account')).body.user.email_verified, true);
  assert.equal(await sessionWorks(app, before), false, 'the old session token is dead');

  assert.equal((await other.getJson('/protected')).status, 401, 'the other session ended');
  assert.equal((await remembered.getJson('/protected')).status, 401, 'the remember-me login ended');
  remembered.restartBrowser();
  assert.equal((await remembered.getJson('/protected')).status, 401, 'its remember-me cookie logs nobody in again');
});

test('SEC-61, SEC-23: confirming an email change by JSON from the logged-in browser rotates its session and logs the other browser out', async (t) => {
  const app = await setup(t);
  const ann = app.client();
  await ann.register();
  const other = app.client();
  await other.login();
  assert.equal((await ann.json('/account/email', { email: 'ann.new@example.com' })).status, 202);
  const token = await tokenFor(app, 'ann.new@example.com', '/confirm-email');
  const before = ann.jar.get(SESSION)!;

  const confirmed = await ann.json('/confirm-email', { token });
  assert.equal(confirmed.status, 200);
  assert.ok(confirmed.response.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=`) && !c.startsWith(`${SESSION}=${before};`)));
  assert.equal(await loggedInAs(ann), 'ann.new@example.com');
  assert.equal(await sessionWorks(app, before), false);
  assert.equal((await other.getJson('/protected')).status, 401);
});

test('SEC-61 (attacker holding the link): a verification from a logged-out browser, or an email change confirmed from one logged in as someone else, logs nobody in and changes no session', async (t) => {
  const app = await setup(t);
  const ann = app.client();
  await ann.register();
  const annSession = ann.jar.get(SESSION)!;
  const token = await tokenFor(app, 'ann@example.com', '/verify-email');

  const stranger = app.client();
  const verified = await stranger.json('/verify-email', { token });
  assert.deepEqual([verified.status, verified.body], [200, { message: 'Your email address is verified.' }]);
  assert.ok(!verified.response.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=`)), 'no session cookie for the stranger');
  assert.equal((await stranger.getJson('/protected')).status, 401);
  assert.equal(await sessionWorks(app, annSession), true, "Ann's session goes on as it was");

  await seedUser(app, 'bob@example.com', 'Bob');
  const bob = app.client();
  await bob.login('bob@example.com');
  assert.equal((await bob.json('/account/email', { email: 'ann.other@example.com' })).status, 202);
  const change = await tokenFor(app, 'ann.other@example.com', '/confirm-email');
  const bobSession = bob.jar.get(SESSION)!;
  // Ann's browser confirms Bob's change: Bob's address changes, nobody's session does.
  assert.equal((await ann.json('/confirm-email', { token: change })).status, 200);
  assert.equal(ann.jar.get(SESSION), annSession);
  assert.equal(await loggedInAs(ann), 'ann@example.com');
  assert.equal(bob.jar.get(SESSION), bobSession);
  assert.equal(await loggedInAs(bob), 'ann.other@example.com');
});
