/**
 * What the browser tests share: the reference app as a child process on a fresh data directory,
 * Chromium through playwright-core, and a page wrapper that screenshots every page it visits and
 * fails on console errors, uncaught page errors and CSP violations.
 *
 * The app is started exactly as `npm start` does (`node --conditions=source app/main.ts`), with
 * `PORT=0` and the real port read from the line it prints at start; a `NODE_ENV` or app setting
 * in the test runner's environment is not passed on. Chromium is Debian's `/usr/bin/chromium`
 * (no browser is ever downloaded): without it the browser suites are skipped with a printed
 * reason, except on CI (`CI=true`), where a missing browser is a failure.
 *
 * Screenshots go to `test-output/screenshots/<test>-<NN>-<step>.png`, full page.
 *
 * @module test/e2e/support
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { sparePort } from '../support/ports.ts';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page, Response } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');

/** How long to wait for one page, one click, one start. Generous, but a hang fails in seconds. */
export const STEP_TIMEOUT = 15_000;
const START_TIMEOUT = 30_000;
const STOP_TIMEOUT = 5_000;

/** The contract's visible texts (the app's HTTP contract), verbatim. */
export const TEXT = {
  loginRequired: 'Please log in to access this page.',
  reauthRequired: 'Please reauthenticate to access this page.',
  invalidLogin: 'Invalid username or password.',
  alreadyLoggedIn: 'You are already logged in',
  dashboard: (name: string) => `Hello, ${name}! Welcome to your dashboard.`,
  resetRequested: 'If that address is registered, we have sent a link to reset the password.',
  resetDone: 'Your password has been reset. Please log in.',
  invalidLink: 'This link is invalid or has expired.',
  registrationPending: 'Check your inbox to finish registering.',
  unverified: 'Please verify your email address first.',
  verified: 'Your email address is verified.',
  emailChangeRequested: 'Check your new address for a confirmation link.',
} as const;

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

/**
 * Why the browser suites cannot run here, or `false` when they can. On CI a missing browser
 * throws instead: there, a skipped suite would pass unnoticed.
 */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is missing (install Debian's chromium package); browser tests skipped`;
  if (process.env.CI === 'true') throw new Error(`${reason.replace(/; .*$/, '')}: the browser tests cannot run on CI without it`);
  console.log(`# e2e: ${reason}`);
  return reason;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    timeout: START_TIMEOUT,
  });
}

/** A new context with the test timeouts set. */
export async function newContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT);
  return context;
}

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

/** A running reference app. */
export interface RunningApp {
  /** Its origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly dataDir: string;
  /** Everything it printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 5 s); removes the data directory. */
  stop(): Promise<void>;
}

/** Settings of the app's own, never inherited from the test runner. */
const APP_VARIABLES = [
  'NODE_ENV', 'PORT', 'HOST', 'DATA_DIR', 'DATABASE_URL', 'SESSION_STORE', 'SECRET_KEY', 'PUBLIC_URL', 'TRUST_PROXY',
  'SESSION_IDLE_TIMEOUT', 'SESSION_ABSOLUTE_TIMEOUT', 'REMEMBER_DURATION', 'PASSWORD_MIN_LENGTH', 'SESSION_CACHE_TTL', 'USER_CACHE_TTL', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS',
  'SMTP_URL', 'MAIL_FROM', 'EMAIL_VERIFICATION', 'REGISTRATIONS_PER_HOUR', 'LOG_LEVEL',
];

const STARTED = /latchkey reference app on (https?:\/\/\S+)/;

/**
 * Starts the app on a fresh temporary `DATA_DIR`, on a port of the system's choosing, and waits
 * until `/healthz` answers 200. Should the app not honour `PORT=0` (it prints port 0, or its
 * origin is unreachable), it is started again on a free port picked here.
 */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
  try {
    let app = await spawnApp(dataDir, { PORT: '0', ...env });
    if (!(await healthy(app.url))) {
      await app.stop(false);
      app = await spawnApp(dataDir, { PORT: String(await sparePort()), ...env });
      assert.ok(await healthy(app.url), `the app printed ${app.url} but /healthz does not answer 200 there\n${app.output()}`);
    }
    return {
      url: app.url,
      dataDir,
      output: app.output,
      async stop() {
        await app.stop(true);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

interface Spawned {
  url: string;
  output(): string;
  stop(expectClean: boolean): Promise<void>;
}

async function spawnApp(dataDir: string, settings: Record<string, string>): Promise<Spawned> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of APP_VARIABLES) delete env[name];
  Object.assign(env, { HOST: '127.0.0.1', DATA_DIR: dataDir }, settings);

  const child = spawn(process.execPath, ['--conditions=source', 'app/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown')));

  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the app did not print "latchkey reference app on http://…" within ${START_TIMEOUT / 1000} s:\n${output}`)), START_TIMEOUT);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const match = STARTED.exec(output);
      if (match) {
        clearTimeout(timer);
        done(match[1] as string);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`the app exited (${code}) before it was ready:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await kill(child, exited);
    throw error;
  });

  return {
    url: url.replace(/\/$/, ''),
    output: () => output,
    async stop(expectClean) {
      const code = await kill(child, exited);
      if (expectClean && code !== 0 && code !== 'SIGTERM') console.log(`# e2e: the app exited with ${code} on SIGTERM:\n${output}`);
    },
  };
}

