/**
 * Browser: a phone-sized viewport (375×667). No page scrolls sideways.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertNoHorizontalScroll,
  browserSkipReason,
  createUser,
  fillLogin,
  newContext,
  newUser,
  openOn,
  useAppAndBrowser,
} from './support.ts';

describe('e2e: mobile viewport', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();

  test('375×667: no page scrolls sideways', async (t) => {
    // A long name and email: the pages that show them must wrap, not overflow.
    const user = newUser('Hubert Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft');
    await createUser(env.app, user);
    const context = await newContext(env.browser, { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'mobile');

    for (const page of ['/', '/register']) {
      await b.goto(page, page.slice(1) || 'home');
      await assertNoHorizontalScroll(b, page);
    }
    await b.goto('/login', 'login');
    await assertNoHorizontalScroll(b, '/login');
    await fillLogin(b, user.email, user.password);
    assert.equal(b.location(), '/dashboard');
    await assertNoHorizontalScroll(b, '/dashboard');
    await b.goto('/account', 'account');
    await assertNoHorizontalScroll(b, '/account');
    await b.goto('/', 'home-logged-in');
    await assertNoHorizontalScroll(b, '/ (logged in)');
  });
});
