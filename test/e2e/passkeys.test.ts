/**
 * Browser: passkeys driven as a person would, in Chromium with a virtual authenticator attached
 * through the DevTools protocol (`WebAuthn.addVirtualAuthenticator`: CTAP2, internal, resident keys,
 * user verification that succeeds), the platform authenticator of a laptop with a fingerprint
 * reader. Add a passkey from the account page, log out, log in with the passkey alone; log in with
 * the password and then the passkey as the second step; remove it. The pages' scripts are files of
 * the app (no CSP violation, no console error: `snap` fails on either, SEC-64).
 *
 * Browsers refuse an IP address as RP ID, so this app runs on `localhost` (PUBLIC_URL's host). The
 * steps run in order on one page, whose authenticator holds the passkey between them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, CDPSession, Locator } from 'playwright-core';
import {
  TEXT,
  browserSkipReason,
  fillLogin,
  launchBrowser,
  logout,
  newContext,
  newUser,
  openOn,
  register,
  startApp,
  type Browsing,
  type RunningApp,
} from './support.ts';

/** Clicks a passkey button and waits for the page the script goes to. */
async function usePasskey(b: Browsing, button: Locator, path: string, step: string): Promise<void> {
  await button.waitFor({ state: 'visible' }); // the script shows it once it finds WebAuthn
  const navigated = b.page.waitForEvent('framenavigated', { predicate: (frame) => frame === b.page.mainFrame() });
  await button.click();
  await navigated.catch(async (error: Error) => {
    const said = await b.page.locator('.passkey-status').allInnerTexts().catch(() => []);
    throw new Error(`no page after the passkey at step "${step}" (the page says: ${said.join(' ').trim() || 'nothing'}): ${error.message}`);
  });
  await b.page.waitForLoadState('load');
  assert.equal(new URL(b.page.url()).pathname, path);
  await b.snap(step);
}

describe('e2e: passkeys with a virtual authenticator', { skip: browserSkipReason() }, () => {
  const user = newUser('Grace');
  const state: { app?: RunningApp; browser?: Browser; context?: BrowserContext; b?: Browsing; cdp?: CDPSession; authenticatorId?: string } = {};

  before(async () => {
    state.app = await startApp({ HOST: 'localhost' });
    assert.match(state.app.url, /^http:\/\/localhost:\d+$/);
    state.browser = await launchBrowser();
    state.context = await newContext(state.browser);
    state.b = await openOn(state.app, state.context, 'passkeys');
    state.cdp = await state.context.newCDPSession(state.b.page);
    await state.cdp.send('WebAuthn.enable');
    const added = await state.cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    state.authenticatorId = added.authenticatorId;
  });
  after(async () => {
    await state.context?.close();
    await state.browser?.close();
    await state.app?.stop();
  });

  test('SEC-82, SEC-84: register → account → name a passkey and add it (the authenticator now holds a discoverable credential) → it is listed', async () => {
    const b = state.b!;
    await register(b, user);
    await b.goto('/account', 'account');
    await b.page.getByLabel('Name of a new passkey').fill('Grace laptop');
    await usePasskey(b, b.page.getByRole('button', { name: 'Add a passkey' }), '/account', 'passkey-added');
    const item = b.page.locator('li.passkey');
    assert.equal(await item.count(), 1);
    assert.match(await item.innerText(), /Grace laptop[\s\S]*never used/);
    const { credentials } = await state.cdp!.send('WebAuthn.getCredentials', { authenticatorId: state.authenticatorId! });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]!.isResidentCredential, true, 'a discoverable credential (SEC-82)');
    assert.equal(credentials[0]!.rpId, 'localhost');
    await logout(b);
  });

  test('SEC-82, SEC-84: log in with the passkey alone from the login page: the dashboard; the session says "passkey"', async () => {
    const b = state.b!;
    await b.goto('/login', 'login-form');
    await usePasskey(b, b.page.getByRole('button', { name: 'Log in with a passkey' }), '/dashboard', 'logged-in-with-passkey');
    assert.ok((await b.text()).includes(TEXT.dashboard(user.name)), await b.text());
    await b.goto('/account', 'account-passkey-session');
    assert.match(await b.page.locator('li.session.current .methods').innerText(), /with passkey$/);
    assert.match(await b.page.locator('li.passkey').innerText(), /last used/);
    await logout(b);
  });

  test('SEC-80, SEC-84: the password is a pending step offering "Use a passkey"; the passkey completes it (password + passkey)', async () => {
    const b = state.b!;
    await b.goto('/login', 'login-form');
    const response = await fillLogin(b, user.email, user.password);
    assert.equal(response.status(), 303);
    assert.equal(b.location(), '/login/two-factor');
    assert.equal(await b.page.locator('input[name="code"]').count(), 0, 'no code field without an authenticator app');
    await usePasskey(b, b.page.getByRole('button', { name: 'Use a passkey' }), '/dashboard', 'second-step-with-passkey');
    assert.ok((await b.text()).includes(TEXT.dashboard(user.name)));
    await b.goto('/account', 'account-two-factor-session');
    assert.match(await b.page.locator('li.session.current .methods').innerText(), /with password \+ passkey$/);
  });

  test('SEC-84: with that fresh login, remove the passkey; the password alone logs in again', async () => {
    const b = state.b!;
    const removed = await b.submit(b.page.getByRole('button', { name: 'Remove passkey' }), 'passkey-removed');
    assert.equal(removed.status(), 303);
    assert.equal(b.location(), '/account');
    assert.ok((await b.text()).includes('Passkey removed.'));
    assert.equal(await b.page.locator('li.passkey').count(), 0);
    await logout(b);
    await b.goto('/login', 'login-form');
    const login = await fillLogin(b, user.email, user.password);
    assert.equal(login.status(), 303);
    assert.equal(b.location(), '/dashboard');
  });
});
