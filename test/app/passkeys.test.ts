/**
 * the app's HTTP contract, "Second factors" (passkeys), over HTTP with a software authenticator that
 * answers as a browser does (test/support/authenticator.ts): adding a passkey, the account's list,
 * a passwordless login and the second step after a password (recorded as `hwk`, SEC-84), the
 * ceremonies' checks as the attacker sees them (wrong origin, wrong RP ID, a reused challenge, a
 * regressed counter: SEC-82, SEC-83), removal with a fresh login and a notice (SEC-84), another
 * user's passkey, bad input (SEC-76), CSRF (SEC-45, SEC-46), the step-up of /reauth with a second
 * factor (SEC-84), the throttles (SEC-53, SEC-79) and the security log (SEC-68). On SQLite; the core
 * flows again on PostgreSQL and on Redis in test/app/passkeys-stores.test.ts.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createPasskeys } from 'latchkey/passkeys';
import { createTestClock, MemoryStore } from 'latchkey/testing';
import { SoftwareAuthenticator, type Tamper } from '../support/authenticator.ts';
import { CSP, ORIGIN, PASSWORD, seedUser, setup, type Client, type TestApp } from './support.ts';

/** What the browser on the app's pages signs: the app's origin, its host as RP ID. */
const authenticatorFor = () => new SoftwareAuthenticator({ origin: ORIGIN });

/** Adds a passkey through the account routes (options, then the credential). */
async function addPasskey(client: Client, authenticator: SoftwareAuthenticator, name = 'Laptop', tamper: Tamper = {}) {
  const options = await client.json('/account/passkeys/options', {});
  assert.equal(options.status, 200, JSON.stringify(options.body));
  return client.json('/account/passkeys', { credential: authenticator.startRegistration(options.body, tamper), name });
}

/** A passwordless login attempt on `client`. */
async function passwordless(client: Client, authenticator: SoftwareAuthenticator, tamper: Tamper = {}, extra: Record<string, unknown> = {}) {
  const options = await client.json('/login/passkey/options', {});
  assert.equal(options.status, 200, JSON.stringify(options.body));
  return client.json('/login/passkey', { credential: authenticator.startAuthentication(options.body, tamper), ...extra });
}

/** The passkey second step on `client`, after its password. */
async function passkeyStep(client: Client, authenticator: SoftwareAuthenticator, tamper: Tamper = {}) {
  const options = await client.json('/login/two-factor/passkey/options', {});
  assert.equal(options.status, 200, JSON.stringify(options.body));
  return client.json('/login/two-factor/passkey', { credential: authenticator.startAuthentication(options.body, tamper) });
}

/** Ann, logged in (fresh) with one passkey named Laptop; her client, authenticator and passkey id. */
async function annWithPasskey(app: TestApp) {
  const userId = await seedUser(app);
  const client = app.client();
  await client.login();
  const authenticator = authenticatorFor();
  const added = await addPasskey(client, authenticator);
  assert.equal(added.status, 201, JSON.stringify(added.body));
  return { userId, client, authenticator, id: added.body.id as string };
}

/** The methods recorded for the client's current session (SEC-84). */
async function methodsOf(client: Client): Promise<string[]> {
  const { status, body } = await client.getJson('/account');
  assert.equal(status, 200);
  return body.sessions.find((s: { current: boolean }) => s.current).methods;
}

/** The subjects of the mails to `to` so far. */
async function subjectsTo(app: TestApp, to: string): Promise<string[]> {
  await app.mailSent();
  const { body } = await app.client().getJson('/dev/outbox');
  return body.messages.filter((m: { to: string }) => m.to === to).map((m: { subject: string }) => m.subject);
}

const events = (app: TestApp, name: string) => app.logs.filter((line) => line.event === name);

test('SEC-82, SEC-84: a logged-in user adds a passkey (201 {id, name}); the account JSON lists it; the owner is mailed; the log says passkey_added', async (t) => {
  const app = await setup(t);
  const { client, id } = await annWithPasskey(app);
  assert.match(id, /^[A-Za-z0-9_-]{22}$/);
  const account = (await client.getJson('/account')).body;
  assert.equal(account.passkeys.length, 1);
  assert.deepEqual(Object.keys(account.passkeys[0]).slice(0, 3), ['id', 'name', 'created_at']);
  assert.deepEqual([account.passkeys[0].id, account.passkeys[0].name, account.passkeys[0].last_used_at], [id, 'Laptop', null]);
  assert.ok(!Number.isNaN(Date.parse(account.passkeys[0].created_at)));
  assert.equal(account.totp_enabled, false, 'a passkey is not TOTP');
  assert.ok((await subjectsTo(app, 'ann@example.com')).includes('A passkey was added to your Latchkey account'));
  assert.equal(events(app, 'passkey_added').length, 1);
  assert.equal(events(app, 'passkey_added')[0]!.credential_id, id);
});

