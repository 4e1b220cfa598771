/**
 * Browser: two-factor login with an authenticator app, driven as a person would. Set it up from the
 * account page (a server-made SVG QR code under the strict CSP, the secret to type by hand, the
 * recovery codes once), log in with the password and a code, log in with a recovery code once,
 * and turn it off again.
 *
 * The codes come from Debian's `oathtool`, an implementation independent of latchkey's, at the
 * time step the test picks (`-N @seconds`); the app runs on the real clock, so the step is
 * `totpStep(Date.now())`. Steps 1–4 run in order on one browser context and share its state.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { totpStep } from 'latchkey';
import {
  TEXT,
  browserSkipReason,
  fillLogin,
  formWith,
  logout,
  newContext,
  newUser,
  openOn,
  register,
  submitButton,
  useAppAndBrowser,
  type Browsing,
} from './support.ts';

/** What an authenticator app shows for `secret` (base32) at RFC 6238 time step `step`. */
function codeAt(secret: string, step: number): string {
  return execFileSync('oathtool', ['--totp', '-b', '-N', `@${step * 30}`, secret], { encoding: 'utf8' }).trim();
}

/**
 * The code an authenticator app shows next after `usedStep` (SEC-78 refuses that step and any
 * before it): the code of the step after it, which the app accepts as "the next step" (±1, SEC-77)
 * once the clock is at `usedStep` or later; waits for that (at most one 30 s step).
 */
async function nextCode(secret: string, usedStep: number): Promise<{ code: string; step: number }> {
  const wait = usedStep * 30_000 - Date.now();
  if (wait > 0) await sleep(wait + 100);
  const step = Math.max(usedStep + 1, totpStep(Date.now()));
  return { code: codeAt(secret, step), step };
}

/** The two-factor form on /login/two-factor, filled with `code` and submitted. */
async function enterCode(b: Browsing, code: string, step: string) {
  assert.equal(b.location(), '/login/two-factor');
  const form = formWith(b, 'code');
  await form.locator('[name="code"]').fill(code);
  return b.submit(submitButton(form), step);
}

/** /login with the password: for an account with a second factor, the two-factor page. */
async function passwordStep(b: Browsing, email: string, password: string): Promise<void> {
  await b.goto('/login', 'login-form');
  const response = await fillLogin(b, email, password);
  assert.equal(response.status(), 303, `POST /login answered ${response.status()}: ${await b.text()}`);
  assert.equal(b.location(), '/login/two-factor', 'a right password for a two-factor account asks for a code');
}

function assertDashboard(b: Browsing, text: string, name: string): void {
  assert.equal(b.location(), '/dashboard');
  assert.ok(text.includes(TEXT.dashboard(name)), `the dashboard greets the user: ${text}`);
}

