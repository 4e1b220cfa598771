/**
 * the app's HTTP contract: GET /account, POST /account/password, POST /account/sessions/revoke-others,
 * POST /account/sessions/:id/revoke, GET and POST /reauth, and the fresh-login bullet.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAccounts } from 'latchkey';
import { BROWSER_ACCEPT, FIREFOX, PASSWORD, seedUser, setup, type TestApp } from './support.ts';

const CHROME_ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const NEW_PASSWORD = 'purple elephants dance at midnight';

/** Ann, logged in on two devices; `phone` with remember-me. */
async function twoDevices(app: TestApp) {
  await seedUser(app);
  const laptop = app.client({ 'user-agent': FIREFOX });
  const phone = app.client({ 'user-agent': CHROME_ANDROID });
  await laptop.login();
  await phone.login('ann@example.com', PASSWORD, true);
  return { laptop, phone };
}

test('GET /account anonymous: as /dashboard', async (t) => {
  const app = await setup(t);
  assert.equal((await app.client().page('/account')).headers.get('location'), '/login?next=%2Faccount');
  assert.equal((await app.client().getJson('/account')).status, 401);
});

test('GET /account: the sessions (device, last seen, this one marked), change-password form, "log out other sessions"', async (t) => {
  const app = await setup(t);
  const { laptop } = await twoDevices(app);
  const html = await (await laptop.page('/account')).text();
  assert.match(html, /Firefox on Linux<\/span>\s*<span class="badge">This session<\/span>/);
  assert.match(html, /Chrome on Android/);
  assert.match(html, /Last seen <time datetime="[\d-]+T[\d:.]+Z">\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time>/);
  assert.equal(html.match(/action="\/account\/sessions\/[\w-]{22}\/revoke"/g)?.length, 1);
  assert.match(html, /action="\/account\/sessions\/revoke-others"/);
  assert.match(html, /name="current_password" type="password" autocomplete="current-password"/);
  assert.match(html, /name="new_password" type="password" autocomplete="new-password"/);
  assert.equal(html.match(/name="_csrf"/g)?.length, html.match(/<form /g)?.length);
  const { body } = await laptop.getJson('/account');
  assert.equal(body.sessions.length, 2);
  assert.deepEqual(body.sessions.map((s: { current: boolean }) => s.current).sort(), [false, true]);
});

test('SEC-84: the session list says how each session authenticated: a password login "password", a remember-me restore "remember me"', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const laptop = app.client();
  await laptop.login();
  const phone = app.client();
  await phone.login('ann@example.com', PASSWORD, true);
  phone.restartBrowser(); // the next request is restored from the remember-me cookie: nothing proven in it
  assert.equal((await phone.getJson('/account')).status, 200);
  const sessions = (await laptop.getJson('/account')).body.sessions as Array<{ current: boolean; methods: string[]; signed_in_with: string }>;
  const described = sessions.map((s) => JSON.stringify([s.current, s.methods, s.signed_in_with])).sort();
  // The phone's first session (its cookie dropped with the browser) lives on until it times out.
  assert.deepEqual(described, ['[false,["pwd"],"password"]', '[false,[],"remember me"]', '[true,["pwd"],"password"]']);
  const html = await (await laptop.page('/account')).text();
  assert.match(html, /<span class="methods">with password<\/span>/);
  assert.match(html, /<span class="methods">with remember me<\/span>/);
});

test('GET /account JSON says whether the address is verified: false after registration, true once it is proven (SEC-61)', async (t) => {
  const app = await setup(t);
  const annId = await seedUser(app);
  const bob = await seedUser(app, 'Bob@Example.com', 'Bob');
  assert.equal(await app.stores.users.markEmailVerified(bob, 'bob@example.com'), true);
  const ann = app.client();
  await ann.login();
  const bobs = app.client();
  await bobs.login('bob@example.com');
  assert.deepEqual((await ann.getJson('/account')).body.user, { id: Number(annId), email: 'ann@example.com', name: 'Ann', username: null, email_verified: false });
  // the app's HTTP contract: the account's fields at the top level of GET /account's JSON.
  const top = (await ann.getJson('/account')).body;
  assert.deepEqual([top.id, top.email, top.name, top.username, top.email_verified, Array.isArray(top.sessions)], [Number(annId), 'ann@example.com', 'Ann', null, false, true]);
  assert.deepEqual((await bobs.getJson('/account')).body.user, { id: Number(bob), email: 'Bob@Example.com', name: 'Bob', username: null, email_verified: true });
});

