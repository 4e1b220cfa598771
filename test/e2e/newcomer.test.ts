/**
 * Browser: what a newcomer's first hour ran into, fixed. Logging in to reach the download lands
 * on a page that shows the login and starts the download; a refused form puts the focus on the
 * field in error and says the error in the title; re-authenticating in the middle of "log out
 * other sessions" comes back to finish it in one click; the password forms of a logged-in user
 * show the account's login as a username field password managers see.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TEXT,
  browserSkipReason,
  createUser,
  fillLogin,
  formWith,
  login,
  newContext,
  newUser,
  openOn,
  submitButton,
  useAppAndBrowser,
} from './support.ts';

describe('e2e: a newcomer\'s first hour', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();

  test('logging in from the download link lands on the dashboard, logged in, and the file downloads', async (t) => {
    const user = newUser('Dora');
    await createUser(env.app, user);
    const context = await newContext(env.browser, { acceptDownloads: true });
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'download-after-login');
    await b.goto('/download', 'download-asks-login');
    assert.equal(b.location(), '/login?next=%2Fdownload');
    const downloading = b.page.waitForEvent('download');
    await fillLogin(b, user.email, user.password);
    const download = await downloading;
    assert.equal(download.suggestedFilename(), 'latchkey-welcome.txt');
    assert.equal(b.location(), '/dashboard?download=1', 'the browser is on the dashboard, not left on the login form');
    const text = await b.text();
    assert.ok(text.includes(`Signed in as ${user.name}`), 'the header shows the login');
    assert.ok(text.includes(TEXT.dashboard(user.name)));
    assert.ok(!text.includes(TEXT.loginRequired), 'no "Please log in" is left on screen');
    assert.ok(text.includes('download it here'), 'the download is offered too, should it not start');
  });

  test('a refused form focuses the field in error and says the error in the title', async (t) => {
    const context = await newContext(env.browser);
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'refused-form-focus');
    await b.goto('/register', 'register-form');
    const form = formWith(b, 'email');
    await form.locator('[name="email"]').fill(`focus-${Date.now()}@example.test`);
    await form.locator('[name="name"]').fill('Fay');
    // The browser's own check would stop a short password: the server's refusal is the subject here.
    await form.locator('[name="password"]').evaluate((input) => input.removeAttribute('minlength'));
    await form.locator('[name="password"]').fill('short');
    b.allowConsoleError(/status of 400/);
    const refused = await b.submit(submitButton(form), 'register-refused');
    assert.equal(refused.status(), 400);
    assert.equal(await b.page.evaluate(() => document.activeElement?.getAttribute('name')), 'password');
    const described = await b.page.locator('#f-password').getAttribute('aria-describedby');
    assert.match(described ?? '', /f-password-error/, 'the focused field is described by its error');

    await b.goto('/login', 'login-form');
    b.allowConsoleError(/status of 401/);
    await fillLogin(b, 'nobody@example.test', 'not the password at all');
    assert.match(await b.page.title(), /^Error: Invalid username or password\. · Log in/);
    assert.equal(await b.page.evaluate(() => document.activeElement?.getAttribute('name')), 'password');
  });

  test('re-authenticating for "log out other sessions" comes back to finish it in one click', async (t) => {
    const user = newUser('Remi');
    await createUser(env.app, user);
    const otherContext = await newContext(env.browser);
    t.after(() => otherContext.close());
    const other = await openOn(env.app, otherContext, 'reauth-other-device');
    await login(other, user);

    const first = await newContext(env.browser);
    t.after(() => first.close());
    const a = await openOn(env.app, first, 'reauth-remembered');
    await login(a, user, true);
    // The browser is closed and opened again: a remembered login, not a fresh one.
    const second = await newContext(env.browser);
    t.after(() => second.close());
    await second.addCookies((await first.cookies()).filter((c) => c.expires > 0));
    const b = await openOn(env.app, second, 'reauth-restored');
    await b.goto('/account', 'account');
    await b.submit(submitButton(b.page.locator('form[action="/account/sessions/revoke-others"]').last()), 'revoke-asks-password');
    assert.equal(new URL(b.page.url()).pathname, '/reauth');
    // The password manager sees the account's login beside the password.
    const username = b.page.locator('input[autocomplete="username"]');
    assert.equal(await username.inputValue(), user.email);
    assert.ok(await username.isVisible(), 'a username field that is shown, not hidden');
    assert.equal(await username.getAttribute('readonly'), '');
    const reauth = formWith(b, 'password');
    await reauth.locator('[name="password"]').fill(user.password);
    await b.submit(submitButton(reauth), 'reauthenticated');
    assert.equal(b.location(), '/account?confirm=revoke-others');
    assert.equal((await other.goto('/dashboard', 'other-still-in'), other.location()), '/dashboard', 'nothing was done on GET');
    const confirm = b.page.locator('.confirm button');
    assert.equal(await b.page.evaluate(() => document.activeElement?.textContent), 'Log out other sessions', 'the confirmation has the focus');
    await b.submit(confirm, 'revoked');
    assert.match(await b.text(), /Logged out \d other sessions?:/);
    await other.goto('/dashboard', 'other-logged-out');
    assert.equal(other.location(), '/login?next=%2Fdashboard');
  });
});
