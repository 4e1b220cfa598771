/**
 * The runnable examples (examples/hono, examples/express, examples/fastify) and the README's
 * quick starts, which are those files: each example is started as its own process, as a newcomer
 * starts it (`PORT=0`, a temporary SQLite file, examples/in-repo.ts resolving `latchkey` to this
 * repository's sources), and driven over HTTP through registration, a remembered login, the
 * dashboard, the JSON route and logout, with the attacker's requests refused on the way: a form
 * without `_csrf`, a cross-site form with a valid token (OWASP CSRF cheat sheet; SEC-43, SEC-45),
 * and a `next` that leaves the site (SEC-49). The examples are type-checked by `npm run typecheck`
 * (tsconfig.examples.json).
 *
 * @module test/examples
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const FRAMEWORKS = ['hono', 'express', 'fastify'] as const;
const PASSWORD = 'correct horse battery staple';

/** Starts an example on a free port; resolves with its origin once it printed `listening on …`. */
function startExample(name: string, dir: string): Promise<{ origin: string; child: ChildProcess }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DATABASE: join(dir, 'app.db'), SECRET_KEY: randomBytes(32).toString('hex') };
  delete env.NODE_ENV; // production would (rightly) demand ORIGIN
  const child = spawn(process.execPath, ['--conditions=source', '--import', join(root, 'examples/in-repo.ts'), join(root, 'examples', name, 'app.ts')], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ origin: match[1] as string, child });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output}`));
    });
  });
}

/** A browser's cookie jar without the browser; never follows redirects. */
class Browser {
  readonly jar = new Map<string, string>();
  readonly origin: string;
  constructor(origin: string) {
    this.origin = origin;
  }
  async fetch(path: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('accept')) headers.set('accept', 'text/html');
    if (this.jar.size > 0) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const body = init.form ? new URLSearchParams(init.form) : init.body;
    const response = await fetch(this.origin + path, { ...init, method: init.form ? 'POST' : init.method, body, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const pair = cookie.slice(0, cookie.indexOf(';'));
      const name = pair.slice(0, pair.indexOf('='));
      if (/;\s*Max-Age=0\b/i.test(cookie)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(name.length + 1));
    }
    return response;
  }
  /** The `_csrf` value of the page's first form. */
  async csrf(path: string): Promise<string> {
    const page = await (await this.fetch(path)).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    assert.ok(token, `no _csrf field on ${path}`);
    return token;
  }
}

for (const name of FRAMEWORKS) {
  describe(`examples/${name}`, () => {
    let dir = '';
    let server: { origin: string; child: ChildProcess };
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `latchkey-example-${name}-`));
      server = await startExample(name, dir);
    });
    after(() => {
      server?.child.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    test('registers, logs out, logs in with remember-me, and shows the dashboard and the JSON route only while logged in', async () => {
      const browser = new Browser(server.origin);
      const signup = { email: 'ada@example.com', name: 'Ada <b>', password: PASSWORD };
      const registered = await browser.fetch('/register', { form: { ...signup, _csrf: await browser.csrf('/register') } });
      assert.equal(registered.status, 303);
      assert.equal(registered.headers.get('location'), '/dashboard');
      const dashboard = await browser.fetch('/dashboard');
      assert.equal(dashboard.status, 200);
      assert.match(await dashboard.text(), /Hello, Ada &(lt|#60);b&(gt|#62);!/, 'the name is escaped');

      const out = await browser.fetch('/logout', { form: { _csrf: await browser.csrf('/dashboard') } });
      assert.equal(out.status, 303);
      assert.equal((await browser.fetch('/api/me', { headers: { accept: '*/*' } })).status, 401);
      const denied = await browser.fetch('/dashboard');
      assert.equal(denied.status, 302);
      assert.equal(denied.headers.get('location'), '/login?next=%2Fdashboard');

      const wrong = await browser.fetch('/login', { form: { login: 'ada@example.com', password: 'not the password at all', _csrf: await browser.csrf('/login') } });
      assert.equal(wrong.status, 401);
      const login = await browser.fetch('/login', {
        form: { login: 'ADA@example.com', password: PASSWORD, remember: 'on', next: '/api/me', _csrf: await browser.csrf('/login') },
      });
      assert.equal(login.status, 303);
      assert.equal(login.headers.get('location'), '/api/me');
      assert.ok(browser.jar.has('remember_token'), 'remember me sets the remember cookie');
      const me = await browser.fetch('/api/me', { headers: { accept: 'application/json' } });
      assert.equal(me.status, 200);
      assert.deepEqual({ ...(await me.json()), id: null }, { id: null, email: 'ada@example.com', name: 'Ada <b>' });

      browser.jar.delete('session'); // the browser was closed: only the remember-me cookie is left
      assert.equal((await browser.fetch('/api/me', { headers: { accept: 'application/json' } })).status, 200, 'remember-me restores the login');
    });

    test('as the attacker: a form without _csrf, a cross-site form and a next that leaves the site are refused', async () => {
      const browser = new Browser(server.origin);
      const account = { email: 'grace@example.com', name: 'Grace', password: PASSWORD };
      assert.equal((await browser.fetch('/register', { form: { ...account, _csrf: await browser.csrf('/register') } })).status, 303);
      assert.equal((await browser.fetch('/logout', { form: { _csrf: await browser.csrf('/dashboard') } })).status, 303);
      const token = await browser.csrf('/login');
      const noToken = await browser.fetch('/login', { form: { login: 'grace@example.com', password: PASSWORD } });
      assert.equal(noToken.status, 403, 'a form without _csrf');
      const crossSite = await browser.fetch('/login', {
        form: { login: 'grace@example.com', password: PASSWORD, _csrf: token },
        headers: { origin: 'https://evil.example' },
      });
      assert.equal(crossSite.status, 403, 'a cross-site form, even with a valid token');
      assert.ok(!browser.jar.has('session'), 'nobody was logged in');

      const login = await browser.fetch('/login', { form: { login: 'grace@example.com', password: PASSWORD, next: 'https://evil.example/', _csrf: token } });
      assert.equal(login.status, 303);
      assert.equal(login.headers.get('location'), '/dashboard', 'an external next becomes the dashboard');
      const logout = await browser.fetch('/logout', { form: {} });
      assert.equal(logout.status, 403, 'logout without _csrf');
      assert.equal((await browser.fetch('/dashboard')).status, 200, 'still logged in');
    });
  });
}

test('the README quick starts are the example files, verbatim', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const name of FRAMEWORKS) {
    const path = `examples/${name}/app.ts`;
    const block = new RegExp(`<!-- ${path} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\`\\n`).exec(readme);
    assert.ok(block, `README.md shows ${path} after a <!-- ${path} --> line`);
    assert.equal(block[1], readFileSync(join(root, path), 'utf8'), `README.md's copy of ${path} differs from the file`);
  }
});
