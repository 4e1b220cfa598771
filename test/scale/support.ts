/**
 * What the scale-out tests share: real reference-app processes (started as `npm start` does:
 * `node --conditions=source app/main.ts`, `PORT=0`, the real port read from the line it prints),
 * several of them on one `DATA_DIR` or one database, a cookie jar that can talk to any of them,
 * a PostgreSQL database of each test file's own (`latchkey_scale_<random>`, dropped `WITH (FORCE)`),
 * a TCP proxy in front of PostgreSQL that can be cut, restored or turned into a blackhole, and a
 * plain blackhole server (accepts, never answers).
 *
 * Every instance of a test file shares one `SECRET_KEY` and one `PUBLIC_URL`, as a deployment
 * behind a load balancer does. Every wait is bounded: app start 30 s, stop 5 s then SIGKILL,
 * each request 10 s unless told otherwise.
 *
 * @module test/scale/support
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { POSTGRES_URL } from '../support/services.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Shared by every instance of a test: sessions signed on one must verify on the other. */
export const SECRET_KEY = 'scale-test-secret-'.padEnd(64, 'k');
/** The one origin the instances share (behind a load balancer they would all be this). */
export const PUBLIC_URL = 'http://127.0.0.1:3000';
/** Passes the default policy (15+, not a common password). */
export const PASSWORD = 'plum tractor velvet harbour';

const START_TIMEOUT = 30_000;
const STOP_TIMEOUT = 5_000;
/** Default bound of one HTTP request. */
export const REQUEST_TIMEOUT = 10_000;

/** Settings of the app's own, never inherited from the test runner. */
const APP_VARIABLES = [
  'NODE_ENV', 'PORT', 'HOST', 'DATA_DIR', 'DATABASE_URL', 'SESSION_STORE', 'SECRET_KEY', 'PUBLIC_URL', 'TRUST_PROXY',
  'SESSION_IDLE_TIMEOUT', 'SESSION_ABSOLUTE_TIMEOUT', 'REMEMBER_DURATION', 'PASSWORD_MIN_LENGTH', 'SESSION_CACHE_TTL', 'USER_CACHE_TTL', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS',
  'REGISTRATIONS_PER_HOUR', 'LOG_LEVEL', 'SMTP_URL', 'MAIL_FROM', 'EMAIL_VERIFICATION',
];
const STARTED = /latchkey reference app on (https?:\/\/\S+)/;

/** A temporary directory, removed by `cleanup`. */
export function tempDir(prefix = 'latchkey-scale-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function appEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of APP_VARIABLES) delete env[name];
  // Every simulated user registers from 127.0.0.1: the per-IP registration limit (SEC-53) would
  // stop the load after 20, so it is raised to its maximum here, as for a load test behind one NAT.
  return Object.assign(env, { HOST: '127.0.0.1', PORT: '0', SECRET_KEY, PUBLIC_URL, REGISTRATIONS_PER_HOUR: '999999' }, settings);
}

function spawnChild(settings: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', 'app/main.ts'], { cwd: ROOT, env: appEnv(settings), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A running app process. */
export interface AppProcess {
  /** Its own address, e.g. `http://127.0.0.1:41234` (not PUBLIC_URL). */
  readonly url: string;
  readonly name: string;
  readonly pid: number;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGKILL (a crash), resolves once it has exited. */
  kill9(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Every app started and not yet stopped, for `stopAll` in `after`. */
const running = new Set<AppProcess>();

/**
 * Starts the app with `settings` (DATA_DIR, DATABASE_URL, SESSION_STORE…; SECRET_KEY, PUBLIC_URL,
 * HOST and PORT=0 are set here) and resolves once it printed its address and `/` answers.
 */
export async function startApp(name: string, settings: Record<string, string>): Promise<AppProcess> {
  const child = spawnChild(settings);
  let output = '';
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown')));
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);

  const stopChild = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  let url: string;
  try {
    url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`app ${name} did not print its address within ${START_TIMEOUT / 1000} s:\n${output}`)), START_TIMEOUT);
      const check = () => {
        const match = STARTED.exec(output);
        if (match) {
          clearTimeout(timer);
          done((match[1] as string).replace(/\/$/, ''));
        }
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        fail(new Error(`app ${name} exited (${code}) before it was ready:\n${output}`));
      });
    });
    assert.notEqual(new URL(url).port, '0', `app ${name} printed port 0:\n${output}`);
  } catch (error) {
    await stopChild('SIGKILL');
    throw error;
  }

  const app: AppProcess = {
    url,
    name,
    pid: child.pid!,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill9() {
      await stopChild('SIGKILL');
      running.delete(app);
    },
    async stop() {
      await stopChild('SIGTERM');
      running.delete(app);
    },
  };
  running.add(app);
  return app;
}

