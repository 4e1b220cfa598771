/**
 * Browser: the first visit. Register, see the dashboard, download the file, log out.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import {
  TEXT,
  browserSkipReason,
  logout,
  newContext,
  newUser,
  openOn,
  register,
  useAppAndBrowser,
} from './support.ts';

describe('e2e: registration', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();

  test('register, dashboard, download, log out', async (t) => {
    const context = await newContext(env.browser);
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'register');

    await b.goto('/', 'home-anonymous');
    assert.equal(await b.page.locator('a[href="/login"]').count() > 0, true, 'the home page links to /login');
    assert.equal(await b.page.locator('a[href="/register"]').count() > 0, true, 'the home page links to /register');

    const user = newUser('Ada');
    await register(b, user);
    assert.ok((await b.text()).includes(TEXT.dashboard(user.name)), `the dashboard greets the new user: ${await b.text()}`);

    // The download: the browser receives a file, not a page.
    const link = b.page.locator('a[href="/download"]').first();
    const [download] = await Promise.all([
      b.page.waitForEvent('download'),
      (await link.count()) > 0 ? link.click() : b.page.evaluate(() => window.location.assign('/download')),
    ]);
    assert.equal(await download.failure(), null);
    const filename = download.suggestedFilename();
    assert.match(filename, /^[\w.-]+\.\w+$/, `the download has a real file name: "${filename}"`);
    assert.notEqual(filename, 'download');
    t.diagnostic(`download: ${filename}`);
    const content = await readFile(await download.path());
    assert.ok(content.length > 0, 'the downloaded file is not empty');
    assert.equal(b.location(), '/dashboard', 'the download does not navigate away');
    await b.snap('after-download');

    await b.goto('/', 'home-logged-in');
    const home = await b.text();
    assert.ok(home.includes(TEXT.alreadyLoggedIn), `home says "${TEXT.alreadyLoggedIn}": ${home}`);
    assert.ok(home.includes(user.name), 'home shows the user name');
    assert.ok((await b.page.locator('a[href="/dashboard"]').count()) > 0, 'home links to the dashboard');
    assert.ok((await b.page.locator('a[href="/account"]').count()) > 0, 'home links to the account');

    await logout(b);
    assert.ok(!(await b.text()).includes(TEXT.alreadyLoggedIn), 'after logout, home no longer says logged in');
    assert.ok((await b.page.locator('a[href="/login"]').count()) > 0, 'after logout, home links to /login');
    assert.ok((await b.page.locator('a[href="/register"]').count()) > 0, 'after logout, home links to /register');

    await b.goto('/dashboard', 'dashboard-after-logout');
    assert.equal(b.location(), '/login?next=%2Fdashboard');
    await b.goto('/download', 'download-after-logout');
    assert.equal(b.location(), '/login?next=%2Fdownload', 'the download needs a login too');
  });

  test('the favicon the browser asks for exists (else every page logs a console error)', async () => {
    const response = await fetch(`${env.app.url}/favicon.ico`);
    assert.ok(response.status < 400, `GET /favicon.ico answers ${response.status}: each page shows "Failed to load resource" in the console`);
  });

  test('a name is shown as text, never as markup', async (t) => {
    const context = await newContext(env.browser);
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'escaping');

    const user = newUser('Ada <b>Byron</b> & "Co"');
    await register(b, user);
    assert.ok((await b.text()).includes(TEXT.dashboard(user.name)), `the dashboard shows the name literally: ${await b.text()}`);
    assert.equal(await b.page.locator('b', { hasText: 'Byron' }).count(), 0, 'the name became a <b> element');
  });
});