test('SEC-82, SEC-84: a passwordless login with the passkey alone is a fresh login recording hwk, answered as a login is', async (t) => {
  const app = await setup(t);
  const { authenticator, userId, id } = await annWithPasskey(app);
  const browser = app.client();
  const login = await passwordless(browser, authenticator, {}, { next: '/account' });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  assert.deepEqual(login.body, { message: 'Login successful!', user_id: Number(userId), next: '/account' });
  const account = (await browser.getJson('/account')).body;
  assert.equal(account.fresh, true);
  assert.deepEqual(await methodsOf(browser), ['hwk']);
  assert.equal(account.sessions.find((s: { current: boolean }) => s.current).signed_in_with, 'passkey');
  assert.ok(account.passkeys[0].last_used_at !== null, 'the list shows its last use');
  assert.equal(events(app, 'passkey_used').at(-1)!.credential_id, id);
  assert.equal(events(app, 'passkey_used').at(-1)!.user_verified, true);
});

test('SEC-80, SEC-84: a right password for a passkey-only account is a pending step (methods ["passkey"]), refused by the guards; the passkey completes it as pwd + hwk', async (t) => {
  const app = await setup(t);
  const { authenticator } = await annWithPasskey(app);
  const browser = app.client();
  const password = await browser.json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.deepEqual([password.status, password.body], [200, { message: 'Two-factor code required.', mfa_required: true, methods: ['passkey'] }]);
  // SEC-80: pending is not a login.
  assert.equal((await browser.getJson('/account')).status, 401);
  assert.equal((await browser.json('/account/passkeys/options', {})).status, 401);
  assert.equal((await browser.json('/account/passkeys', { credential: {}, name: 'x' })).status, 401);
  assert.equal((await browser.json('/reauth/passkey/options', {})).status, 401);
  // The two-factor page offers the passkey, not a code field.
  const html = await (await browser.page('/login/two-factor')).text();
  assert.match(html, /<button type="button"[^>]*data-passkey="authenticate"[^>]*>Use a passkey<\/button>/);
  assert.doesNotMatch(html, /name="code"/);
  assert.match(html, /<script src="\/static\/webauthn\.js\?v=[\w-]{12}" defer><\/script>/);
  const done = await passkeyStep(browser, authenticator);
  assert.deepEqual([done.status, done.body.message, done.body.next], [200, 'Login successful!', '/dashboard']);
  assert.deepEqual(await methodsOf(browser), ['pwd', 'hwk']);
  assert.equal((await browser.getJson('/account')).body.fresh, true);
});

test('SEC-80: the passkey step without a pending step is refused; another account\'s passkey does not complete Ann\'s step', async (t) => {
  const app = await setup(t);
  const { authenticator } = await annWithPasskey(app);
  const stranger = app.client();
  assert.equal((await stranger.json('/login/two-factor/passkey/options', {})).status, 401);
  assert.equal((await stranger.json('/login/two-factor/passkey', { credential: {} })).status, 401);
  // Bob, with a passkey of his own, knows Ann's password but not her authenticator.
  await seedUser(app, 'bob@example.com', 'Bob');
  const bob = app.client();
  await bob.login('bob@example.com');
  const bobs = authenticatorFor();
  assert.equal((await addPasskey(bob, bobs, 'Bob key')).status, 201);
  const attacker = app.client();
  await attacker.json('/login', { login: 'ann@example.com', password: PASSWORD });
  const options = await attacker.json('/login/two-factor/passkey/options', {});
  // Bob's authenticator answers Ann's challenge with Bob's credential.
  const forged = bobs.startAuthentication({ ...options.body, allowCredentials: [] });
  const refused = await attacker.json('/login/two-factor/passkey', { credential: forged });
  assert.deepEqual([refused.status, refused.body.message], [401, 'The passkey was not accepted.']);
  assert.equal((await attacker.getJson('/account')).status, 401);
  assert.ok(authenticator.credentialIds().length === 1);
});