async function kill(child: ChildProcess, exited: Promise<number | string>): Promise<number | string> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

async function healthy(url: string): Promise<boolean> {
  if (new URL(url).port === '0') return false;
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}


// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

/**
 * A page that records every console error, uncaught exception and CSP violation, and takes a
 * full-page screenshot of each page visited (`snap`). `snap` also asserts that nothing bad was
 * recorded since the previous one.
 */
export class Browsing {
  readonly page: Page;
  /** The app's origin, against which `goto` paths resolve. */
  readonly base: string;
  readonly #test: string;
  #step = 0;
  /** Problems not yet reported by `snap`. */
  #problems: string[] = [];
  /** Console errors that the current step expects (e.g. the 403 of a refused form). */
  #allowed: RegExp[] = [];

  private constructor(page: Page, base: string, test: string) {
    this.page = page;
    this.base = base;
    this.#test = test;
  }

  static async open(context: BrowserContext, base: string, test: string): Promise<Browsing> {
    const page = await context.newPage();
    const browsing = new Browsing(page, base, test.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase());
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const from = message.location().url;
      // The browser's own favicon request is checked once, by its own test (register.test.ts),
      // rather than failing every page.
      if (from.endsWith('/favicon.ico')) return;
      const text = `console error on ${page.url()}: ${message.text()}${from && from !== page.url() ? ` (${from})` : ''}`;
      if (!browsing.#allowed.some((pattern) => pattern.test(message.text()))) browsing.#problems.push(text);
    });
    page.on('pageerror', (error) => browsing.#problems.push(`uncaught error on ${page.url()}: ${error.message}`));
    await page.exposeBinding('__latchkeyCspViolation', (_source, violation: string) => {
      browsing.#problems.push(`CSP violation on ${page.url()}: ${violation}`);
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        const report = (window as unknown as { __latchkeyCspViolation(v: string): void }).__latchkeyCspViolation;
        report(`${event.violatedDirective} blocked ${event.blockedURI || '(inline)'} at ${event.sourceFile}:${event.lineNumber}`);
      });
    });
    return browsing;
  }

  /** Lets console errors matching `pattern` pass until the next `snap`. */
  allowConsoleError(pattern: RegExp): void {
    this.#allowed.push(pattern);
  }

  /**
   * Screenshots the current page as `<test>-<NN>-<step>.png` and asserts that no console
   * error, uncaught exception or CSP violation happened since the previous snap.
   */
  async snap(step: string): Promise<void> {
    this.#step += 1;
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, `${this.#test}-${String(this.#step).padStart(2, '0')}-${step}.png`);
    await this.page.waitForLoadState('load');
    try {
      await this.page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
    } catch (error) {
      // Chromium now and then refuses one capture ("Unable to capture screenshot") under a loaded
      // machine; the screenshot is a record of the step, not what is tested, so it is tried once
      // more, and a second refusal fails the test as before.
      if (!/Unable to capture screenshot/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
      await this.page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
    }
    const problems = this.#problems;
    this.#problems = [];
    this.#allowed = [];
    assert.deepEqual(problems, [], `problems on the page at step "${step}" (${this.page.url()})`);
  }

  async goto(path: string, step: string): Promise<Response | null> {
    const response = await this.page.goto(new URL(path, this.base).href);
    await this.snap(step);
    return response;
  }

  async reload(step: string): Promise<Response | null> {
    const response = await this.page.reload();
    await this.snap(step);
    return response;
  }

  /** The path and query of the current page, e.g. `/login?next=%2Fdashboard`. */
  location(): string {
    const url = new URL(this.page.url());
    return url.pathname + url.search;
  }

  /** The page's visible text, whitespace collapsed. */
  async text(): Promise<string> {
    return (await this.page.locator('body').innerText()).replace(/\s+/g, ' ');
  }

  /**
   * Submits the form holding `button` and waits for the navigation it causes; returns the
   * response of the POST itself (before any redirect), so its status can be checked.
   */
  async submit(button: Locator, step: string): Promise<Response> {
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()).catch(async (error: Error) => {
        // Most likely the browser's own form validation stopped the submission: say which field.
        const invalid = await this.page
          .locator('form :invalid')
          .evaluateAll((fields) => fields.map((f) => `${f.getAttribute('name')}: ${(f as HTMLInputElement).validationMessage}`))
          .catch(() => []);
        throw new Error(`the form was not submitted at step "${step}"${invalid.length ? ` (invalid: ${invalid.join('; ')})` : ''}: ${error.message}`);
      }),
      button.click(),
    ]);
    await this.page.waitForLoadState('load');
    await this.snap(step);
    return response;
  }
}