describe('e2e: two-factor login with an authenticator app', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();
  const user = newUser('Hedy');
  /** Shared by the steps below, in order. */
  const state: { context?: BrowserContext; secret?: string; usedStep?: number; recoveryCodes?: string[] } = {};

  async function browsing(name: string): Promise<Browsing> {
    state.context ??= await newContext(env.browser, { acceptDownloads: true });
    return openOn(env.app, state.context, name);
  }

  after(() => state.context?.close());

  test('SEC-77, SEC-81: register → account → set up an authenticator app (SVG QR code, no CSP violation, the secret) → a code from oathtool turns it on → 10 recovery codes shown once, downloadable → log out', async () => {
    const b = await browsing('totp-setup');
    await register(b, user); // a fresh login: setting up a factor needs one (SEC-84)
    await b.goto('/account', 'account');

    const setup = await b.submit(b.page.getByRole('button', { name: /set up/i }), 'setup-page');
    assert.equal(setup.status(), 200, `POST /account/totp/setup answered ${setup.status()}: ${await b.text()}`);
    // The QR code is inline SVG made on the server: no script, no image source, and `snap`
    // failed above on any CSP violation (SEC-64).
    const svg = b.page.locator('figure.qr svg');
    assert.equal(await svg.count(), 1, 'the setup page shows one inline SVG QR code');
    assert.ok((await svg.boundingBox())!.width >= 100, 'the QR code is drawn at a scannable size');

    // The secret for typing by hand, in groups of four: 160 bits are 32 base32 characters (SEC-77).
    const shown = (await b.page.locator('code.secret').innerText()).trim();
    assert.match(shown, /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/, `the secret is shown in groups of four: ${shown}`);
    const secret = shown.replace(/\s+/g, '');
    assert.equal(secret.length, 32, 'the secret is 160 bits (SEC-77)');
    assert.ok((await b.text()).includes(shown), 'the secret is in the page text');

    // SEC-77: nothing is on until a right code; the app's code for now, as an authenticator app shows it.
    const now = totpStep(Date.now());
    const form = b.page.locator('form[action="/account/totp/confirm"]');
    await form.locator('[name="code"]').fill(codeAt(secret, now));
    const confirmed = await b.submit(submitButton(form), 'recovery-codes');
    assert.equal(confirmed.status(), 200, `POST /account/totp/confirm answered ${confirmed.status()}: ${await b.text()}`);
    assert.ok((await b.text()).includes('Two-factor authentication is on.'));

    // SEC-81: 10 distinct codes, shown in a <pre> to copy, and as a file to download.
    const codes = (await b.page.locator('pre.recovery-codes').innerText()).split('\n').map((line) => line.trim()).filter(Boolean);
    assert.equal(codes.length, 10, `10 recovery codes: ${codes.join(', ')}`);
    assert.equal(new Set(codes).size, 10, 'the recovery codes differ');
    const [download] = await Promise.all([b.page.waitForEvent('download'), b.page.getByRole('link', { name: /download/i }).click()]);
    const file = readFileSync((await download.path())!, 'utf8');
    for (const code of codes) assert.ok(file.includes(code), `the downloaded file holds ${code}:\n${file}`);

    // Shown once: the account page says how many are left, never the codes.
    await b.goto('/account', 'account-totp-on');
    const account = await b.text();
    assert.ok(account.includes('10 recovery codes left'), `the account page shows the count (SEC-81): ${account}`);
    for (const code of codes) assert.ok(!account.includes(code), 'the account page does not show the codes again');
    assert.ok(!account.includes(shown), 'the secret is not shown again (SEC-77)');

    await logout(b);
    Object.assign(state, { secret, usedStep: now, recoveryCodes: codes });
  });

  test('SEC-80, SEC-78, SEC-84: the password alone is not a login (the dashboard sends to /login); the code used at setup is refused; the next code logs in', async () => {
    const { secret, usedStep } = state as Required<typeof state>;
    assert.ok(secret, 'step 1 set up the authenticator app');
    const b = await browsing('totp-login');
    await passwordStep(b, user.email, user.password);
    assert.ok((await b.text()).includes('Type the code your authenticator app shows'));

    // SEC-80: pending, not logged in: this very browser is still anonymous…
    await b.goto('/dashboard', 'dashboard-while-pending');
    assert.equal(b.location(), '/login?next=%2Fdashboard', 'the pending step is not a login');
    assert.ok((await b.text()).includes(TEXT.loginRequired));
    // …and its pending step is still there.
    await b.goto('/login/two-factor', 'two-factor-form');

    // SEC-78, as an attacker who saw the setup code: its step was used, so it is refused even
    // inside the ±1 window (checked before and after, so the app's clock was inside it too).
    assert.ok(totpStep(Date.now()) <= usedStep + 1, 'the setup code is still inside the ±1 step window');
    b.allowConsoleError(/status of 401/);
    const replayed = await enterCode(b, codeAt(secret, usedStep), 'setup-code-replayed');
    assert.ok(totpStep(Date.now()) <= usedStep + 1, 'the setup code was inside the ±1 step window when sent');
    assert.equal(replayed.status(), 401, `the reused step answered ${replayed.status()}`);
    assert.ok((await b.text()).includes('Invalid code.'), `the page says "Invalid code.": ${await b.text()}`);

    // The next step's code (or now's, should the clock have moved on): what the app shows at most
    // 30 s later, accepted within the ±1 window (SEC-77) and after the used step (SEC-78).
    const next = await nextCode(secret, usedStep);
    const done = await enterCode(b, next.code, 'logged-in-with-code');
    assert.equal(done.status(), 303, `POST /login/two-factor answered ${done.status()}: ${await b.text()}`);
    assertDashboard(b, await b.text(), user.name);
    state.usedStep = next.step;
  });

  test('SEC-81: a recovery code logs in once; the same code again is refused with "Invalid code."', async () => {
    const [code] = state.recoveryCodes ?? [];
    assert.ok(code, 'step 1 showed the recovery codes');
    const b = await browsing('recovery-code');
    await b.goto('/dashboard', 'dashboard');
    await logout(b);

    await passwordStep(b, user.email, user.password);
    const used = await enterCode(b, code, 'logged-in-with-recovery-code');
    assert.equal(used.status(), 303, `POST /login/two-factor answered ${used.status()}: ${await b.text()}`);
    assertDashboard(b, await b.text(), user.name);
    await b.goto('/account', 'account-one-code-used');
    assert.ok((await b.text()).includes('9 recovery codes left'), `the count went down (SEC-81): ${await b.text()}`);
    await logout(b);

    // As someone holding a copy of the used code: never again.
    await passwordStep(b, user.email, user.password);
    b.allowConsoleError(/status of 401/);
    const again = await enterCode(b, code, 'recovery-code-used-again');
    assert.equal(again.status(), 401);
    assert.equal(b.location(), '/login/two-factor');
    assert.ok((await b.text()).includes('Invalid code.'), `the page says "Invalid code.": ${await b.text()}`);
    await b.goto('/dashboard', 'dashboard-refused');
    assert.equal(b.location(), '/login?next=%2Fdashboard', 'the used recovery code logged nobody in');
  });

  test('SEC-84: after a fresh two-factor login, turn it off from the account page → log out → the password alone logs in', async () => {
    const { secret, usedStep } = state as Required<typeof state>;
    const b = await browsing('totp-disable');
    // A fresh login with the second factor (SEC-84: turning a factor off needs one).
    await passwordStep(b, user.email, user.password);
    const done = await enterCode(b, (await nextCode(secret, usedStep)).code, 'logged-in-with-code');
    assert.equal(done.status(), 303, `POST /login/two-factor answered ${done.status()}: ${await b.text()}`);
    assertDashboard(b, await b.text(), user.name);

    await b.goto('/account', 'account');
    const off = await b.submit(b.page.getByRole('button', { name: /turn off two-factor/i }), 'two-factor-off');
    assert.equal(off.status(), 303, `POST /account/totp/disable answered ${off.status()}: ${await b.text()}`);
    assert.equal(b.location(), '/account', 'no reauthentication was asked: the two-factor login was fresh (SEC-84)');
    const account = await b.text();
    assert.ok(account.includes('Two-factor authentication is off.'), `the account page says it is off: ${account}`);
    assert.equal(await b.page.getByRole('button', { name: /set up/i }).count(), 1, 'the account page offers to set it up again');

    await logout(b);
    await b.goto('/login', 'login-form');
    const login = await fillLogin(b, user.email, user.password);
    assert.equal(login.status(), 303);
    assertDashboard(b, await b.text(), user.name);
  });
});
