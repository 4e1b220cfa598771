/**
 * Browser: one user in two browsers. The first ends the second's session from the account
 * page; the second's next page is the login page.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TEXT,
  browserSkipReason,
  createUser,
  login,
  newContext,
  newUser,
  openOn,
  submitButton,
  type Browsing,
  useAppAndBrowser,
} from './support.ts';

describe('e2e: sessions', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();

  /** The same new user, logged in in two browsers; `a` is on its account page. */
  async function twoBrowsers(t: { after(fn: () => Promise<void>): void }, name: string): Promise<[Browsing, Browsing]> {
    const user = newUser(name);
    await createUser(env.app, user);
    const first = await newContext(env.browser);
    t.after(() => first.close());
    const second = await newContext(env.browser, { userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1' });
    t.after(() => second.close());
    const a = await openOn(env.app, first, `${name}-first`);
    const b = await openOn(env.app, second, `${name}-second`);
    await login(a, user);
    await login(b, user);
    await a.goto('/account', 'account');
    assert.equal(a.location(), '/account');
    return [a, b];
  }

  test('"log out other sessions" ends the other browser\'s session', async (t) => {
    const [a, b] = await twoBrowsers(t, 'others');
    const form = a.page.locator('form[action$="/account/sessions/revoke-others"]');
    assert.equal(await form.count(), 1, 'the account page has a "log out other sessions" form');
    const response = await a.submit(submitButton(form), 'revoked-others');
    assert.equal(response.status(), 303);

    await b.goto('/dashboard', 'after-revoke');
    assert.equal(b.location(), '/login?next=%2Fdashboard', 'the revoked browser is sent to the login page');
    assert.ok((await b.text()).includes(TEXT.loginRequired));
    await a.goto('/dashboard', 'still-logged-in');
    assert.equal(a.location(), '/dashboard', 'the browser that revoked the others stays logged in');
  });

  test('the per-session button ends that session only', async (t) => {
    const [a, b] = await twoBrowsers(t, 'one');
    const forms = a.page.locator('form[action*="/account/sessions/"][action$="/revoke"]');
    assert.ok((await forms.count()) >= 1, 'the account page has revoke buttons for the other sessions');
    // The second browser is the iPhone (its user agent); the JSON registration left a third session.
    const form = a.page.locator('li, tr').filter({ hasText: /iPhone/ }).locator('form[action*="/account/sessions/"][action$="/revoke"]');
    assert.equal(await form.count(), 1, 'the iPhone session has one revoke button');
    const response = await a.submit(submitButton(form), 'revoked-one');
    assert.equal(response.status(), 303);

    await b.goto('/dashboard', 'after-revoke');
    assert.equal(b.location(), '/login?next=%2Fdashboard', 'the revoked browser is sent to the login page');
    await a.goto('/account', 'still-logged-in');
    assert.equal(a.location(), '/account', 'the browser that revoked the session stays logged in');
    assert.equal(await a.page.locator('li, tr').filter({ hasText: /iPhone/ }).count(), 0, 'the revoked session is no longer listed');
  });
});
