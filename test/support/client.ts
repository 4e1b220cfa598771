/**
 * A tiny cookie-keeping client for the behaviour suite: a browser's cookie jar without the
 * browser. It keeps every cookie the app sets (ignoring `Secure`, so HTTPS cookies can be tested
 * over plain HTTP: tests assert on the raw `Set-Cookie` text for attributes) and drops cookies
 * set with `Max-Age=0`. It never follows redirects.
 *
 * @module test/support/client
 */
import type { Harness } from './harness.ts';

export class TestClient {
  readonly harness: Harness;
  readonly jar = new Map<string, string>();
  /** Headers sent with every request (e.g. a User-Agent). */
  readonly headers: Record<string, string>;

  constructor(harness: Harness, headers: Record<string, string> = {}) {
    this.harness = harness;
    this.headers = headers;
  }

  /** The `Cookie` header the jar would send. */
  get cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(this.headers)) if (!headers.has(name)) headers.set(name, value);
    if (this.jar.size > 0 && !headers.has('cookie')) headers.set('cookie', this.cookie);
    const response = await this.harness.fetch(path, { ...init, headers, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair = ''] = setCookie.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      if (/;\s*Max-Age=0\b/i.test(setCookie)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(eq + 1));
    }
    return response;
  }

  async json(path: string, init: RequestInit = {}): Promise<{ status: number; body: any; response: Response }> {
    const response = await this.fetch(path, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, response };
  }

  /** POST a JSON body (no Origin header, like curl or a server). */
  post(path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<{ status: number; body: any; response: Response }> {
    return this.json(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  }

  /** Logs in as a test user through the app's POST /login. */
  async login(id: string, options: { remember?: boolean; fresh?: boolean; force?: boolean; duration?: string; methods?: string[] } = {}): Promise<boolean> {
    const { body } = await this.post('/login', { id, ...options });
    return body.ok === true;
  }

  /** Drops the browser-session cookie, as closing the browser does, keeping persistent ones. */
  restartBrowser(sessionCookie = 'session'): void {
    this.jar.delete(sessionCookie);
  }
}