/** Stops every app still running (for `after`). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((app) => app.stop()));
}

/** How an app that must refuse to start ended. */
export interface Refusal {
  /** Exit code, signal name, or 'timeout' when it was still running at the deadline (then killed). */
  readonly code: number | string;
  readonly output: string;
  readonly stderr: string;
  readonly ms: number;
  /** Whether it printed the "listening" line anyway. */
  readonly started: boolean;
}

/** Starts the app and waits (at most `timeout`) for it to exit, as it must on a bad configuration. */
export async function expectRefusal(settings: Record<string, string>, timeout = 15_000): Promise<Refusal> {
  const begin = performance.now();
  const child = spawnChild(settings);
  let output = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown')));
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<'timeout'>((done) => (timer = setTimeout(() => done('timeout'), timeout)))]);
  clearTimeout(timer);
  const ms = performance.now() - begin;
  if (code === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
  return { code, output, stderr, ms, started: STARTED.test(output) };
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

export interface Answer {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
  /** Time from sending to the full answer, ms. */
  readonly ms: number;
}

/**
 * A cookie-keeping API client (JSON, no Origin, like curl) that can talk to any instance: the
 * jar is one browser's, the instance is chosen per request, as a round-robin balancer would.
 * Every Set-Cookie it receives is kept in `setCookies`, to check that none clears the session.
 */
export class Client {
  readonly jar = new Map<string, string>();
  readonly setCookies: string[] = [];

  get cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** A copy of this client's cookies (a stolen or kept-aside cookie to replay later). */
  clone(): Client {
    const copy = new Client();
    for (const [name, value] of this.jar) copy.jar.set(name, value);
    return copy;
  }

  async request(app: AppProcess | string, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; timeout?: number } = {}): Promise<Answer> {
    const base = typeof app === 'string' ? app : app.url;
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.jar.size > 0) headers.cookie = this.cookie;
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    const begin = performance.now();
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(init.timeout ?? REQUEST_TIMEOUT),
    });
    const text = await response.text();
    const ms = performance.now() - begin;
    for (const setCookie of response.headers.getSetCookie()) {
      this.setCookies.push(setCookie);
      const pair = setCookie.split(';', 1)[0] as string;
      const eq = pair.indexOf('=');
      if (/;\s*Max-Age=0\b/i.test(setCookie) || /;\s*Expires=Thu, 01 Jan 1970/i.test(setCookie)) this.jar.delete(pair.slice(0, eq));
      else this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, body: parsed, headers: response.headers, ms };
  }

  get(app: AppProcess | string, path: string, timeout?: number): Promise<Answer> {
    return this.request(app, path, { timeout });
  }

  post(app: AppProcess | string, path: string, body: unknown = {}, timeout?: number): Promise<Answer> {
    return this.request(app, path, { method: 'POST', body, timeout });
  }

  /** POST /register; asserts 201. */
  async register(app: AppProcess, email: string, name = 'Scale', password = PASSWORD): Promise<number> {
    const answer = await this.post(app, '/register', { email, name, password });
    assert.equal(answer.status, 201, `register ${email} on ${app.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.user_id as number;
  }

  /** POST /login; asserts 200. */
  async login(app: AppProcess, login: string, password = PASSWORD, remember = false): Promise<void> {
    const answer = await this.post(app, '/login', { login, password, remember });
    assert.equal(answer.status, 200, `login ${login} on ${app.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }

  /** Drops the browser-session cookie, as closing the browser does; the remember-me cookie stays. */
  closeBrowser(): void {
    for (const name of [...this.jar.keys()]) if (/^(__Host-)?session$/.test(name)) this.jar.delete(name);
  }

  /** The Set-Cookie headers received so far that clear a cookie (Max-Age=0 or an Expires in 1970). */
  clearingCookies(): string[] {
    return this.setCookies.filter((c) => /;\s*Max-Age=0\b/i.test(c) || /;\s*Expires=Thu, 01 Jan 1970/i.test(c));
  }
}

/** A unique address for one test user. */
export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(5).toString('hex')}@example.test`;
}

/**
 * Polls `probe` every `interval` ms until it returns a truthy value or `timeout` ms have passed;
 * returns the last value and the time it took. A probe that throws counts as "not yet".
 */
export async function poll<T>(probe: () => Promise<T>, timeout: number, interval = 100): Promise<{ value: T | undefined; ms: number; ok: boolean; error?: unknown }> {
  const begin = performance.now();
  let value: T | undefined;
  let error: unknown;
  for (;;) {
    try {
      value = await probe();
      error = undefined;
      if (value) return { value, ms: performance.now() - begin, ok: true };
    } catch (caught) {
      error = caught;
    }
    if (performance.now() - begin >= timeout) return { value, ms: performance.now() - begin, ok: false, error };
    await sleep(interval);
  }
}

// ---------------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------------

export async function probeRedisServer(): Promise<void> {
  await promisify(execFile)('redis-server', ['--version'], { timeout: 1_500 });
}

/** A database of this test file's own on the shared server, and the way to drop it. */
export interface TestDatabase {
  readonly name: string;
  /** Its URL on the real server. */
  readonly url: string;
  /** Its URL through a proxy listening on `port`. */
  urlVia(port: number): string;
  /** DROP DATABASE … WITH (FORCE). Idempotent. */
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000, query_timeout: 20_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createDatabase(): Promise<TestDatabase> {
  const name = `latchkey_scale_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const base = new URL(POSTGRES_URL);
  const at = (host: string, port: string) => {
    const url = new URL(base.href);
    url.hostname = host;
    url.port = port;
    url.pathname = `/${name}`;
    return url.href;
  };
  let dropped = false;
  return {
    name,
    url: at(base.hostname, base.port || '5432'),
    urlVia: (port) => at('127.0.0.1', String(port)),
    async drop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function listen(server: Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((done) => server.close(() => done()));
}

/** A server that accepts connections and never answers; `close` destroys what it holds. */
export interface Blackhole {
  readonly port: number;
  close(): Promise<void>;
}

export async function startBlackhole(): Promise<Blackhole> {
  const held = new Set<Socket>();
  const server = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => held.delete(socket));
    // Reads and drops whatever comes, never writes.
    socket.resume();
  });
  const port = await listen(server);
  return {
    port,
    async close() {
      for (const socket of held) socket.destroy();
      await close(server);
    },
  };
}