test('SEC-82, as the attacker: a wrong origin, a wrong RP ID, a reused challenge and a challenge of another ceremony are refused with 4xx and log nobody in', async (t) => {
  const app = await setup(t);
  const { authenticator } = await annWithPasskey(app);
  const phished = app.client();
  for (const tamper of [{ origin: 'http://127.0.0.1:3001' }, { origin: 'https://evil.example' }, { rpId: 'evil.example' }, { rpId: 'localhost' }] as Tamper[]) {
    const refused = await passwordless(phished, authenticator, tamper);
    assert.deepEqual([refused.status, refused.body.message], [401, 'The passkey was not accepted.'], JSON.stringify(tamper));
  }
  // A reused challenge: the same signed answer twice (a replay), then a new signature on a used challenge.
  const options = await phished.json('/login/passkey/options', {});
  const answer = authenticator.startAuthentication(options.body);
  assert.equal((await phished.json('/login/passkey', { credential: answer })).status, 200);
  const other = app.client();
  assert.equal((await other.json('/login/passkey', { credential: answer })).status, 401, 'a replayed assertion');
  assert.equal((await other.json('/login/passkey', { credential: authenticator.startAuthentication(options.body) })).status, 401, 'a used challenge');
  // A challenge of the step is no passwordless challenge.
  const stepper = app.client();
  await stepper.json('/login', { login: 'ann@example.com', password: PASSWORD });
  const stepOptions = await stepper.json('/login/two-factor/passkey/options', {});
  assert.equal((await other.json('/login/passkey', { credential: authenticator.startAuthentication(stepOptions.body) })).status, 401);
  assert.equal((await other.getJson('/account')).status, 401);
  const reasons = events(app, 'passkey_rejected').map((line) => line.reason);
  assert.deepEqual(reasons, ['invalid', 'invalid', 'invalid', 'invalid', 'challenge', 'challenge', 'challenge']);
});

test('SEC-82, as the attacker: a registration signed for another origin or RP ID, or answering a used challenge, is refused (400) and stores nothing', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  const authenticator = authenticatorFor();
  for (const tamper of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { userVerified: false }] as Tamper[]) {
    const refused = await addPasskey(client, authenticator, 'x', tamper);
    assert.deepEqual([refused.status, refused.body.message], [400, 'The passkey could not be verified.'], JSON.stringify(tamper));
  }
  const options = await client.json('/account/passkeys/options', {});
  assert.equal((await client.json('/account/passkeys', { credential: authenticator.startRegistration(options.body), name: 'A' })).status, 201);
  const again = await client.json('/account/passkeys', { credential: authenticator.startRegistration(options.body), name: 'B' });
  assert.deepEqual([again.status, again.body.message], [400, 'The passkey request expired or was used. Try again.']);
  assert.equal((await client.getJson('/account')).body.passkeys.length, 1);
});

test('SEC-83, as the attacker: a clone whose counter went back is refused (401), and the log reports a possible clone', async (t) => {
  const app = await setup(t);
  const { authenticator, userId, id } = await annWithPasskey(app);
  const clone = authenticator.clone(); // the keys as extracted now, counter 0
  assert.equal((await passwordless(app.client(), authenticator)).status, 200);
  assert.equal((await passwordless(app.client(), authenticator)).status, 200);
  const cloned = app.client();
  const refused = await passwordless(cloned, clone);
  assert.deepEqual([refused.status, refused.body.message], [401, 'The passkey was not accepted.']);
  assert.equal((await cloned.getJson('/account')).status, 401);
  const alert = events(app, 'passkey_counter_regressed');
  assert.equal(alert.length, 1);
  assert.deepEqual([alert[0]!.level, alert[0]!.user_id, alert[0]!.credential_id], ['error', userId, id]);
});

test('SEC-84: removing a passkey needs a fresh login (403 when remembered), mails the owner, and the passkey logs in no more', async (t) => {
  const app = await setup(t);
  const { authenticator, id } = await annWithPasskey(app);
  const remembered = app.client();
  await remembered.json('/login', { login: 'ann@example.com', password: PASSWORD, remember: true });
  await passkeyStep(remembered, authenticator);
  remembered.restartBrowser();
  const stale = await remembered.json(`/account/passkeys/${id}/delete`, {});
  assert.deepEqual([stale.status, stale.body.message], [403, 'Please reauthenticate to access this page.']);
  // Adding needs one too: a stolen session cannot plant a passkey of its own.
  assert.equal((await remembered.json('/account/passkeys/options', {})).status, 403);
  assert.equal((await remembered.getJson('/account')).body.passkeys.length, 1);

  const fresh = app.client();
  await fresh.json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.equal((await passkeyStep(fresh, authenticator)).status, 200);
  const removed = await fresh.json(`/account/passkeys/${id}/delete`, {});
  assert.deepEqual([removed.status, removed.body], [200, { message: 'Passkey removed.' }]);
  assert.deepEqual((await fresh.getJson('/account')).body.passkeys, []);
  assert.ok((await subjectsTo(app, 'ann@example.com')).includes('A passkey was removed from your Latchkey account'));
  assert.equal(events(app, 'passkey_removed').length, 1);
  assert.equal((await passwordless(app.client(), authenticator)).status, 401);
  // Without a second factor, the password alone logs in again.
  const after = await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.equal(after.body.message, 'Login successful!');
});

