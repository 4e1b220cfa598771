/**
 * Browser: "remember me". A browser that kept only the persistent cookies (it was closed and
 * reopened) is still logged in, but not freshly: changing the password asks for it again.
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
  type Browsing,
  useAppAndBrowser,
} from './support.ts';

async function changePassword(b: Browsing, current: string, next: string, step: string) {
  const form = formWith(b, 'new_password');
  await form.locator('[name="current_password"]').fill(current);
  await form.locator('[name="new_password"]').fill(next);
  return b.submit(submitButton(form), step);
}

describe('e2e: remember me', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();

  test('a remembered login survives the browser, but is not fresh', async (t) => {
    const user = newUser('Remy');
    await createUser(env.app, user);

    const first = await newContext(env.browser);
    t.after(() => first.close());
    const a = await openOn(env.app, first, 'remember-first');
    await login(a, user, true);

    const cookies = await first.cookies();
    const persistent = cookies.filter((c) => c.expires > 0);
    const session = cookies.filter((c) => c.expires <= 0);
    assert.ok(persistent.length >= 1, `remember me sets a persistent cookie: ${JSON.stringify(cookies)}`);
    assert.ok(session.length >= 1, `the session cookie is a browser-session cookie: ${JSON.stringify(cookies)}`);
    for (const cookie of cookies) {
      assert.equal(cookie.httpOnly, true, `${cookie.name} is HttpOnly`);
      assert.equal(cookie.sameSite, 'Lax', `${cookie.name} is SameSite=Lax`);
      assert.equal(cookie.path, '/', `${cookie.name} has Path=/`);
    }
    const days = (Math.min(...persistent.map((c) => c.expires)) - Date.now() / 1000) / 86_400;
    assert.ok(days > 1 && days <= 30.01, `the remember cookie lasts at most 30 days, not ${days.toFixed(1)}`);

    // The browser is closed and opened again: only the persistent cookies are left.
    const second = await newContext(env.browser);
    t.after(() => second.close());
    await second.addCookies(persistent);
    const b = await openOn(env.app, second, 'remember-second');
    await b.goto('/dashboard', 'dashboard-remembered');
    assert.equal(b.location(), '/dashboard', 'the remember cookie restores the login');
    assert.ok((await b.text()).includes(TEXT.dashboard(user.name)));

    // Not fresh: changing the password needs the password again.
    await b.goto('/account', 'account-remembered');
    assert.equal(b.location(), '/account', 'viewing the account needs a login, not a fresh one');
    const newPassword = `${user.password} renewed`;
    const refused = await changePassword(b, user.password, newPassword, 'change-password-not-fresh');
    assert.ok([302, 303].includes(refused.status()), `a non-fresh password change redirects, not ${refused.status()}`);
    const reauth = new URL(b.page.url());
    assert.equal(reauth.pathname, '/reauth', `a non-fresh password change goes to /reauth, not ${b.location()}`);
    const next = reauth.searchParams.get('next');
    assert.ok(next?.startsWith('/'), `/reauth carries a local next: ${b.location()}`);
    assert.ok((await b.text()).includes(TEXT.reauthRequired), `/reauth flashes "${TEXT.reauthRequired}"`);

    const reauthForm = formWith(b, 'password');
    await reauthForm.locator('[name="password"]').fill(user.password);
    const confirmed = await b.submit(submitButton(reauthForm), 'reauthenticated');
    assert.equal(confirmed.status(), 303);
    // next names the POST-only /account/password; the app lands on its page, /account.
    assert.equal(new URL(b.page.url()).pathname, '/account', `reauth goes back to the account page (next was ${next})`);

    const changed = await changePassword(b, user.password, newPassword, 'password-changed');
    assert.equal(changed.status(), 303, `the fresh password change is accepted: ${await b.text()}`);
    assert.notEqual(new URL(b.page.url()).pathname, '/reauth');
    user.password = newPassword;

    // This browser stays logged in; the first one's session and remember login are revoked.
    await b.goto('/dashboard', 'dashboard-after-change');
    assert.equal(b.location(), '/dashboard', 'the browser that changed the password stays logged in');
    await a.goto('/dashboard', 'first-after-change');
    assert.equal(a.location(), '/login?next=%2Fdashboard', 'a password change ends the other sessions');

    // The new password logs in, the old one does not.
    const third = await newContext(env.browser);
    t.after(() => third.close());
    const c = await openOn(env.app, third, 'remember-new-password');
    await c.goto('/login', 'login-form');
    c.allowConsoleError(/status of 401/);
    await fillLogin(c, user.email, user.password.replace(/ renewed$/, ''));
    assert.ok((await c.text()).includes(TEXT.invalidLogin), 'the old password is refused');
    await login(c, user);
  });
});