/**
 * A TCP proxy in the test process between the app and a server (PostgreSQL). `cut()` destroys
 * every connection and stops listening (connection refused); `blackhole()` keeps listening but
 * forwards nothing any more, on new and existing connections alike (a silent network);
 * `restore()` ends the blackholed connections and forwards again, on the same port.
 */
export interface TcpProxy {
  readonly port: number;
  readonly mode: 'forward' | 'cut' | 'blackhole';
  /** Connections currently open through the proxy. */
  readonly connections: number;
  cut(): Promise<void>;
  blackhole(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: 'forward' | 'cut' | 'blackhole' = 'forward';
  const pairs = new Set<{ client: Socket; upstream: Socket | null }>();

  const silence = (pair: { client: Socket; upstream: Socket | null }) => {
    // Stop forwarding in both directions; keep both sockets open, reading and dropping.
    pair.client.unpipe();
    pair.upstream?.unpipe();
    pair.client.removeAllListeners('data');
    pair.upstream?.removeAllListeners('data');
    pair.client.resume();
    pair.upstream?.resume();
  };

  const server = createServer((client) => {
    const pair: { client: Socket; upstream: Socket | null } = { client, upstream: null };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', end);
    client.on('close', end);
    if (mode === 'blackhole') {
      client.resume();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    pair.upstream = upstream;
    upstream.on('error', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  let port = await listen(server);
  const destroyAll = () => {
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    pairs.clear();
  };

  return {
    get port() {
      return port;
    },
    get mode() {
      return mode;
    },
    get connections() {
      return pairs.size;
    },
    async cut() {
      mode = 'cut';
      const closing = close(server);
      destroyAll();
      await closing;
    },
    blackhole() {
      mode = 'blackhole';
      for (const pair of pairs) silence(pair);
    },
    async restore() {
      if (mode === 'blackhole') destroyAll();
      if (!server.listening) port = await listen(server, port);
      mode = 'forward';
    },
    async close() {
      mode = 'cut';
      const closing = close(server);
      destroyAll();
      await closing;
    },
  };
}

/** Removes a directory, ignoring errors. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Lines of an app's output that tell of a crash or an unexpected error (500s are logged with a stack). */
export function troubleLines(output: string): string[] {
  return output.split('\n').filter((line) => /unhandled_rejection|"level":"error"|SQLITE_BUSY|database is locked|uncaught/i.test(line));
}
