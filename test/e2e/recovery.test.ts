/**
 * Browser: the ways back into an account, driven through the real pages as a person would (issue
 * 13). Mail goes over SMTP to a real server in this process (`smtp-server`, each message parsed
 * with `mailparser`, test/app/smtp.ts): the app is started with `SMTP_URL`, exactly as an operator
 * would, and the links are taken from the messages that arrived.
 *
 * - forgot password → mail → link → new password: the token leaves the address bar at once
 *   (SEC-59), a browser logged in before is logged out (SEC-33, SEC-60), only the new password
 *   logs in;
 * - `EMAIL_VERIFICATION=required`: register → mail → the one-button page (GET consumes nothing,
 *   SEC-42) → verified → log in (SEC-15, SEC-61, SEC-62);
 * - change email from the account page: a link to the new address, a notice to the old one, the
 *   address changes only on confirmation (SEC-63, SEC-71).
 *
 * Each test starts its own SMTP server and app (the settings differ); the browser is shared.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ParsedMail } from 'mailparser';
import { startSmtp, type SmtpSink } from '../app/smtp.ts';
import {
  TEXT,
  browserSkipReason,
  createUser,
  fillLogin,
  formWith,
  launchBrowser,
  login,
  logout,
  newContext,
  newUser,
  openOn,
  type Browsing,
  type RunningApp,
  startApp,
  submitButton,
  type TestUser,
} from './support.ts';

const MAIL_TIMEOUT = 10_000;

/** An app whose mail goes to a fresh SMTP server; both stop after the test. */
async function mailedApp(t: TestContext, env: Record<string, string> = {}): Promise<{ app: RunningApp; smtp: SmtpSink }> {
  const smtp = await startSmtp(t);
  const app = await startApp({ SMTP_URL: smtp.url, ...env });
  t.after(() => app.stop());
  return { app, smtp };
}

/** The messages `mailTo` has handed out already. */
const taken = new WeakSet<ParsedMail>();

/**
 * The next message to `to` that `wanted` accepts and no earlier call took. Messages arrive in the
 * background (the app never waits for its mail), so this waits for it.
 */