test('As the attacker: another user\'s passkey id cannot be renamed or removed (404), and stays as it was', async (t) => {
  const app = await setup(t);
  const { client: ann, id } = await annWithPasskey(app);
  await seedUser(app, 'bob@example.com', 'Bob');
  const bob = app.client();
  await bob.login('bob@example.com');
  assert.deepEqual(await bob.json(`/account/passkeys/${id}/rename`, { name: 'Mine now' }).then((r) => [r.status, r.body.message]), [404, 'No such passkey.']);
  assert.equal((await bob.json(`/account/passkeys/${id}/delete`, {})).status, 404);
  for (const path of ['/account/passkeys/%00/delete', `/account/passkeys/${'A'.repeat(1367)}/delete`, '/account/passkeys/a+b/rename']) {
    assert.equal((await bob.json(path, path.endsWith('rename') ? { name: 'x' } : {})).status, 404, path);
  }
  assert.deepEqual((await ann.getJson('/account')).body.passkeys.map((p: { id: string; name: string }) => [p.id, p.name]), [[id, 'Laptop']]);
});

test('A passkey is renamed by a plain form (no script), 303 to the account page; an empty or 101-character name is 400', async (t) => {
  const app = await setup(t);
  const { client, id } = await annWithPasskey(app);
  const html = await (await client.page('/account')).text();
  assert.match(html, new RegExp(`action="/account/passkeys/${id}/rename"`));
  assert.match(html, new RegExp(`action="/account/passkeys/${id}/delete"`));
  assert.match(html, /<button type="submit" class="button small">Rename passkey<\/button>/);
  assert.match(html, /<button type="submit" class="button small danger">Remove passkey<\/button>/);
  assert.match(html, /data-passkey="register"[^>]*>Add a passkey<\/button>/);
  assert.equal(html.match(/name="_csrf"/g)?.length, html.match(/<form /g)?.length, 'every form carries its token');
  const renamed = await client.form(`/account/passkeys/${id}/rename`, { name: '  Work laptop ' }, { tokenFrom: '/account' });
  assert.deepEqual([renamed.status, renamed.headers.get('location')], [303, '/account#passkeys']);
  assert.match(await (await client.page('/account')).text(), /<bdi>Work laptop<\/bdi>/);
  for (const name of ['', '   ', 'x'.repeat(101), 'a\u0000b']) {
    assert.equal((await client.json(`/account/passkeys/${id}/rename`, { name })).status, 400, JSON.stringify(name));
  }
  assert.equal((await client.getJson('/account')).body.passkeys[0].name, 'Work laptop');
});

test('SEC-76: malformed passkey bodies are 400 (or 413, 415), never a 500, and log nobody in', async (t) => {
  const app = await setup(t);
  const { client } = await annWithPasskey(app);
  const anonymous = app.client();
  const bodies: unknown[] = [
    {},
    { credential: 'abc' },
    { credential: ['a'] },
    { credential: null },
    { credential: 42 },
    { credential: { type: 'public-key', response: 'x' }, extra: 1 },
    '{"credential":',
    '[]',
    '{"credential":{},"credential":{}}',
  ];
  // Objects that are no WebAuthn answer: a registration refuses them as unverifiable (400), a
  // login as any refused passkey (401), the same words whatever was wrong.
  const notCredentials: unknown[] = [
    {},
    { id: 'x', rawId: 'x', type: 'public-key', response: { clientDataJSON: '!!', authenticatorData: 'AA', signature: 'AA' } },
    { id: 'x', rawId: 'y', type: 'public-key', response: {} },
    { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: Buffer.from('{"type":"webauthn.get","challenge":"x"}').toString('base64url'), authenticatorData: 'AA', signature: 'AA' } },
  ];
  for (const path of ['/login/passkey', '/account/passkeys']) {
    const who = path === '/login/passkey' ? anonymous : client;
    for (const body of bodies) {
      const res = await who.json(path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    }
    for (const credential of notCredentials) {
      const res = await who.json(path, path === '/login/passkey' ? { credential } : { credential, name: 'x' });
      assert.equal(res.status, path === '/login/passkey' ? 401 : 400, `${path} ${JSON.stringify(credential)}: ${JSON.stringify(res.body)}`);
    }
    const huge = await who.json(path, { credential: { id: 'a'.repeat(20_000) } });
    assert.equal(huge.status, 413, path);
    const form = await who.fetch(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: 'credential=abc' });
    assert.equal(form.status, 415, `${path}: a form to a JSON route, from a client that wants JSON`);
    const text = await who.fetch(path, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"credential":{}}' });
    assert.equal(text.status, 415, path);
  }
  assert.equal((await anonymous.getJson('/account')).status, 401);
  assert.equal((await client.getJson('/account')).body.passkeys.length, 1);
});

