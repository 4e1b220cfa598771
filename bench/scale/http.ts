/**
 * A small HTTP/1.1 client for `bench/scale.ts` and its load client: node:http on a keep-alive
 * agent (no fetch, so no `Sec-Fetch-Mode` or `Origin` header is added behind our back: the app's
 * CSRF check lets a JSON write through when neither is sent, as from curl or a server), and a
 * cookie jar that keeps `name=value` pairs the way a browser would for one origin.
 *
 * @module bench/scale/http
 */
import { Agent, request } from 'node:http';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly setCookies: readonly string[];
  readonly body: string;
  /** From the first byte written to the last byte read, in ms. */
  readonly ms: number;
}

export interface SendOptions {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  /** A JSON value (sent as application/json) or a string sent as is with the given content-type. */
  readonly json?: unknown;
  readonly body?: string;
  readonly agent?: Agent | false;
  readonly timeoutMs?: number;
}

/** One request to `base` + `path`. Rejects on a network error or a timeout, never on a status. */
export function send(base: string, path: string, options: SendOptions = {}): Promise<Answer> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: options.method ?? 'GET', headers, agent: options.agent ?? false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => {
          const set = res.headers['set-cookie'];
          resolve({ status: res.statusCode ?? 0, headers: res.headers, setCookies: set ?? [], body: text, ms: performance.now() - t0 });
        });
      },
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`${options.method ?? 'GET'} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The cookies of one origin: Set-Cookie stores or (Max-Age ≤ 0 / Expires in the past) deletes. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  /** Applies the Set-Cookie headers of an answer; returns the names set (not deleted). */
  take(setCookies: readonly string[]): string[] {
    const set: string[] = [];
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = value === '';
      for (const attribute of attributes) {
        const [key = '', v = ''] = attribute.split('=').map((s) => s.trim());
        if (key.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (key.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      if (expired) {
        this.#cookies.delete(name);
      } else {
        this.#cookies.set(name, value);
        set.push(name);
      }
    }
    return set;
  }

  has(name: string): boolean {
    return this.#cookies.has(name);
  }

  get size(): number {
    return this.#cookies.size;
  }

  /** The names of the cookies held. */
  names(): string[] {
    return [...this.#cookies.keys()];
  }

  /** The `Cookie` header value, or '' when the jar is empty. */
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** `{ cookie: … }` when there is anything to send, else `{}`. */
  headers(): Record<string, string> {
    const h = this.header();
    return h === '' ? {} : { cookie: h };
  }
}
