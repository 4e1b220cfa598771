/**
 * Test support for the reference app's HTTP tests: an app on a fresh temporary DATA_DIR per test
 * (configuration through `loadConfig`, stores through `openStores`, as `npm start` does), driven
 * with `app.request()`, and a small client that keeps cookies like a browser (it ignores
 * `Secure`, so that HTTPS cookies can be followed over `app.request`; attribute tests read the raw
 * `Set-Cookie`), acting either as a browser (Accept: text/html, forms with `_csrf`, same-origin
 * `Origin`) or as an API client (JSON, no Origin, like curl).
 *
 * @module test/app/support
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createApp, type CreateAppOptions } from '../../app/app.ts';
import { loadConfig, type AppConfig } from '../../app/config.ts';
import { openStores, type AppStores } from '../../app/stores.ts';

/** A parsed log line. */
export type LogEntry = Record<string, unknown>;

/** PUBLIC_URL of every test app: requests go to this origin. */
export const ORIGIN = 'http://127.0.0.1:3000';
/** The app's Content-Security-Policy, spelt out so that a loosened policy fails the tests (SEC-64). */
export const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
export const PASSWORD = 'correct horse battery staple';
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
export const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

export interface TestApp {
  readonly app: Awaited<ReturnType<typeof createApp>>['app'];
  readonly manager: Awaited<ReturnType<typeof createApp>>['manager'];
  readonly accounts: Awaited<ReturnType<typeof createApp>>['accounts'];
  /** The app's mail queue. */
  readonly mailer: Awaited<ReturnType<typeof createApp>>['mailer'];
  /** What the app would print at start (app.ts `warnings`). */
  readonly warnings: readonly string[];
  /** Resolves once every mail asked for so far has left: the accounts' background work, then the queue. */
  mailSent(): Promise<void>;
  readonly config: AppConfig;
  readonly stores: AppStores;
  /** Every log line written, as written (each one JSON object and its newline). */
  readonly lines: string[];
  /** The same lines, parsed. */
  readonly logs: LogEntry[];
  /** `app.request` on ORIGIN. */
  request(path: string, init?: RequestInit): Promise<Response>;
  client(headers?: Record<string, string>): Client;
}