test('SEC-45, SEC-43, as the attacker: cross-site JSON and forms without the token are refused (403) on every passkey route', async (t) => {
  const app = await setup(t);
  const { client, id, authenticator } = await annWithPasskey(app);
  for (const [path, body] of [
    ['/account/passkeys/options', {}],
    ['/account/passkeys', { credential: {}, name: 'x' }],
    [`/account/passkeys/${id}/rename`, { name: 'pwned' }],
    [`/account/passkeys/${id}/delete`, {}],
    ['/login/passkey/options', {}],
    ['/login/passkey', { credential: {} }],
    ['/reauth/passkey', { credential: {}, password: PASSWORD }],
  ] as const) {
    for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }] as Record<string, string>[]) {
      assert.equal((await client.json(path, body, headers)).status, 403, `${path} ${JSON.stringify(headers)}`);
    }
  }
  // Forms: without the right token.
  for (const path of [`/account/passkeys/${id}/rename`, `/account/passkeys/${id}/delete`]) {
    assert.equal((await client.form(path, { _csrf: 'x'.repeat(43), name: 'pwned' })).status, 403, path);
  }
  // A cross-site answer to the login page's options cannot log anyone in either.
  const victim = app.client();
  const options = await victim.json('/login/passkey/options', {});
  const login = await victim.json('/login/passkey', { credential: authenticator.startAuthentication(options.body) }, { origin: 'https://evil.example' });
  assert.equal(login.status, 403);
  assert.equal((await client.getJson('/account')).body.passkeys[0].name, 'Laptop');
});

test('SEC-81: a passkey-only account has no recovery codes to renew: 409, not a 500; TOTP is off', async (t) => {
  const app = await setup(t);
  const { client } = await annWithPasskey(app);
  const res = await client.json('/account/recovery-codes', {});
  assert.deepEqual([res.status, res.body], [409, { message: 'Two-factor authentication is not on.' }]);
  const account = (await client.getJson('/account')).body;
  assert.deepEqual([account.totp_enabled, account.recovery_codes_left], [false, 0]);
  assert.match(await (await client.page('/account')).text(), /Set up an authenticator app/);
});

test('SEC-84: /reauth for an account with a passkey asks for the password and the passkey; only both make the login fresh, recording pwd + hwk', async (t) => {
  const app = await setup(t);
  const { authenticator, id } = await annWithPasskey(app);
  const client = app.client();
  await client.json('/login', { login: 'ann@example.com', password: PASSWORD, remember: true });
  await passkeyStep(client, authenticator);
  client.restartBrowser();
  assert.deepEqual(await methodsOf(client), []);
  // The form: the password, and "Confirm with a passkey"; no code field without TOTP.
  const html = await (await client.page('/reauth?next=%2Faccount')).text();
  assert.match(html, /name="password"/);
  assert.doesNotMatch(html, /name="code"/);
  assert.match(html, /data-passkey="authenticate"[^>]*>Confirm with a passkey<\/button>/);
  // The password alone no longer does.
  const alone = await client.json('/reauth', { password: PASSWORD });
  assert.deepEqual([alone.status, alone.body.message, alone.body.mfa_required, alone.body.methods], [400, 'Two-factor code required.', true, ['passkey']]);
  assert.equal((await client.getJson('/account')).body.fresh, false);
  // A wrong password with the passkey: 401, and the challenge is not even reached.
  const options = await client.json('/reauth/passkey/options', {});
  assert.equal(options.status, 200);
  const wrong = await client.json('/reauth/passkey', { password: 'not my password at all', credential: authenticator.startAuthentication(options.body) });
  assert.deepEqual([wrong.status, wrong.body.message], [401, 'Incorrect password.']);
  // A passkey of another site (wrong RP ID) with the right password: 401.
  const phished = await client.json('/reauth/passkey', { password: PASSWORD, credential: authenticator.startAuthentication((await client.json('/reauth/passkey/options', {})).body, { rpId: 'evil.example' }) });
  assert.equal(phished.status, 401);
  assert.equal((await client.getJson('/account')).body.fresh, false);
  const both = await client.json('/reauth/passkey', { password: PASSWORD, next: '/account', credential: authenticator.startAuthentication((await client.json('/reauth/passkey/options', {})).body) });
  assert.deepEqual([both.status, both.body], [200, { message: 'Password confirmed.', next: '/account' }]);
  assert.equal((await client.getJson('/account')).body.fresh, true);
  assert.deepEqual(await methodsOf(client), ['pwd', 'hwk']);
  assert.equal((await client.json(`/account/passkeys/${id}/delete`, {})).status, 200);
});

