/**
 * Browser: every page of the reference app checked by axe-core against WCAG 2.2 AA (tags wcag2a,
 * wcag2aa, wcag21a, wcag21aa, wcag22aa), in light and dark colour schemes and at desktop and phone
 * sizes: home, register, login (and a refused login with its flash), forgot and reset password,
 * the invalid-link page, the dashboard, the account page (and its confirmation card after
 * re-authenticating), re-authentication, the authenticator setup, the recovery codes, the
 * two-factor step, the verification page, and the 403, 404 and 405 pages. A violation fails the
 * test, printed with its id, impact, target and help.
 *
 * axe is injected as a script tag, which the app's CSP (`default-src 'none'`, no script) forbids:
 * these contexts bypass the CSP, which the other browser suites check.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { BrowserContextOptions } from 'playwright-core';
import { totpStep } from 'latchkey';
import {
  ROOT,
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
  type RunningApp,
} from './support.ts';

const AXE = join(ROOT, 'node_modules/axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** Runs axe on the current page; returns its violations, each with the nodes' targets. */
async function axe(b: Browsing): Promise<Violation[]> {
  await b.page.addScriptTag({ path: AXE });
  return b.page.evaluate(async (tags) => {
    const run = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe.run;
    const results = await run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return results.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.map(String).join(' ')) }));
  }, TAGS);
}

/** What a combination found, page by page. */
class Findings {
  readonly #lines: string[] = [];
  pages = 0;

  async check(b: Browsing, what: string): Promise<void> {
    await b.page.waitForLoadState('load');
    this.pages += 1;
    for (const v of await axe(b)) {
      this.#lines.push(`${what} (${b.location()}): ${v.id} [${v.impact}] ${v.help}\n    at ${v.targets.join('\n    at ')}`);
    }
  }

  assertNone(combination: string): void {
    if (this.#lines.length > 0) console.log(`# axe, ${combination}:\n${this.#lines.join('\n')}`);
    assert.deepEqual(this.#lines, [], `axe found violations (${combination})`);
  }
}

/** The newest link to `path` (`/verify-email`, `/reset-password`) in the development outbox for `to`. */
async function outboxLink(app: RunningApp, to: string, path: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const response = await fetch(`${app.url}/dev/outbox`, { headers: { accept: 'application/json' } });
    const { messages } = (await response.json()) as { messages: Array<{ to: string; links: string[] }> };
    for (const mail of [...messages].reverse()) {
      const link = mail.to === to && mail.links.find((l) => l.startsWith(`${app.url}${path}/`));
      if (link) return link.slice(app.url.length);
    }
    await new Promise((done) => setTimeout(done, 100)); // the mail queue is asynchronous
  }
  throw new Error(`no ${path} link mailed to ${to}`);
}

/** What an authenticator app shows for `secret` now (Debian's oathtool, independent of latchkey). */
function codeNow(secret: string): string {
  return execFileSync('oathtool', ['--totp', '-b', '-N', `@${totpStep(Date.now()) * 30}`, secret], { encoding: 'utf8' }).trim();
}

/** Every page, in the order a person meets them, checked as it is shown. */
async function visitEveryPage(app: RunningApp, b: Browsing, found: Findings): Promise<void> {
  const user = newUser('Ada');
  for (const [path, what] of [
    ['/', 'home'],
    ['/register', 'register'],
    ['/login', 'login'],
    ['/forgot-password', 'forgot password'],
    ['/reset-password/not-a-token', 'invalid link (400)'],
    ['/no-such-page', '404'],
    ['/logout', '405'],
  ] as const) {
    b.allowConsoleError(/status of (400|404|405)/); // the error pages' own status
    await b.goto(path, what.replace(/\W+/g, '-'));
    await found.check(b, what);
  }

  // A refused login: the flash, the title, the focus.
  await b.goto('/login', 'login-again');
  b.allowConsoleError(/status of 401/);
  await fillLogin(b, user.email, 'not the password at all');
  await found.check(b, 'refused login');

  // 403: a form whose token went stale.
  await b.goto('/login', 'login-stale');
  await b.page.locator('input[name="_csrf"]').first().evaluate((input) => ((input as HTMLInputElement).value = 'stale'));
  b.allowConsoleError(/status of 403/);
  await fillLogin(b, user.email, user.password);
  await found.check(b, '403');

  await register(b, user);
  await found.check(b, 'dashboard');
  await b.goto('/account', 'account');
  await found.check(b, 'account');
  await b.goto('/reauth?next=%2Faccount', 'reauth');
  await found.check(b, 'reauth');
  await b.goto('/account?confirm=revoke-others', 'account-confirm');
  await found.check(b, 'account after re-authentication');
  await b.goto(await outboxLink(app, user.email, '/verify-email'), 'verify');
  await found.check(b, 'verify email');

  await b.goto('/account', 'account-for-totp');
  await b.submit(submitButton(b.page.locator('form[action="/account/totp/setup"]').first()), 'totp-setup');
  await found.check(b, 'TOTP setup');
  const secret = (await b.page.locator('code.secret').innerText()).replace(/\s+/g, '');
  const form = formWith(b, 'code');
  await form.locator('[name="code"]').fill(codeNow(secret));
  await b.submit(submitButton(form), 'recovery-codes');
  await found.check(b, 'recovery codes');

  await logout(b);
  await b.goto('/login', 'login-2fa');
  await fillLogin(b, user.email, user.password);
  assert.equal(b.location(), '/login/two-factor');
  await found.check(b, 'two-factor step');

  await b.goto('/forgot-password', 'forgot');
  const forgot = formWith(b, 'email');
  await forgot.locator('[name="email"]').fill(user.email);
  await b.submit(submitButton(forgot), 'forgot-sent');
  await found.check(b, 'login with the reset flash');
  await b.goto(await outboxLink(app, user.email, '/reset-password'), 'reset');
  assert.equal(b.location(), '/reset-password');
  await found.check(b, 'reset password');
}

const COMBINATIONS: readonly { name: string; options: BrowserContextOptions }[] = [
  { name: 'light, desktop', options: { colorScheme: 'light', viewport: { width: 1280, height: 800 } } },
  { name: 'dark, desktop', options: { colorScheme: 'dark', viewport: { width: 1280, height: 800 } } },
  { name: 'light, phone', options: { colorScheme: 'light', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } },
  { name: 'dark, phone', options: { colorScheme: 'dark', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } },
];

describe('axe finds no WCAG 2.2 AA violation on any page', { skip: browserSkipReason() }, () => {
  const env = useAppAndBrowser();
  for (const { name, options } of COMBINATIONS) {
    test(`every page passes axe in ${name}`, async () => {
      const context = await newContext(env.browser, { ...options, bypassCSP: true });
      try {
        const b = await openOn(env.app, context, `axe ${name}`);
        const found = new Findings();
        await visitEveryPage(env.app, b, found);
        assert.ok(found.pages >= 19, `${found.pages} pages checked`);
        found.assertNone(name);
      } finally {
        await context.close();
      }
    });
  }
});