test('POST /account/password anonymous: as /dashboard (login redirect before any CSRF check)', async (t) => {
  const app = await setup(t);
  const res = await app.client().form('/account/password', { _csrf: 'stale', current_password: PASSWORD, new_password: NEW_PASSWORD });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login?next=%2Faccount%2Fpassword');
  assert.equal((await app.client().json('/account/password', {})).status, 401);
});

test('POST /account/password: changes it, revokes every other session and remember-me login, keeps this one', async (t) => {
  const app = await setup(t);
  const { laptop, phone } = await twoDevices(app);
  const { status, body } = await laptop.json('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD });
  assert.equal(status, 200);
  assert.equal(body.sessions_ended, 1);
  assert.equal((await laptop.getJson('/protected')).status, 200);
  assert.equal((await phone.getJson('/protected')).status, 401);
  phone.restartBrowser();
  assert.equal((await phone.getJson('/protected')).status, 401, 'the remember-me login is revoked too');
  assert.equal((await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 401);
  assert.equal((await app.client().json('/login', { login: 'ann@example.com', password: NEW_PASSWORD })).status, 200);
});

test('POST /account/password (form): 303 to /account with a flash; errors re-render the page', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  const bad = await client.form('/account/password', { current_password: 'not my password at all', new_password: NEW_PASSWORD }, { tokenFrom: '/account' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /id="f-current_password-error">Current password is incorrect.</);
  const weak = await client.json('/account/password', { current_password: PASSWORD, new_password: 'short' });
  assert.equal(weak.status, 400);
  assert.match(weak.body.errors.new_password, /at least 15/);
  const ok = await client.form('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }, { tokenFrom: '/account' });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), '/account');
  assert.match(await (await client.page('/account')).text(), /Your password has been changed/);
});

test('A remembered (non-fresh) login on a fresh-only route: HTML redirect to /reauth?next=… with the flash; JSON 403', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login('ann@example.com', PASSWORD, true);
  client.restartBrowser();
  const token = await client.csrf('/account'); // restores a non-fresh login from the remember-me cookie
  const res = await client.form('/account/sessions/revoke-others', { _csrf: token });
  assert.equal(res.status, 303);
  // The fresh-only routes are POST-only, so the guard's next is their page (GuardOptions.next),
  // asking to confirm the action that was interrupted.
  assert.equal(res.headers.get('location'), '/reauth?next=%2Faccount%3Fconfirm%3Drevoke-others');
  assert.match(await (await client.page('/reauth?next=%2Faccount%3Fconfirm%3Drevoke-others')).text(), /Please reauthenticate to access this page./);
  const json = await client.json('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD });
  assert.equal(json.status, 403);
  assert.deepEqual(json.body, { message: 'Please reauthenticate to access this page.' });
});

test('After re-authenticating, the interrupted action is one click away: a confirmation, not a replay (SEC-35, SEC-42)', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const other = app.client();
  await other.login();
  const client = app.client();
  await client.login('ann@example.com', PASSWORD, true);
  client.restartBrowser();
  const interrupted = await client.form('/account/sessions/revoke-others', {}, { tokenFrom: '/account' });
  const reauth = interrupted.headers.get('location')!;
  const confirmed = await client.form(reauth, { password: PASSWORD, next: '/account?confirm=revoke-others' }, { tokenFrom: reauth });
  assert.equal(confirmed.status, 303);
  assert.equal(confirmed.headers.get('location'), '/account?confirm=revoke-others');
  // The GET changes nothing: the other device is still logged in.
  const html = await (await client.page('/account?confirm=revoke-others')).text();
  assert.equal((await other.getJson('/protected')).status, 200);
  // Two: the other device, and this browser's own session from before its restart, which it lost.
  assert.match(html, /<h2 id="confirm-heading">Log out your 2 other sessions\?<\/h2>/);
  assert.match(html, /<form class="inline" method="post" action="\/account\/sessions\/revoke-others"><input type="hidden" name="_csrf" value="[\w-]+"><button type="submit" class="button danger" autofocus>Log out other sessions<\/button><\/form>/);
  // One click finishes it.
  const done = await client.form('/account/sessions/revoke-others', {}, { tokenFrom: '/account?confirm=revoke-others' });
  assert.equal(done.status, 303);
  assert.equal((await other.getJson('/protected')).status, 401);
});

test('Re-authenticating for one session\'s logout comes back to that session; a forged session id comes back to the plain page', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const other = app.client({ 'user-agent': FIREFOX });
  await other.login();
  const client = app.client();
  await client.login('ann@example.com', PASSWORD, true);
  client.restartBrowser();
  const id = (await client.getJson('/account')).body.sessions.find((s: { current: boolean; device: string }) => s.device === 'Firefox on Linux').id as string;
  const res = await client.form(`/account/sessions/${id}/revoke`, {}, { tokenFrom: '/account' });
  assert.equal(res.headers.get('location'), `/reauth?next=${encodeURIComponent(`/account?confirm=revoke-session&session=${id}`)}`);
  await client.form('/reauth', { password: PASSWORD, next: `/account?confirm=revoke-session&session=${id}` }, { tokenFrom: '/reauth' });
  const html = await (await client.page(`/account?confirm=revoke-session&session=${id}`)).text();
  assert.match(html, /Log out Firefox on Linux\?/);
  assert.match(html, new RegExp(`action="/account/sessions/${id}/revoke"><input type="hidden" name="_csrf"`));
  // As the attacker: a session id that is not one of the user's own shows no button.
  const forged = await (await client.page('/account?confirm=revoke-session&session=AAAAAAAAAAAAAAAAAAAAAA')).text();
  assert.match(forged, /That session has already ended\./);
  assert.doesNotMatch(forged, /AAAAAAAAAAAAAAAAAAAAAA/);
  client.restartBrowser();
  const bad = await client.form('/account/sessions/..%2F..%2Flogout/revoke', {}, { tokenFrom: '/account' });
  assert.equal(bad.headers.get('location'), '/reauth?next=%2Faccount');
});

test('A login older than the fresh window (10 min) must reauthenticate too', async (t) => {
  let offset = 0;
  const app = await setup(t, { now: () => Date.now() + offset });
  await seedUser(app);
  const client = app.client();
  await client.login();
  offset = 11 * 60_000;
  assert.equal((await client.json('/account/sessions/revoke-others', {})).status, 403);
});

test('POST /reauth: checks the password, makes the login fresh under a new token, 303 to next', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login('ann@example.com', PASSWORD, true);
  client.restartBrowser();
  const page = await client.page('/reauth?next=%2Faccount');
  assert.equal(page.status, 200);
  const before = client.jar.get('session');
  const wrong = await client.form('/reauth', { password: 'not the password at all', next: '/account' }, { tokenFrom: '/reauth' });
  assert.equal(wrong.status, 401);
  const res = await client.form('/reauth', { password: PASSWORD, next: '/account' }, { tokenFrom: '/reauth' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account');
  assert.notEqual(client.jar.get('session'), before);
  assert.equal((await client.json('/account/sessions/revoke-others', {})).status, 200);
});

test('POST /reauth (JSON) and the next target', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  assert.deepEqual((await client.json('/reauth', { password: PASSWORD })).body, { message: 'Password confirmed.' });
  const res = await client.form('/reauth', { password: PASSWORD, next: '//evil.example/x' }, { tokenFrom: '/reauth' });
  assert.equal(res.headers.get('location'), '/dashboard');
  const res2 = await client.form('/reauth', { password: PASSWORD, next: '/download?x=1' }, { tokenFrom: '/reauth' });
  assert.equal(res2.headers.get('location'), '/download?x=1');
});

test('GET and POST /reauth anonymous: redirect to login', async (t) => {
  const app = await setup(t);
  const get = await app.client().page('/reauth');
  assert.equal(get.status, 302);
  assert.match(get.headers.get('location')!, /^\/login\?next=%2Freauth/);
  const post = await app.client().form('/reauth', { _csrf: 'x', password: PASSWORD });
  assert.equal(post.status, 303);
  assert.match(post.headers.get('location')!, /^\/login\?next=/);
});

test('POST /account/sessions/revoke-others: ends all the user\'s other sessions', async (t) => {
  const app = await setup(t);
  const { laptop, phone } = await twoDevices(app);
  const res = await laptop.form('/account/sessions/revoke-others', {}, { tokenFrom: '/account' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account');
  assert.equal((await phone.getJson('/protected')).status, 401);
  assert.equal((await laptop.getJson('/protected')).status, 200);
  assert.equal((await laptop.getJson('/account')).body.sessions.length, 1);
});

test('POST /account/sessions/:id/revoke: ends that session of the user\'s', async (t) => {
  const app = await setup(t);
  const { laptop, phone } = await twoDevices(app);
  const other = (await laptop.getJson('/account')).body.sessions.find((s: { current: boolean }) => !s.current);
  const { status, body } = await laptop.json(`/account/sessions/${other.id}/revoke`, {});
  assert.equal(status, 200);
  assert.equal(body.message, 'Session ended.');
  assert.equal((await phone.getJson('/protected')).status, 401);
  assert.equal((await laptop.json(`/account/sessions/${other.id}/revoke`, {})).status, 404, 'already gone');
});

test('POST /account/sessions/:id/revoke: another user\'s, an unknown or a malformed id is 404', async (t) => {
  const app = await setup(t);
  await seedUser(app, 'ann@example.com');
  await seedUser(app, 'bob@example.com', 'Bob');
  const ann = app.client();
  const bob = app.client();
  await ann.login('ann@example.com');
  await bob.login('bob@example.com');
  const bobs = (await bob.getJson('/account')).body.sessions[0].id;
  for (const id of [bobs, 'A'.repeat(22), 'short', '..%2F..%2Fetc', `${'x'.repeat(300)}`]) {
    const { status, body } = await ann.json(`/account/sessions/${id}/revoke`, {});
    assert.equal(status, 404, id);
    assert.deepEqual(body, { message: 'No such session.' });
  }
  assert.equal((await bob.getJson('/protected')).status, 200);
  const html = await ann.form(`/account/sessions/${bobs}/revoke`, {}, { tokenFrom: '/account' });
  assert.equal(html.status, 404);
  assert.match(html.headers.get('content-type')!, /^text\/html/);
});

test('Revoking the current session by id is a logout', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  const mine = (await client.getJson('/account')).body.sessions[0].id;
  const res = await client.form(`/account/sessions/${mine}/revoke`, {}, { tokenFrom: '/account' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
  assert.equal((await client.getJson('/protected')).status, 401);
});

test('Account actions are POST only: GET is 405', async (t) => {
  const app = await setup(t);
  for (const path of ['/account/password', '/account/sessions/revoke-others', '/account/sessions/abc/revoke']) {
    const res = await app.request(path, { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(res.status, 405, path);
    assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
  }
});

test('finding 13: an account with only a username (made by the CLI or an import) logs in, sees its account without an email, reauthenticates and changes its password', async (t) => {
  const app = await setup(t);
  // The app's own registration asks for an address; the CLI's accounts, like these, do not.
  const cli = createAccounts({ users: app.stores.users, throttle: false });
  const created = await cli.register({ username: 'Test_User', name: 'Test', password: PASSWORD });
  assert.ok(created.ok && 'user' in created);
  const client = app.client();
  await client.login('test_user', PASSWORD, true);
  const account = await client.getJson('/account');
  assert.equal(account.status, 200);
  assert.deepEqual(account.body.user, { id: Number(created.user.id), email: null, name: 'Test', username: 'Test_User', email_verified: false });
  const html = await (await client.page('/account')).text();
  assert.doesNotMatch(html, /<dt>Email<\/dt>/);
  assert.match(html, /<dt>Username<\/dt><dd><bdi>Test_User<\/bdi><\/dd>/);
  // A username field password managers see: a shown, read-only text input (a hidden one is not one to them).
  assert.match(html, /<input id="f-username" name="username" type="text" autocomplete="username" value="Test_User"[^>]* readonly[^>]*>/);

  client.restartBrowser(); // a remembered login is not fresh: /reauth asks for the password
  const reauth = await client.page('/reauth?next=%2Faccount');
  assert.match(await reauth.text(), /<input id="f-username" name="username" type="text" autocomplete="username" value="Test_User"[^>]* readonly[^>]*>/);
  const confirmed = await client.form('/reauth', { password: PASSWORD, next: '/account' }, { tokenFrom: '/reauth' });
  assert.equal(confirmed.status, 303);
  const changed = await client.json('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  await app.client().login('TEST_USER', NEW_PASSWORD);
});