test('SEC-84: /reauth for an account with TOTP asks for the password and a code: a wrong code is 401, the right one records pwd + otp; without a factor the password alone', async (t) => {
  const clock = createTestClock(Date.UTC(2030, 0, 1, 12, 0, 0));
  const app = await setup(t, { now: clock.now, wrapStores: (s) => Object.assign(Object.create(s), { sessions: new MemoryStore({ now: clock.now }) }) });
  await seedUser(app);
  const client = app.client();
  await client.login('ann@example.com', PASSWORD, true);
  const { totpCode, totpStep } = await import('latchkey');
  const setupBody = (await client.json('/account/totp/setup', {})).body;
  assert.equal((await client.json('/account/totp/confirm', { code: totpCode(setupBody.secret, totpStep(clock.now())) })).status, 200);
  client.restartBrowser();
  const html = await (await client.page('/reauth')).text();
  assert.match(html, /name="code"/);
  const missing = await client.json('/reauth', { password: PASSWORD });
  assert.deepEqual([missing.status, missing.body.methods], [400, ['totp']]);
  const right0 = totpCode(setupBody.secret, totpStep(clock.now()) + 1);
  const wrong = await client.json('/reauth', { password: PASSWORD, code: String((Number(right0) + 1) % 1_000_000).padStart(6, '0') });
  assert.deepEqual([wrong.status, wrong.body.message], [401, 'Invalid code.']);
  clock.advance(30_000);
  const right = await client.json('/reauth', { password: PASSWORD, code: totpCode(setupBody.secret, totpStep(clock.now())) });
  assert.deepEqual([right.status, right.body], [200, { message: 'Password confirmed.' }]);
  assert.deepEqual(await methodsOf(client), ['pwd', 'otp']);

  // Bob has no second factor: the password alone, as before.
  await seedUser(app, 'bob@example.com', 'Bob');
  const bob = app.client();
  await bob.login('bob@example.com', PASSWORD, true);
  bob.restartBrowser();
  assert.doesNotMatch(await (await bob.page('/reauth')).text(), /name="code"|data-passkey/);
  assert.deepEqual(await bob.json('/reauth', { password: PASSWORD }).then((r) => [r.status, r.body]), [200, { message: 'Password confirmed.' }]);
  assert.deepEqual(await methodsOf(bob), ['pwd']);
});

test('SEC-62, SEC-13: a passkey of an unverified account (EMAIL_VERIFICATION=required) is told to verify first (403); of an inactive account, refused as any other (401)', async (t) => {
  const app = await setup(t, { env: { EMAIL_VERIFICATION: 'required', USER_CACHE_TTL: '0' } });
  const registered = await app.accounts.register({ email: 'ann@example.com', name: 'Ann', password: PASSWORD });
  assert.ok(registered.ok && 'pending' in registered);
  const user = await app.stores.users.getUserByLogin('ann@example.com');
  assert.ok(user && !user.emailVerified);
  // The passkey is registered behind the app's back (the account could not log in to add one).
  const passkeys = createPasskeys({ rpId: '127.0.0.1', rpName: 'Latchkey', origin: ORIGIN, credentials: app.stores.users, challenges: app.stores.sessions });
  const authenticator = authenticatorFor();
  const options = await passkeys.registrationOptions({ userId: user.id, userName: 'ann@example.com' });
  assert.ok((await passkeys.register({ userId: user.id, response: authenticator.startRegistration(options), name: 'Key' })).ok);
  const client = app.client();
  const unverified = await passwordless(client, authenticator);
  assert.deepEqual([unverified.status, unverified.body], [403, { message: 'Please verify your email address first.' }]);
  assert.equal((await client.getJson('/account')).status, 401);
  await app.stores.users.markEmailVerified(user.id, 'ann@example.com');
  await app.stores.users.setUserActive(user.id, false);
  const inactive = await passwordless(client, authenticator);
  assert.deepEqual([inactive.status, inactive.body], [401, { message: 'The passkey was not accepted.' }]);
  await app.stores.users.setUserActive(user.id, true);
  assert.equal((await passwordless(client, authenticator)).status, 200);
});

