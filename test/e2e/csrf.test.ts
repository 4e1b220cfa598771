/**
 * Browser: every form carries its CSRF token, and a form submitted without it is refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  browserSkipReason,
  createUser,
  formWith,
  login,
  newContext,
  newUser,
  openOn,
  submitButton,
  type Browsing,
  useAppAndBrowser,
} from './support.ts';

/** Asserts that every POST form on the page has a non-empty hidden `_csrf`. */
async function assertTokens(b: Browsing, page: string): Promise<number> {
  const forms = await b.page.locator('form').evaluateAll((all) =>
    all.map((form) => ({
      action: form.getAttribute('action'),
      method: (form.getAttribute('method') ?? 'get').toLowerCase(),
      token: (form.querySelector('input[name="_csrf"]') as HTMLInputElement | null)?.value ?? null,
      hidden: (form.querySelector('input[name="_csrf"]') as HTMLInputElement | null)?.type === 'hidden',
    })),
  );
  const posts = forms.filter((f) => f.method === 'post');
  for (const form of posts) {
    assert.ok(form.token && form.token.length >= 16, `${page}: the form to ${form.action} has a _csrf token`);
    assert.ok(form.hidden, `${page}: the _csrf of the form to ${form.action} is a hidden input`);
  }
  return posts.length;
}

async function dropToken(b: Browsing): Promise<void> {
  const removed = await b.page.evaluate(() => {
    const inputs = document.querySelectorAll('input[name="_csrf"]');
    inputs.forEach((input) => input.remove());
    return inputs.length;
  });
  assert.ok(removed >= 1, 'the page had a _csrf input to remove');
}

describe('e2e: CSRF', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();

  test('every form carries a hidden _csrf token', async (t) => {
    const user = newUser('Token');
    await createUser(env.app, user);
    const context = await newContext(env.browser);
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'csrf-tokens');

    await b.goto('/register', 'register');
    assert.ok((await assertTokens(b, '/register')) >= 1);
    await login(b, user);
    for (const page of ['/', '/dashboard', '/account']) {
      await b.goto(page, page.slice(1) || 'home');
      assert.ok((await assertTokens(b, page)) >= 1, `${page} has at least one POST form (logout)`);
    }
  });

  test('the login form without its token is refused with 403', async (t) => {
    const user = newUser('Csrf');
    await createUser(env.app, user);
    const context = await newContext(env.browser);
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'csrf-login');

    await b.goto('/login', 'login-form');
    await dropToken(b);
    const form = formWith(b, 'login');
    await form.locator('[name="login"]').fill(user.email);
    await form.locator('[name="password"]').fill(user.password);
    b.allowConsoleError(/status of 403/);
    const response = await b.submit(submitButton(form), 'refused');
    assert.equal(response.status(), 403, `a login form without _csrf answers 403, not ${response.status()}`);

    await b.goto('/dashboard', 'not-logged-in');
    assert.equal(b.location(), '/login?next=%2Fdashboard', 'the refused login did not log in');
  });

  test('the registration form without its token is refused with 403', async (t) => {
    const user = newUser('Csrfreg');
    const context = await newContext(env.browser);
    t.after(() => context.close());
    const b = await openOn(env.app, context, 'csrf-register');

    await b.goto('/register', 'register-form');
    await dropToken(b);
    const form = formWith(b, 'email');
    await form.locator('[name="email"]').fill(user.email);
    await form.locator('[name="name"]').fill(user.name);
    await form.locator('[name="password"]').fill(user.password);
    b.allowConsoleError(/status of 403/);
    const response = await b.submit(submitButton(form), 'refused');
    assert.equal(response.status(), 403, `a registration form without _csrf answers 403, not ${response.status()}`);

    // No account was made: registering the same email now works.
    await createUser(env.app, user);
  });
});
