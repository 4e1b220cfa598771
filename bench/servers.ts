/**
 * One benchmark server, chosen by argv, for `bench/protected.ts` (which starts each in its own
 * process and loads it from another):
 *
 *   node --conditions=source bench/servers.ts bare       # Hono + @hono/node-server, GET /bare, no latchkey
 *   node --conditions=source bench/servers.ts protected  # + latchkey(manager), loginRequired(), GET /protected
 *   node --conditions=source bench/servers.ts cached     # the same with sessionCache: { ttl: '5s' }
 *
 * `protected` keeps sessions in a `SqliteStore` on a temporary file and loads the user from a real
 * `users` table in the same file through `node:sqlite` (a prepared SELECT on every request, as
 * Flask-Login's `user_loader` does). On start each server prints one JSON line to stdout:
 * `{"port":…,"cookies":["…",…],"userAgent":"…"}`. `protected` and `cached` log the same user in
 * SESSIONS (default 64) times with `loginTestUser` for that User-Agent (session protection 'basic'
 * compares it), so `cookies` holds that many valid sessions, which the load sends in turn: the
 * store coalesces the session reads of one event-loop turn (src/lib/read-batch.ts), and with a
 * single cookie a batch would read one row for all its requests, which no site with many users
 * gets. `bare` prints an empty list. NODE_ENV defaults to production. Listens on 127.0.0.1, port
 * PORT or a free one. Stops on SIGTERM / SIGINT and removes its temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { latchkey, loginRequired, type LatchkeyEnv } from '../src/hono.ts';
import { createLoginManager } from '../src/manager.ts';
import { SqliteStore } from '../src/sqlite/index.ts';
import { loginTestUser } from '../src/testing/index.ts';
import { positiveInt, stopWithDriver } from './lib.ts';

/** The User-Agent the load generator sends: the session is bound to its fingerprint. */
const BENCH_USER_AGENT = 'latchkey-bench/1.0';

/** How many sessions `protected` and `cached` create for the load to send in turn. */
const SESSIONS = positiveInt('SESSIONS', 64);

interface User {
  id: number;
  name: string;
}

type Started = { fetch: Hono['fetch']; cookies: string[]; close: () => Promise<void> };

function bare(): Started {
  const app = new Hono();
  app.get('/bare', (c) => c.json({ message: 'Hello, bench!' }));
  return { fetch: app.fetch, cookies: [], close: async () => {} };
}

async function protectedServer(sessionCache: boolean): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  const path = join(dir, 'app.db');

  // The app's own table, in the same file as the store's, on the app's own connection.
  const db = new DatabaseSync(path, { timeout: 5_000 });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  const { lastInsertRowid } = db.prepare('INSERT INTO users (name) VALUES (?)').run('alice');
  const selectUser = db.prepare('SELECT id, name FROM users WHERE id = ?');

  const store = new SqliteStore({ path });
  const manager = createLoginManager<User>({
    store,
    secret: 'latchkey-bench-secret-0123456789abcdef-0123456789abcdef',
    sessionProtection: 'basic',
    sessionCache: sessionCache ? { ttl: '5s' } : null,
    // NODE_ENV=production, on 127.0.0.1 and a port chosen at start, and no browser: the origin is the Host (SEC-45).
    trustHostHeaderForOrigin: true,
    loadUser: (id) => {
      const row = selectUser.get(Number(id));
      return row === undefined ? null : { id: row.id as number, name: row.name as string };
    },
  });

  const app = new Hono<LatchkeyEnv<User>>();
  app.use(latchkey(manager));
  app.get('/protected', loginRequired(), async (c) => {
    const user = (await c.var.auth.user()) as User;
    return c.json({ message: `Hello, ${user.name}!` });
  });

  const user = selectUser.get(Number(lastInsertRowid));
  if (user === undefined) throw new Error('the user row was not written');
  const alice = { id: user.id as number, name: user.name as string };
  // One after another: each is a real login (a session row written), and start-up is not measured.
  const cookies: string[] = [];
  for (let i = 0; i < SESSIONS; i++) cookies.push(await loginTestUser(manager, alice, { userAgent: BENCH_USER_AGENT }));

  return {
    fetch: app.fetch,
    cookies,
    close: async () => {
      await store.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  process.env.NODE_ENV ??= 'production';
  const kind = process.argv[2];
  if (kind !== 'bare' && kind !== 'protected' && kind !== 'cached') {
    process.stderr.write('usage: node --conditions=source bench/servers.ts bare|protected|cached\n');
    process.exit(2);
  }
  const started = kind === 'bare' ? bare() : await protectedServer(kind === 'cached');
  const port = Number(process.env.PORT ?? 0);
  const server = serve({ fetch: started.fetch, hostname: '127.0.0.1', port }, (info) => {
    process.stdout.write(`${JSON.stringify({ port: info.port, cookies: started.cookies, userAgent: BENCH_USER_AGENT })}\n`);
  });
  stopWithDriver(server, () => started.close());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