test('SEC-53, as the attacker: failed passwordless logins from one client are throttled (429 with Retry-After), a genuine passkey too until the wait is over', async (t) => {
  const clock = createTestClock(Date.UTC(2030, 0, 1, 12, 0, 0));
  const app = await setup(t, { now: clock.now, wrapStores: (s) => Object.assign(Object.create(s), { sessions: new MemoryStore({ now: clock.now }) }) });
  const { authenticator } = await annWithPasskey(app);
  const attacker = app.client();
  let status = 0;
  let tries = 0;
  for (; tries < 30 && status !== 429; tries++) {
    const res = await passwordless(attacker, authenticator, { badSignature: true });
    status = res.status;
    if (status === 429) assert.ok(Number(res.response.headers.get('retry-after')) >= 1);
    else assert.equal(status, 401);
  }
  assert.equal(status, 429, 'the failures were throttled');
  assert.ok(tries > 10, `the first 10 failures pass the throttle (${tries})`);
  assert.equal((await passwordless(attacker, authenticator)).status, 429, 'a genuine passkey from that client waits too');
  clock.advance(60 * 60_000);
  assert.equal((await passwordless(attacker, authenticator)).status, 200, 'after the wait');
});

test('SEC-79: the fifth refused passkey of one pending step ends it: the user logs in again', async (t) => {
  const app = await setup(t);
  const { authenticator } = await annWithPasskey(app);
  const browser = app.client();
  await browser.json('/login', { login: 'ann@example.com', password: PASSWORD });
  for (let i = 1; i <= 4; i++) assert.equal((await passkeyStep(browser, authenticator, { badSignature: true })).status, 401, `failure ${i}`);
  const fifth = await passkeyStep(browser, authenticator, { badSignature: true });
  assert.deepEqual([fifth.status, fifth.body.message], [401, 'The passkey was not accepted. Too many failed attempts: log in again.']);
  assert.equal((await browser.json('/login/two-factor/passkey/options', {})).status, 401, 'the pending step is gone');
});

test('SEC-64: the login page offers "Log in with a passkey" under the strict CSP; the scripts are served from the app with a year of cache', async (t) => {
  const app = await setup(t);
  const res = await app.client().page('/login');
  assert.equal(res.headers.get('content-security-policy'), CSP);
  const html = await res.text();
  const button = /<button type="button" class="button" hidden data-passkey="authenticate" data-options="\/login\/passkey\/options" data-submit="\/login\/passkey" data-next="\/dashboard" data-fields="f-remember" data-send-next data-status="passkey-login-status">Log in with a passkey<\/button>/;
  assert.match(html, button);
  const scripts = [...html.matchAll(/<script src="([^"]+)" defer><\/script>/g)].map((m) => m[1] as string);
  assert.deepEqual(scripts.map((s) => s.split('?')[0]), ['/static/webauthn.js', '/static/passkeys.js']);
  for (const src of scripts) {
    const script = await app.request(src);
    assert.equal(script.status, 200, src);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok((await script.text()).length > 500);
  }
  // Pages without passkey buttons load no script.
  assert.doesNotMatch(await (await app.client().page('/register')).text(), /<script/);
});

test('SEC-80: an account with TOTP and a passkey is offered both (methods ["totp", "passkey"]): the code field and "Use a passkey"; either completes the step', async (t) => {
  const clock = createTestClock(Date.UTC(2030, 0, 1, 12, 0, 0));
  const app = await setup(t, { now: clock.now, wrapStores: (s) => Object.assign(Object.create(s), { sessions: new MemoryStore({ now: clock.now }) }) });
  await seedUser(app);
  const owner = app.client();
  await owner.login();
  const { totpCode, totpStep } = await import('latchkey');
  const secret = (await owner.json('/account/totp/setup', {})).body.secret;
  assert.equal((await owner.json('/account/totp/confirm', { code: totpCode(secret, totpStep(clock.now())) })).status, 200);
  const authenticator = authenticatorFor();
  assert.equal((await addPasskey(owner, authenticator)).status, 201);
  const account = (await owner.getJson('/account')).body;
  assert.deepEqual([account.totp_enabled, account.passkeys.length, account.recovery_codes_left], [true, 1, 10]);

  const browser = app.client();
  const password = await browser.json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.deepEqual(password.body.methods, ['totp', 'passkey']);
  const html = await (await browser.page('/login/two-factor')).text();
  assert.match(html, /name="code"/);
  assert.match(html, />Use a passkey<\/button>/);
  assert.equal((await passkeyStep(browser, authenticator)).status, 200);
  assert.deepEqual(await methodsOf(browser), ['pwd', 'hwk']);
});

