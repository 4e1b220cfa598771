/**
 * The login benchmark server, for `bench/login.ts` (which starts it in its own process and loads
 * it from wrk):
 *
 *   node --conditions=source bench/login-server.ts
 *
 * Hono + @hono/node-server with latchkey as an app would use it: `latchkey(manager)` and
 * `csrfProtection()` on every route, sessions and throttle counters in a `SqliteStore`, accounts in
 * a `SqliteUserStore` (both on one temporary file), `createAccounts` with `createLoginThrottle`
 * and the default `PasswordHasher` (argon2id m=19456 KiB, t=2, p=1, maxConcurrent 2, maxQueue 64).
 *
 *   POST /login      JSON { login, password } → accounts.authenticate → auth.login(user)
 *                    200 {"message":"Hello, <name>!"} + Set-Cookie; 401 invalid; 429 throttled
 *                    (Retry-After); 400 malformed; 503 (Retry-After) when the hasher's queue is
 *                    full (HasherBusyError) or a store is down, i.e. isServiceUnavailable().
 *   GET /protected   loginRequired(), 200 {"message":"Hello, <name>!"} (the user loaded from SQLite).
 *
 * At start it registers LOGIN_USERS (64) accounts `user01@bench.example` … with one known
 * password, a few at a time (each registration is one argon2id hash, and attempts on one account
 * are serialized per process, so the load must spread over many accounts), then prints one JSON
 * line to stdout: `{"port":…,"cookie":"…","userAgent":"…","password":"…","users":["user01@…",…],
 * "hasher":{…},"threadpool":4,"registerMs":…}`. The cookie is a session of the first user made with
 * `loginTestUser` for that User-Agent (session protection 'basic' compares it).
 *
 * Env: PORT (0 = a free one), LOGIN_USERS=64, HASHER_MAX_CONCURRENT (unset = the default, 2: an
 * experiment knob only). Also answers `GET /stats` (diagnostics for the driver): the hasher's
 * running/queued counts, the number of 503s it gave, and the main thread's event-loop utilisation
 * and event-loop delay since the last `GET /stats?reset=1`. Stops on SIGTERM / SIGINT, or when its stdin closes under the driver,
 * and removes its temporary directory. With `--expose-gc` (the bench passes npm start's node flags),
 * it collects once a burst is over, as the app does (app/idle-gc.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { collectAfterBursts } from '../app/idle-gc.ts';
import { createAccounts } from '../src/accounts/accounts.ts';
import type { UserRecord } from '../src/user-store.ts';
import { isServiceUnavailable } from '../src/errors.ts';
import { csrfProtection, latchkey, loginRequired, type LatchkeyEnv } from '../src/hono.ts';
import { createLoginManager } from '../src/manager.ts';
import { PasswordHasher } from '../src/passwords/hasher.ts';
import { SqliteStore, SqliteUserStore } from '../src/sqlite/index.ts';
import { loginTestUser } from '../src/testing/index.ts';
import { createLoginThrottle } from '../src/throttle.ts';
import { stopWithDriver } from './lib.ts';

/** The User-Agent wrk sends: the /protected session is bound to its fingerprint. */
const BENCH_USER_AGENT = 'latchkey-bench/1.0';
/** Every bench account's password: long enough for the policy, not common, no context words. */
const PASSWORD = 'violet kettle drums under nine moons';
const SECRET = 'latchkey-bench-secret-0123456789abcdef-0123456789abcdef';
/** Registrations in flight at once: enough to keep the hasher's 2 slots busy, far below its queue. */
const REGISTER_PARALLEL = 4;