async function mailTo(smtp: SmtpSink, to: string, wanted: (mail: ParsedMail) => boolean, what: string): Promise<ParsedMail> {
  const deadline = Date.now() + MAIL_TIMEOUT;
  for (;;) {
    const found = smtp.received.find((r) => !taken.has(r.mail) && r.rcptTo.includes(to) && wanted(r.mail));
    if (found) {
      taken.add(found.mail);
      return found.mail;
    }
    if (Date.now() > deadline) {
      const seen = smtp.received.map((r) => `${r.rcptTo.join(',')}: ${r.mail.subject}`).join('; ');
      throw new Error(`no ${what} mail to ${to} arrived within ${MAIL_TIMEOUT / 1000} s (received: ${seen || 'nothing'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The lines of a mail's text/plain part that hold a URL. */
function links(mail: ParsedMail): string[] {
  return (mail.text ?? '').split(/\r?\n/).filter((line) => line.includes('://'));
}

/**
 * The next mail to `to` with a link to `app.url + path + TOKEN`; returns that link, after checking
 * that it stands alone on its line and is built from the app's origin (the app's HTTP contract, SEC-58).
 */
async function linkMailedTo(smtp: SmtpSink, app: RunningApp, to: string, path: string): Promise<string> {
  const mail = await mailTo(smtp, to, (m) => links(m).some((line) => line.includes(path)), `${path}… link`);
  const [link, ...more] = links(mail).filter((line) => line.includes(path));
  assert.equal(more.length, 0, `one ${path} link per mail:\n${mail.text}`);
  assert.match(link!, new RegExp(`^${app.url.replace(/[.]/g, '\\.')}${path}[A-Za-z0-9_-]{43}$`), `the link is alone on its line, on the app's origin:\n${mail.text}`);
  return link!;
}

/**
 * Watches what `b`'s page sends from now on for the token of `link` (SEC-59): a request other than
 * the link itself with the token in its address, or any request with it in its `Referer`. The
 * answer is read once the flow is over.
 */
function watchForToken(b: Browsing, link: string): () => Promise<string[]> {
  const token = link.slice(link.lastIndexOf('/') + 1);
  const found: Array<Promise<string | null>> = [];
  b.page.on('request', (request) => {
    found.push(
      request.allHeaders().then(
        (headers) => {
          if ((headers.referer ?? '').includes(token)) return `the Referer of ${request.method()} ${request.url()}`;
          if (request.url() !== link && request.url().includes(token)) return `the address of ${request.method()} ${request.url()}`;
          return null;
        },
        (error: Error) => `the headers of ${request.method()} ${request.url()} could not be read: ${error.message}`,
      ),
    );
  });
  return async () => (await Promise.all(found)).filter((leak) => leak !== null);
}

/** Fills the registration form on /register and submits it; returns the POST's answer. */
async function fillRegistration(b: Browsing, user: TestUser, step: string) {
  await b.goto('/register', `${step}-form`);
  const form = formWith(b, 'email');
  await form.locator('[name="email"]').fill(user.email);
  await form.locator('[name="name"]').fill(user.name);
  await form.locator('[name="password"]').fill(user.password);
  return b.submit(submitButton(form), step);
}

/** The login form on /login, filled and submitted, expected to be refused with `status`. */
async function refusedLogin(b: Browsing, login: string, password: string, status: 401 | 403): Promise<string> {
  await b.goto('/login', 'login-form');
  b.allowConsoleError(new RegExp(`status of ${status}`));
  const response = await fillLogin(b, login, password);
  assert.equal(response.status(), status, `the login answered ${response.status()}: ${await b.text()}`);
  assert.equal(new URL(b.page.url()).pathname, '/login', 'a refused login stays on the login page');
  return b.text();
}

describe('e2e: recovery, verification, email change', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  async function browsing(t: TestContext, app: RunningApp, name: string): Promise<Browsing> {
    const context = await newContext(browser);
    t.after(() => context.close());
    return openOn(app, context, name);
  }

  test('SEC-59, SEC-60, SEC-33, SEC-42, SEC-57, SEC-71: forgot password → mail → the link leaves the address bar → new password; a browser logged in before is logged out, only the new password logs in', async (t) => {
    const { app, smtp } = await mailedApp(t);
    const user = newUser('Reset');
    await createUser(app, user);

    // Logged in before the reset, with remember me: neither its session nor its remember-me
    // login may survive (SEC-33), or its next page would be the dashboard.
    const earlier = await browsing(t, app, 'reset-logged-in-before');
    await login(earlier, user, true);
    const persistent = (await earlier.page.context().cookies()).filter((cookie) => cookie.expires > 0);
    assert.ok(persistent.length >= 1, 'the browser logged in before holds a remember-me cookie');

    // Anonymous: from the login page's link to the forgot-password form.
    const b = await browsing(t, app, 'reset');
    await b.goto('/login', 'login-form');
    await Promise.all([b.page.waitForURL((url) => url.pathname === '/forgot-password'), b.page.getByRole('link', { name: /forgot your password/i }).click()]);
    await b.snap('forgot-form');
    const forgot = formWith(b, 'email');
    await forgot.locator('[name="email"]').fill(user.email);
    const requested = await b.submit(submitButton(forgot), 'reset-requested');
    assert.equal(requested.status(), 303);
    assert.equal(b.location(), '/login');
    assert.ok((await b.text()).includes(TEXT.resetRequested), `the login page says "${TEXT.resetRequested}": ${await b.text()}`);

    const link = await linkMailedTo(smtp, app, user.email, '/reset-password/');
    const token = link.slice(link.lastIndexOf('/') + 1);

    // A mail scanner follows the link first: a GET consumes nothing (SEC-42).
    const scanned = await fetch(link, { redirect: 'manual' });
    assert.equal(scanned.status, 303, 'the scanner\'s GET of the link is answered as any GET of it');

    // SEC-59: the browser lands on a token-free address (the token held in a cookie), and from
    // then on the token is in no address and no Referer the browser sends.
    const leaks = watchForToken(b, link);
    const opened = await b.goto(link, 'reset-form');
    const hop = opened?.request().redirectedFrom();
    assert.equal(hop?.url(), link, 'the link redirected');
    assert.equal((await hop!.response())?.status(), 303);
    assert.equal(b.location(), '/reset-password', 'the form is shown at an address without the token');
    assert.ok(!b.page.url().includes(token), 'the token is gone from the address bar');
    assert.ok(!(await b.page.content()).includes(token), 'the token is not in the page');

    const newPassword = newUser().password;
    const form = formWith(b, 'password');
    await form.locator('[name="password"]').fill(newPassword);
    const reset = await b.submit(submitButton(form), 'password-reset');
    assert.equal(reset.status(), 303);
    assert.equal(b.location(), '/login', 'no login after a reset (SEC-60)');
    assert.ok((await b.text()).includes(TEXT.resetDone), `the login page says "${TEXT.resetDone}": ${await b.text()}`);
    assert.deepEqual(await leaks(), [], 'the reset token leaked (SEC-59)');

    // SEC-71: the owner is told.
    await mailTo(smtp, user.email, (m) => /password was changed/i.test(m.subject ?? ''), '"password changed" notice');

    // SEC-33, SEC-60: the browser logged in before is logged out, remember-me login and all.
    await earlier.goto('/dashboard', 'after-reset');
    assert.equal(earlier.location(), '/login?next=%2Fdashboard', 'the browser logged in before is sent to the login page');
    assert.ok((await earlier.text()).includes(TEXT.loginRequired));

    // SEC-57: the link works once.
    b.allowConsoleError(/status of 400/);
    const again = await b.goto(link, 'link-used-again');
    assert.equal(again?.status(), 400);
    assert.ok((await b.text()).includes(TEXT.invalidLink), `a used link says "${TEXT.invalidLink}": ${await b.text()}`);
    assert.ok((await b.page.locator('a[href="/forgot-password"]').count()) > 0, 'the page of a used link offers a new one');

    // The old password no longer logs in; the new one does.
    assert.ok((await refusedLogin(b, user.email, user.password, 401)).includes(TEXT.invalidLogin));
    user.password = newPassword;
    await login(b, user);
  });

  test('SEC-15, SEC-42, SEC-61, SEC-62: with EMAIL_VERIFICATION=required, register → "check your inbox" → login refused until the mailed link\'s button is pressed → login', async (t) => {
    const { app, smtp } = await mailedApp(t, { EMAIL_VERIFICATION: 'required' });
    const user = newUser('Verify');
    const b = await browsing(t, app, 'verify');

    const registered = await fillRegistration(b, user, 'registered');
    assert.equal(registered.status(), 303);
    assert.equal(b.location(), '/login', 'registration does not log in before verification (SEC-15)');
    assert.ok((await b.text()).includes(TEXT.registrationPending), `the login page says "${TEXT.registrationPending}": ${await b.text()}`);

    // SEC-15, as the attacker probing whether an address is registered: the same answer.
    const probe = await fillRegistration(b, { ...user, name: 'Mallory', password: newUser().password }, 'registered-again');
    assert.equal(probe.status(), 303);
    assert.equal(b.location(), '/login');
    assert.ok((await b.text()).includes(TEXT.registrationPending), 'a registered address gets the same answer');
    await mailTo(smtp, user.email, (m) => /tried to sign up/i.test(m.subject ?? ''), '"someone tried to sign up"');

    // SEC-62: "verify first" only after the right password; a wrong one is the usual refusal.
    assert.ok((await refusedLogin(b, user.email, 'not the password at all', 401)).includes(TEXT.invalidLogin));
    const refused = await refusedLogin(b, user.email, user.password, 403);
    assert.ok(refused.includes(TEXT.unverified), `the login page says "${TEXT.unverified}": ${refused}`);

    const link = await linkMailedTo(smtp, app, user.email, '/verify-email/');

    // SEC-42: a mail scanner's GETs, then the user's, consume nothing and verify nothing.
    for (let i = 0; i < 2; i++) assert.equal((await fetch(link)).status, 200);
    const leaks = watchForToken(b, link);
    await b.goto(link, 'verify-page');
    assert.equal(await b.page.locator('form').filter({ has: b.page.locator('[name="token"]') }).count(), 1, 'the page has one form with the token');
    const button = b.page.getByRole('button', { name: /verify/i });
    assert.equal(await button.count(), 1, 'the page has one verify button');
    const other = await browsing(t, app, 'verify-not-yet');
    assert.ok((await refusedLogin(other, user.email, user.password, 403)).includes(TEXT.unverified), 'opening the link verified nothing');

    const verified = await b.submit(button, 'verified');
    assert.equal(verified.status(), 303);
    assert.equal(b.location(), '/login');
    assert.ok((await b.text()).includes(TEXT.verified), `the page says "${TEXT.verified}": ${await b.text()}`);
    assert.deepEqual(await leaks(), [], 'the verification token leaked (SEC-59): the page it is in sends no Referer with it');

    // SEC-61: the token was consumed by the POST, once.
    await b.goto(link, 'verify-page-again');
    b.allowConsoleError(/status of 400/);
    const again = await b.submit(b.page.getByRole('button', { name: /verify/i }), 'verified-again');
    assert.equal(again.status(), 400);
    assert.ok((await b.text()).includes(TEXT.invalidLink), `a used link says "${TEXT.invalidLink}": ${await b.text()}`);

    await login(b, user);
    assert.ok((await b.text()).includes(TEXT.dashboard(user.name)));
  });

  test('SEC-63, SEC-71: changing the email from the account page mails a link to the new address and a notice to the old one; the address changes only when the link is confirmed', async (t) => {
    const { app, smtp } = await mailedApp(t);
    const user = newUser('Moving');
    await createUser(app, user);
    const newEmail = newUser('Moved').email;
    const b = await browsing(t, app, 'email-change');
    await login(b, user); // fresh: the change needs it (SEC-63)

    await b.goto('/account', 'account');
    const form = b.page.locator('form[action="/account/email"]');
    assert.equal(await form.count(), 1, 'the account page has a change-email form');
    await form.locator('[name="email"]').fill(newEmail);
    const requested = await b.submit(submitButton(form), 'change-requested');
    assert.equal(requested.status(), 303);
    assert.equal(b.location(), '/account');
    assert.ok((await b.text()).includes(TEXT.emailChangeRequested), `the account page says "${TEXT.emailChangeRequested}": ${await b.text()}`);
    // SEC-63: pending until confirmed; the account keeps its address.
    assert.ok((await b.text()).includes(user.email), 'the account still shows the old address');

    const link = await linkMailedTo(smtp, app, newEmail, '/confirm-email/');
    // SEC-71, SEC-63: the old address is told, and its notice cannot confirm the change.
    const notice = await mailTo(smtp, user.email, (m) => /being changed/i.test(m.subject ?? ''), 'email-change notice');
    assert.ok(!(notice.text ?? '').includes('/confirm-email/'), `the notice to the old address carries no confirmation link:\n${notice.text}`);

    const leaks = watchForToken(b, link);
    await b.goto(link, 'confirm-page');
    const button = b.page.getByRole('button', { name: /confirm/i });
    assert.equal(await button.count(), 1, 'the page has one confirm button');
    const confirmed = await b.submit(button, 'confirmed');
    assert.equal(confirmed.status(), 303);
    assert.equal(b.location(), '/account');
    const account = await b.text();
    assert.ok(account.includes(newEmail), `the account page shows the new address: ${account}`);
    assert.ok(!account.includes(user.email), 'the old address is gone from the account page');
    assert.deepEqual(await leaks(), [], 'the email-change token leaked (SEC-59): the page it is in sends no Referer with it');

    await logout(b);
    assert.ok((await refusedLogin(b, user.email, user.password, 401)).includes(TEXT.invalidLogin), 'the old address no longer logs in');
    await login(b, { ...user, email: newEmail });
  });
});
