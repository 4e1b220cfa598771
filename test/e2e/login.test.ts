/**
 * Browser: protected pages send anonymous visitors to the login page and back through `next`;
 * a flash is shown once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TEXT,
  browserSkipReason,
  createUser,
  fillLogin,
  newContext,
  newUser,
  openOn,
  useAppAndBrowser,
} from './support.ts';

describe('e2e: login', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();

  test('anonymous /dashboard → login with next → back to /dashboard', async (t) => {
    const user = newUser('Grace');
    await createUser(env.app, user);
    const context = await newContext(env.browser);
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'next');

    const response = await b.goto('/dashboard', 'dashboard-anonymous');
    const redirect = await response?.request().redirectedFrom()?.response();
    assert.ok(redirect && [302, 303].includes(redirect.status()), `GET /dashboard redirects with 302 or 303, not ${redirect?.status()}`);
    assert.equal(b.location(), '/login?next=%2Fdashboard');
    assert.ok((await b.text()).includes(TEXT.loginRequired), `the login page flashes "${TEXT.loginRequired}"`);

    const login = await fillLogin(b, user.email, user.password);
    assert.equal(login.status(), 303);
    assert.equal(b.location(), '/dashboard', 'the login went back to next');
    assert.ok((await b.text()).includes(TEXT.dashboard(user.name)));
  });

  test('a flash is shown once', async (t) => {
    const user = newUser('Flash');
    await createUser(env.app, user);
    const context = await newContext(env.browser);
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'flash');

    // A flash carried through a redirect.
    await b.goto('/dashboard', 'redirected-with-flash');
    assert.ok((await b.text()).includes(TEXT.loginRequired));
    await b.reload('reloaded');
    assert.equal(b.location(), '/login?next=%2Fdashboard');
    assert.ok(!(await b.text()).includes(TEXT.loginRequired), 'the flash came back on reload');

    // A failed login.
    await b.goto('/login', 'login-form');
    b.allowConsoleError(/status of 401/);
    const failed = await fillLogin(b, user.email, 'not the password at all');
    assert.ok([303, 401].includes(failed.status()), `a failed login answers 303 or 401, not ${failed.status()}`);
    t.diagnostic(`a failed login answers ${failed.status()}`);
    assert.ok((await b.text()).includes(TEXT.invalidLogin), `the page says "${TEXT.invalidLogin}"`);
    // The failed login is answered in place (a 401 page at /login), so the browser's reload
    // would post the form again; what the user does is open the login page again.
    await b.goto(b.location(), 'failed-login-reopened');
    assert.ok(!(await b.text()).includes(TEXT.invalidLogin), 'the flash came back on reload');
  });
});