/** Opens a page on `app`: its `goto` paths resolve against the app's origin. */
export function openOn(app: RunningApp, context: BrowserContext, test: string): Promise<Browsing> {
  return Browsing.open(context, app.url, test);
}

/** The button that submits `form` (a `<button>` without a type is a submit button). */
export function submitButton(form: Locator): Locator {
  return form.locator('button:not([type="button"]):not([type="reset"]), input[type="submit"]').first();
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

export interface TestUser {
  readonly email: string;
  readonly name: string;
  password: string;
}

/** A new user with a unique email and a password that passes the default policy (15+, not common). */
export function newUser(name = 'Ada'): TestUser {
  const tag = randomBytes(4).toString('hex');
  const local = name.toLowerCase().replace(/[^a-z]/g, '').slice(0, 40) || 'user';
  return { email: `${local}-${tag}@example.test`, name, password: `plum tractor ${tag} velvet` };
}

/** The form on the current page that has a field named `field`. */
export function formWith(b: Browsing, field: string): Locator {
  return b.page.locator('form').filter({ has: b.page.locator(`[name="${field}"]`) }).first();
}

/** Fills the registration form and submits it; the browser lands on /dashboard. */
export async function register(b: Browsing, user: TestUser): Promise<void> {
  await b.goto('/register', 'register-form');
  const form = formWith(b, 'email');
  await form.locator('[name="email"]').fill(user.email);
  await form.locator('[name="name"]').fill(user.name);
  await form.locator('[name="password"]').fill(user.password);
  const response = await b.submit(submitButton(form), 'registered');
  assert.equal(response.status(), 303, `POST /register answered ${response.status()}: ${await b.text()}`);
  assert.equal(b.location(), '/dashboard');
}

/** Fills the login form on the current page and submits it. */
export async function fillLogin(b: Browsing, login: string, password: string, remember = false): Promise<Response> {
  const form = formWith(b, 'login');
  await form.locator('[name="login"]').fill(login);
  await form.locator('[name="password"]').fill(password);
  if (remember) await form.locator('[name="remember"]').check();
  return b.submit(submitButton(form), remember ? 'logged-in-remembered' : 'login-submitted');
}

/** Goes to /login and logs in; the browser lands on /dashboard. */
export async function login(b: Browsing, user: TestUser, remember = false): Promise<void> {
  await b.goto('/login', 'login-form');
  const response = await fillLogin(b, user.email, user.password, remember);
  assert.equal(response.status(), 303, `POST /login answered ${response.status()}: ${await b.text()}`);
  assert.equal(b.location(), '/dashboard');
}

/** Clicks the logout button on the current page. */
export async function logout(b: Browsing): Promise<void> {
  const button = submitButton(b.page.locator('form[action$="/logout"]').first());
  const response = await b.submit(button, 'logged-out');
  assert.equal(response.status(), 303);
  assert.equal(b.location(), '/');
}

/** Asserts that the page has no horizontal scroll at its current viewport. */
export async function assertNoHorizontalScroll(b: Browsing, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await b.page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  assert.ok(scrollWidth <= innerWidth, `${what} scrolls sideways at ${innerWidth} px: it is ${scrollWidth} px wide`);
}

/**
 * Registers `user` through the JSON API (as a script would), for tests whose subject is not
 * registration: no browser, no screenshot.
 */
export async function createUser(app: RunningApp, user: TestUser): Promise<void> {
  const response = await fetch(`${app.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ email: user.email, name: user.name, password: user.password }),
    signal: AbortSignal.timeout(STEP_TIMEOUT),
  });
  assert.equal(response.status, 201, `POST /register (JSON) answered ${response.status}: ${await response.text()}`);
}

/**
 * One app and one browser for a `describe` block: started in `before`, closed in `after`. The
 * getters are read inside tests, once both exist.
 */
export function useAppAndBrowser(): { readonly app: RunningApp; readonly browser: Browser } {
  const state: { app?: RunningApp; browser?: Browser } = {};
  before(async () => {
    state.app = await startApp();
    state.browser = await launchBrowser();
  });
  after(async () => {
    await state.browser?.close();
    await state.app?.stop();
  });
  return {
    get app() {
      return state.app as RunningApp;
    },
    get browser() {
      return state.browser as Browser;
    },
  };
}