test('Passkeys are off, not the app, when PUBLIC_URL is no secure context (http on a host that is not loopback): their routes are 404 and no page offers them', async (t) => {
  const app = await setup(t, { env: { PUBLIC_URL: 'http://app.example' } });
  assert.equal(app.warnings.length, 1);
  assert.match(app.warnings[0]!, /^passkeys are off: PUBLIC_URL http:\/\/app\.example is not a secure context/);
  await seedUser(app);
  const client = app.client();
  await client.login();
  for (const path of ['/account/passkeys/options', '/login/passkey/options', '/login/passkey']) {
    assert.deepEqual(await client.json(path, {}).then((r) => [r.status, r.body.message]), [404, 'Passkeys are not available on this site.'], path);
  }
  assert.deepEqual((await client.getJson('/account')).body.passkeys, []);
  for (const path of ['/account', '/reauth']) assert.doesNotMatch(await (await client.page(path)).text(), /passkey|<script/i, path);
  assert.doesNotMatch(await (await app.client().page('/login')).text(), /passkey|<script/i);
});

test('SEC-35, SEC-84: re-authenticating to remove a passkey comes back to that passkey\'s confirmation, a form that removes it in one click; another id shows no button', async (t) => {
  const app = await setup(t);
  const { authenticator, id } = await annWithPasskey(app);
  const client = app.client();
  await client.json('/login', { login: 'ann@example.com', password: PASSWORD, remember: true });
  assert.equal((await passkeyStep(client, authenticator)).status, 200);
  client.restartBrowser(); // restored from remember-me: not fresh
  const target = `/account?confirm=passkey-delete&session=${id}`;
  const stale = await client.form(`/account/passkeys/${id}/delete`, {}, { tokenFrom: '/account' });
  assert.equal(stale.headers.get('location'), `/reauth?next=${encodeURIComponent(target)}`);
  // The step-up of an account with a passkey: the password and the passkey together.
  const options = await client.json('/reauth/passkey/options', {});
  assert.equal((await client.json('/reauth/passkey', { password: PASSWORD, credential: authenticator.startAuthentication(options.body) })).status, 200);
  const html = await (await client.page(target)).text();
  assert.match(html, /Remove the passkey &quot;Laptop&quot;\?|Remove the passkey "Laptop"\?/);
  assert.match(html, new RegExp(`action="/account/passkeys/${id}/delete"><input type="hidden" name="_csrf"`));
  assert.equal((await client.getJson('/account')).body.passkeys.length, 1, 'a GET removes nothing');
  // As the attacker: an id that is not one of the user's passkeys shows no button.
  const forged = await (await client.page('/account?confirm=passkey-delete&session=AAAAAAAA')).text();
  assert.match(forged, /That passkey has already been removed\./);
  assert.doesNotMatch(forged, /passkeys\/AAAAAAAA\/delete/);
  const removed = await client.form(`/account/passkeys/${id}/delete`, {}, { tokenFrom: target });
  assert.equal(removed.status, 303);
  assert.deepEqual((await client.getJson('/account')).body.passkeys, []);
});

test('SEC-84, as the attacker: while passkeys are off, an account whose second factor is a passkey cannot step up with its password alone, as it cannot log in with it alone', async (t) => {
  const app = await setup(t, { env: { PUBLIC_URL: 'http://app.example' } });
  const userId = await seedUser(app);
  const client = app.client();
  await client.login(); // before the passkey existed: a password login
  // The passkey was registered while passkeys were on (straight into the store here).
  const stored = await app.stores.users.addCredential({ id: 'cGFzc2tleS1pZA', userId, publicKey: 'AQID', counter: 0, transports: ['internal'], name: 'Laptop' });
  assert.ok(stored);
  const login = await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD });
  assert.deepEqual([login.status, login.body.mfa_required, login.body.methods], [200, true, ['passkey']], 'the login stays pending');
  const reauth = await client.json('/reauth', { password: PASSWORD });
  assert.equal(reauth.status, 400, JSON.stringify(reauth.body));
  assert.deepEqual(reauth.body.methods, ['passkey']);
});
