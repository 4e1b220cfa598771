/**
 * the app's HTTP contract, "Second factors" (TOTP and recovery codes): setup, confirm, disable and new
 * codes on the account, and the login's second step. Codes come from `oathtool` (an independent
 * RFC 6238 implementation) at the test clock's time when it is installed, else from latchkey's
 * `totpCode` (printed once). Time is the injected clock of the app and of its store.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { totpCode, totpStep } from 'latchkey';
import { createTestClock, MemoryStore, type TestClock } from 'latchkey/testing';
import { CSP, csrfOf, PASSWORD, seedUser, setup, type Client, type TestApp } from './support.ts';

const oathtool = (() => {
  try {
    execFileSync('oathtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.log('oathtool is not installed: codes come from latchkey\'s totpCode instead');
    return false;
  }
})();

/** The TOTP code of `secret` at `at` (ms). */
function otp(secret: string, at: number): string {
  if (!oathtool) return totpCode(secret, totpStep(at));
  return execFileSync('oathtool', ['--totp', '-b', '-N', `@${Math.floor(at / 1000)}`, secret]).toString().trim();
}

/** An app whose manager, throttle and store share one test clock. */
async function clockedApp(t: TestContext): Promise<{ app: TestApp; clock: TestClock }> {
  const clock = createTestClock(Date.UTC(2030, 0, 1, 12, 0, 0));
  const app = await setup(t, { now: clock.now, wrapStores: (s) => Object.assign(Object.create(s), { sessions: new MemoryStore({ now: clock.now }) }) });
  return { app, clock };
}

/** Ann, logged in (fresh) on `client`, with TOTP on; the secret and her recovery codes. */
async function annWithTotp(app: TestApp, clock: TestClock): Promise<{ client: Client; secret: string; codes: string[] }> {
  await seedUser(app);
  const client = app.client();
  await client.login();
  const { body: setupBody } = await client.json('/account/totp/setup', {});
  const { status, body } = await client.json('/account/totp/confirm', { code: otp(setupBody.secret, clock.now()) });
  assert.equal(status, 200);
  return { client, secret: setupBody.secret, codes: body.recovery_codes };
}

test('SEC-84: TOTP setup needs a fresh login: a login restored from remember-me is refused (403)', async (t) => {
  const { app } = await clockedApp(t);
  await seedUser(app);
  const client = app.client();
  await client.login('ann@example.com', PASSWORD, true);
  client.restartBrowser();
  assert.equal((await client.json('/account/totp/setup', {})).status, 403);
  assert.equal((await app.client().json('/account/totp/setup', {})).status, 401);
});