function positiveInt(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${raw}`);
  return value;
}

function loginOf(i: number): string {
  return `user${String(i + 1).padStart(2, '0')}@bench.example`;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}

async function main(): Promise<void> {
  process.env.NODE_ENV ??= 'production';
  const userCount = positiveInt('LOGIN_USERS', 64) as number;
  const maxConcurrent = positiveInt('HASHER_MAX_CONCURRENT', undefined);

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-login-'));
  const path = join(dir, 'app.db');
  const store = new SqliteStore({ path });
  const users = new SqliteUserStore({ path });
  const hasher = maxConcurrent === undefined ? new PasswordHasher() : new PasswordHasher({ maxConcurrent });
  const manager = createLoginManager<UserRecord>({
    store,
    secret: SECRET,
    sessionProtection: 'basic',
    loadUser: (id) => users.getUserById(id),
    // NODE_ENV=production, on 127.0.0.1 and a port chosen at start, and no browser: the origin is the Host (SEC-45).
    trustHostHeaderForOrigin: true,
  });
  const accounts = createAccounts({
    users,
    throttle: createLoginThrottle({ store, secret: SECRET }),
    revokeSessions: async (id) => (await manager.revokeUserSessions(id)).sessions,
    hasher,
    appName: 'Latchkey Bench',
  });

  // Register the accounts, REGISTER_PARALLEL at a time.
  const started = performance.now();
  const logins = Array.from({ length: userCount }, (_, i) => loginOf(i));
  let next = 0;
  const registerSome = async () => {
    while (next < logins.length) {
      const i = next++;
      const result = await accounts.register({ email: logins[i], name: `User ${i + 1}`, password: PASSWORD });
      if (!result.ok) throw new Error(`could not register ${logins[i]}: ${JSON.stringify(result)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(REGISTER_PARALLEL, userCount) }, registerSome));
  const registerMs = performance.now() - started;

  let unavailable = 0;
  const app = new Hono<LatchkeyEnv<UserRecord>>();
  app.use(latchkey(manager), csrfProtection());
  app.post('/login', async (c) => {
    let body: { login?: unknown; password?: unknown };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return json(400, { message: 'The body must be JSON: {"login": …, "password": …}.' });
    }
    const auth = c.var.auth;
    try {
      const result = await accounts.authenticate({ login: body?.login, password: body?.password, ip: auth.clientIp });
      if (result.ok) {
        await auth.login(result.user);
        return c.json({ message: `Hello, ${result.user.name}!` });
      }
      switch (result.reason) {
        case 'invalid':
          return json(401, { message: 'Invalid login or password.' });
        case 'throttled':
          return json(429, { message: 'Too many attempts. Try again later.' }, { 'retry-after': String(result.retryAfter) });
        case 'malformed':
          return json(400, { message: 'Invalid login or password.', errors: result.errors });
      }
    } catch (error) {
      // HasherBusyError (the hasher's queue is full) or a store down: "try again later".
      if (!isServiceUnavailable(error)) throw error;
      unavailable++;
      return json(503, { message: 'The service is temporarily unavailable. Please try again shortly.' }, { 'retry-after': '1' });
    }
  });
  app.get('/protected', loginRequired(), async (c) => {
    const user = (await c.var.auth.user()) as UserRecord;
    return c.json({ message: `Hello, ${user.name}!` });
  });
  // Diagnostics for the driver: is the main thread busy, or starved of CPU by the argon2 threads?
  // `?reset=1` starts a new window. Event-loop delay is how late a 5 ms repeating timer fires: late
  // means the loop was busy, or its thread was waiting for a core.
  const RESOLUTION_MS = 5;
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  let eluSince: EventLoopUtilization = performance.eventLoopUtilization();
  app.get('/stats', (c) => {
    const elu = performance.eventLoopUtilization(eluSince);
    // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
    const body = {
      ...hasher.stats,
      unavailable,
      eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
      eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
    };
    if (c.req.query('reset') === '1') {
      delay.reset();
      eluSince = performance.eventLoopUtilization();
    }
    return c.json(body);
  });

  const first = await users.getUserByLogin(logins[0] as string);
  if (first === null) throw new Error('the first user was not written');
  const cookie = await loginTestUser(manager, first, { userAgent: BENCH_USER_AGENT });

  const port = Number(process.env.PORT ?? 0);
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, (info) => {
    const { maxConcurrent: concurrent, maxQueue, memory, passes, parallelism } = hasher.options;
    const line = {
      port: info.port,
      cookie,
      userAgent: BENCH_USER_AGENT,
      password: PASSWORD,
      users: logins,
      hasher: { maxConcurrent: concurrent, maxQueue, memory, passes, parallelism },
      threadpool: Number(process.env.UV_THREADPOOL_SIZE || 4),
      registerMs: Math.round(registerMs),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  });

  // As the reference app does when started as npm start starts it (--expose-gc): one memory-reducing
  // collection once a burst of requests is over (app/idle-gc.ts).
  const idle = collectAfterBursts(server);

  stopWithDriver(server, async () => {
    idle?.stop();
    try {
      await Promise.all([store.close(), users.close()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