/** A fresh app for one test, removed after it. */
export async function setup(
  t: TestContext,
  options: { env?: Record<string, string>; now?: () => number; wrapStores?: (stores: AppStores) => AppStores } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-app-'));
  const loaded = loadConfig({ DATA_DIR: dir, PUBLIC_URL: ORIGIN, SECRET_KEY: 'k'.repeat(64), ...options.env });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const opened = await openStores(loaded.config);
  const stores = options.wrapStores ? options.wrapStores(opened) : opened;
  const lines: string[] = [];
  const logs: LogEntry[] = [];
  const log = (line: string) => {
    lines.push(line);
    logs.push(JSON.parse(line) as LogEntry);
  };
  const built = await createApp({ config: loaded.config, stores, now: options.now, log });
  t.after(async () => {
    await built.accounts.idle();
    await built.mailer.close(2_000);
    await opened.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const request = async (path: string, init?: RequestInit) => built.app.request(path.startsWith('http') ? path : `${ORIGIN}${path}`, init);
  const mailSent = async () => {
    await built.accounts.idle();
    await built.mailer.idle();
  };
  const testApp: TestApp = { ...built, config: loaded.config, stores, lines, logs, request, mailSent, client: (headers) => new Client(testApp, headers) };
  return testApp;
}

/** The `_csrf` value of the first form in a page. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no _csrf field in the page');
  return match[1] as string;
}

/** A cookie-keeping client. */
export class Client {
  readonly jar = new Map<string, string>();
  readonly #app: TestApp;
  readonly #headers: Record<string, string>;

  constructor(app: TestApp, headers: Record<string, string> = {}) {
    this.#app = app;
    this.#headers = headers;
  }

  get cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(this.#headers)) if (!headers.has(name)) headers.set(name, value);
    if (this.jar.size > 0 && !headers.has('cookie')) headers.set('cookie', this.cookie);
    const response = await this.#app.request(path, { ...init, headers });
    for (const setCookie of response.headers.getSetCookie()) {
      const pair = setCookie.split(';', 1)[0] as string;
      const eq = pair.indexOf('=');
      if (/;\s*Max-Age=0\b/i.test(setCookie)) this.jar.delete(pair.slice(0, eq));
      else this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return response;
  }

  /** A browser navigation: GET with a browser's Accept. */
  page(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, { headers: { accept: BROWSER_ACCEPT, ...headers } });
  }

  /** The `_csrf` token of a form page: `path`, else the login form, else (logged in) the home page's logout form. */
  async csrf(path?: string): Promise<string> {
    if (path) return csrfOf(await (await this.page(path)).text());
    const login = await this.page('/login');
    if (login.status === 200) return csrfOf(await login.text());
    return csrfOf(await (await this.page('/')).text());
  }

  /** A browser form submission, same-origin, with the token of `tokenFrom` unless `_csrf` is given; a header given as '' is left out. */
  async form(path: string, fields: Record<string, string>, options: { tokenFrom?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const body = new URLSearchParams(fields);
    if (!('_csrf' in fields)) body.set('_csrf', await this.csrf(options.tokenFrom));
    const headers = { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, 'sec-fetch-site': 'same-origin', ...options.headers };
    // A header given as '' is left out (a browser that sends no Origin, say).
    return this.fetch(path, { method: 'POST', headers: Object.entries(headers).filter(([, value]) => value !== ''), body });
  }

  /** An API call with a JSON body, no Origin (like curl). */
  async json(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; response: Response }> {
    const response = await this.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, response };
  }

  /** A GET as an API client. */
  async getJson(path: string): Promise<{ status: number; body: any; response: Response }> {
    const response = await this.fetch(path, { headers: { accept: 'application/json' } });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, response };
  }

  /** Registers (and so logs in) through the JSON API; returns the user id. */
  async register(email = 'ann@example.com', name = 'Ann', password = PASSWORD): Promise<number> {
    const { status, body } = await this.json('/register', { email, name, password });
    if (status !== 201) throw new Error(`register: ${status} ${JSON.stringify(body)}`);
    return body.user_id;
  }

  /** Logs in through the JSON API. */
  async login(login = 'ann@example.com', password = PASSWORD, remember = false): Promise<void> {
    const { status, body } = await this.json('/login', { login, password, remember });
    if (status !== 200) throw new Error(`login: ${status} ${JSON.stringify(body)}`);
  }

  /** Drops the browser-session cookie, as closing the browser does; persistent cookies stay. */
  restartBrowser(): void {
    for (const name of this.jar.keys()) if (/^(__Host-)?session$/.test(name)) this.jar.delete(name);
  }
}

/** A registered user's id, made directly through the accounts module (no HTTP, no login). */
export async function seedUser(app: TestApp, email = 'ann@example.com', name = 'Ann', password = PASSWORD): Promise<string> {
  const result = await app.accounts.register({ email, name, password });
  if (!result.ok || 'pending' in result) throw new Error(`seed: ${JSON.stringify(result)}`);
  return result.user.id;
}

/** The path of the newest development-outbox link to `path` (`/verify-email`…) mailed to `to`. */
export async function linkFor(app: TestApp, to: string, path: string): Promise<string> {
  await app.mailSent();
  const { body } = await app.client().getJson('/dev/outbox');
  for (const mail of body.messages) {
    const link = mail.to === to && mail.links.find((l: string) => l.startsWith(`${ORIGIN}${path}/`));
    if (link) return link.slice(ORIGIN.length);
  }
  throw new Error(`no ${path} link for ${to}`);
}