test('SEC-77: setup gives a 160-bit secret and an otpauth URL; a wrong code is 400 and nothing is on; the right one turns it on with 10 codes', async (t) => {
  const { app, clock } = await clockedApp(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  const { status, body } = await client.json('/account/totp/setup', {});
  assert.equal(status, 200);
  assert.match(body.secret, /^[A-Z2-7]{32}$/);
  assert.match(body.otpauth_url, new RegExp(`^otpauth://totp/.*secret=${body.secret}.*issuer=Latchkey`));
  const right = otp(body.secret, clock.now());
  const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
  assert.equal((await client.json('/account/totp/confirm', { code: wrong })).status, 400);
  assert.equal((await client.getJson('/account')).body.totp_enabled, false);
  const on = await client.json('/account/totp/confirm', { code: right });
  assert.equal(on.status, 200);
  assert.equal(on.body.message, 'Two-factor authentication is on.');
  assert.equal(on.body.recovery_codes.length, 10);
  assert.equal(new Set(on.body.recovery_codes).size, 10);
  const account = (await client.getJson('/account')).body;
  assert.deepEqual([account.totp_enabled, account.recovery_codes_left], [true, 10]);
});

test('SEC-77, SEC-64: the setup page shows the QR code as inline SVG, the secret in groups of 4, and the confirm form, under the strict CSP', async (t) => {
  const { app } = await clockedApp(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  const res = await client.form('/account/totp/setup', {}, { tokenFrom: '/account' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-security-policy'), CSP);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const html = await res.text();
  assert.match(html, /<figure class="qr"><svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>.*<\/svg>\s*<\/figure>/s);
  assert.doesNotMatch(html, /<script|<img|style="/);
  assert.match(html, /<code class="secret">([A-Z2-7]{4} ){7}[A-Z2-7]{4}<\/code>/);
  assert.match(html, /action="\/account\/totp\/confirm"/);
  assert.equal(html.match(/name="_csrf"/g)?.length, html.match(/<form /g)?.length);
});

test('SEC-81: the HTML confirm shows the codes once, in a <pre> and as a data: download; the account page shows the state', async (t) => {
  const { app, clock } = await clockedApp(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  const secret = (await client.json('/account/totp/setup', {})).body.secret as string;
  const res = await client.form('/account/totp/confirm', { code: otp(secret, clock.now()) }, { tokenFrom: '/account' });
  assert.equal(res.status, 200);
  const html = await res.text();
  const codes = /<pre class="recovery-codes">([^<]*)<\/pre>/.exec(html)?.[1]?.split('\n') ?? [];
  assert.equal(codes.length, 10);
  const href = /download="latchkey-recovery-codes.txt" href="data:text\/plain;charset=utf-8,([^"]+)"/.exec(html)?.[1] ?? '';
  for (const code of codes) assert.ok(decodeURIComponent(href).includes(code));
  const account = await (await client.page('/account')).text();
  assert.match(account, /<span class="badge">On<\/span> 10 recovery codes left/);
  assert.match(account, /action="\/account\/recovery-codes"/);
  assert.match(account, /action="\/account\/totp\/disable"/);
});

test('SEC-81, SEC-84: new recovery codes void the old ones; disabling turns TOTP off and needs a fresh login', async (t) => {
  const { app, clock } = await clockedApp(t);
  const { client, codes } = await annWithTotp(app, clock);
  const fresh = await client.json('/account/recovery-codes', {});
  assert.equal(fresh.status, 200);
  assert.equal(fresh.body.recovery_codes.length, 10);
  const id = String((await client.getJson('/account')).body.id);
  assert.deepEqual(await app.accounts.verifySecondFactor({ userId: id, code: codes[0] }), { ok: false, reason: 'invalid' });
  assert.equal((await app.accounts.verifySecondFactor({ userId: id, code: fresh.body.recovery_codes[0] })).ok, true);
  const off = await client.json('/account/totp/disable', {});
  assert.deepEqual([off.status, off.body.message], [200, 'Two-factor authentication is off.']);
  assert.deepEqual([(await client.getJson('/account')).body.totp_enabled, (await client.getJson('/account')).body.recovery_codes_left], [false, 0]);
  assert.equal((await client.json('/account/recovery-codes', {})).status, 409);
});

// ---- The login's second step: the library's pending step (auth.beginSecondStep). ----

/** Ann with TOTP on, and a new browser past her password: the JSON answer. */
async function pastPassword(app: TestApp, body: Record<string, unknown> = {}) {
  const browser = app.client();
  const res = await browser.json('/login', { login: 'ann@example.com', password: PASSWORD, ...body });
  return { browser, res };
}

test('SEC-80, SEC-78: a right password asks for the code; the pending state is refused by /dashboard and /protected; a right code logs in; the same code again is refused', async (t) => {
  const { app, clock } = await clockedApp(t);
  const { secret } = await annWithTotp(app, clock);
  clock.advance(30_000); // the confirm spent this step (SEC-78)
  const { browser, res } = await pastPassword(app);
  assert.deepEqual([res.status, res.body], [200, { message: 'Two-factor code required.', mfa_required: true, methods: ['totp'] }]);
  assert.equal((await browser.getJson('/protected')).status, 401);
  assert.equal((await browser.page('/dashboard')).status, 302);
  assert.equal((await browser.page('/login/two-factor')).status, 200);
  const code = otp(secret, clock.now());
  const ok = await browser.json('/login/two-factor', { code });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.message, 'Login successful!');
  assert.equal((await browser.getJson('/protected')).status, 200);
  // The attacker who watched the code type it in another browser, past the password too.
  const { browser: attacker } = await pastPassword(app);
  assert.deepEqual(await attacker.json('/login/two-factor', { code }).then((r) => [r.status, r.body]), [401, { message: 'Invalid code.' }]);
});

test('SEC-80: in a browser, the right password redirects to /login/two-factor, whose form completes the login to next', async (t) => {
  const { app, clock } = await clockedApp(t);
  const { secret } = await annWithTotp(app, clock);
  clock.advance(30_000);
  const browser = app.client();
  const res = await browser.form('/login?next=%2Faccount', { login: 'ann@example.com', password: PASSWORD, next: '/account' });
  assert.deepEqual([res.status, res.headers.get('location')], [303, '/login/two-factor']);
  const form = await (await browser.page('/login/two-factor')).text();
  const done = await browser.form('/login/two-factor', { code: otp(secret, clock.now()), _csrf: csrfOf(form) });
  assert.deepEqual([done.status, done.headers.get('location')], [303, '/account']);
  assert.equal((await app.client().page('/login/two-factor')).headers.get('location'), '/login');
});

test('SEC-84: a login completed with a code is listed as "password + code", with a recovery code as "password + recovery code"', async (t) => {
  const { app, clock } = await clockedApp(t);
  const { secret, codes } = await annWithTotp(app, clock);
  clock.advance(30_000); // the confirm spent this step (SEC-78)
  const withCode = await pastPassword(app);
  assert.equal((await withCode.browser.json('/login/two-factor', { code: otp(secret, clock.now()) })).status, 200);
  const withRecovery = await pastPassword(app);
  assert.equal((await withRecovery.browser.json('/login/two-factor', { code: codes[0] })).status, 200);
  const mine = async (client: Client) => {
    const sessions = (await client.getJson('/account')).body.sessions as Array<{ current: boolean; methods: string[]; signed_in_with: string }>;
    const current = sessions.find((s) => s.current);
    return [current?.methods, current?.signed_in_with];
  };
  assert.deepEqual(await mine(withCode.browser), [['pwd', 'otp'], 'password + code']);
  assert.deepEqual(await mine(withRecovery.browser), [['pwd', 'recovery'], 'password + recovery code']);
  const html = await (await withCode.browser.page('/account')).text();
  assert.match(html, /<span class="methods">with password \+ code<\/span>/);
});

test('SEC-81: a recovery code completes the second step once, never again', async (t) => {
  const { app, clock } = await clockedApp(t);
  const { codes } = await annWithTotp(app, clock);
  const first = await pastPassword(app);
  assert.equal((await first.browser.json('/login/two-factor', { code: codes[3] })).status, 200);
  const again = await pastPassword(app);
  assert.equal((await again.browser.json('/login/two-factor', { code: codes[3] })).status, 401);
  assert.equal((await again.browser.getJson('/account')).status, 401);
});

test('SEC-79: the fifth wrong code ends the pending step; the right code after it is refused until a new login', async (t) => {
  const { app, clock } = await clockedApp(t);
  const { secret } = await annWithTotp(app, clock);
  clock.advance(30_000);
  const { browser } = await pastPassword(app);
  // Four wrong codes counted; a throttled attempt (429, the per-account delay) is waited out and not counted.
  for (let counted = 0, tries = 0; counted < 4; tries++) {
    assert.ok(tries < 20, 'the second step keeps refusing to check codes');
    const wrong = await browser.json('/login/two-factor', { code: '000000' });
    if (wrong.status === 429) {
      clock.advance(Number(wrong.response.headers.get('retry-after')) * 1000);
      continue;
    }
    assert.deepEqual([wrong.status, wrong.body], [401, { message: 'Invalid code.' }]);
    counted++;
  }
  const fifth = await browser.json('/login/two-factor', { code: '000001' });
  assert.equal(fifth.status, 401);
  assert.match(fifth.body.message, /log in again/);
  const late = await browser.json('/login/two-factor', { code: otp(secret, clock.now()) });
  assert.deepEqual([late.status, late.body.message], [401, 'Your login has ended. Log in again.']);
  assert.equal((await browser.getJson('/protected')).status, 401);
});

test('SEC-80: the pending step lives 5 minutes on the store clock: alive 1 s before, gone at 5 minutes', async (t) => {
  const { app, clock } = await clockedApp(t);
  const { secret } = await annWithTotp(app, clock);
  const { browser } = await pastPassword(app);
  clock.advance(5 * 60_000 - 1_000);
  assert.equal((await browser.page('/login/two-factor')).status, 200);
  clock.advance(1_000);
  assert.equal((await browser.page('/login/two-factor')).headers.get('location'), '/login');
  const late = await browser.json('/login/two-factor', { code: otp(secret, clock.now()) });
  assert.equal(late.status, 401);
  assert.equal((await browser.getJson('/protected')).status, 401);
});
