/**
 * Benchmark: latchkey's share of an authenticated request, in one process, without HTTP. It runs
 * what the Hono adapter runs for GET /protected with a valid session cookie (`manager.forRequest`,
 * `auth.user()`, `auth.setCookies()`) on a `SqliteStore` and a `SqliteUserStore` in one temporary
 * file, SESSIONS (64) sessions in turn, CONC (32) requests in flight at a time as wrk's connections
 * would be. Its baseline, measured in the same rounds: the two reads such a request needs, done
 * straight with node:sqlite (the session row by id, the user row by id), one after the other.
 *
 * Without sockets, the kernel and a load generator, the figure moves by a few percent between
 * rounds, where a route measured over HTTP moves by ten (bench/README.md): use it to see what a
 * change to the request path costs, then confirm with bench:scale.
 *
 *   npm run bench:hot-path            # = node --conditions=source bench/hot-path.ts
 *
 * Knobs (env): REPS=9 (alternating rounds), OPS=100000 (requests per measured run), CONC=32, SESSIONS=64.
 * It exits 0 whatever the figures, non-zero when a request is not answered with its user.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { readCookies } from '../src/cookie.ts';
import { parseToken } from '../src/lib/tokens.ts';
import { createLoginManager } from '../src/manager.ts';
import type { RequestLike } from '../src/request.ts';
import { SqliteStore } from '../src/sqlite/index.ts';
import { SqliteUserStore } from '../src/sqlite/user-store.ts';
import { loginTestUser } from '../src/testing/index.ts';
import type { UserRecord } from '../src/user-store.ts';
import { median, positiveInt } from './lib.ts';

const REPS = positiveInt('REPS', 9);
const OPS = positiveInt('OPS', 100_000);
const CONC = positiveInt('CONC', 32);
const SESSIONS = positiveInt('SESSIONS', 64);
const USER_AGENT = 'latchkey-hot-path-bench/1.0';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-hot-path-'));
const path = join(dir, 'app.db');
const store = new SqliteStore({ path });
const users = new SqliteUserStore({ path });

async function main(): Promise<number> {
  const manager = createLoginManager<UserRecord>({
    store,
    secret: 'latchkey-hot-path-bench-secret-0123456789abcdef',
    loadUser: (id) => users.getUserById(id), // what the reference app's accounts do with no user cache
    trustHostHeaderForOrigin: true,
  });
  const user = await users.createUser({ email: 'bench@example.com', emailCanonical: 'bench@example.com', username: null, usernameCanonical: null, name: 'Bench', passwordHash: 'x' });
  if (user === null) throw new Error('the bench user was not created');
  const cookies: string[] = [];
  for (let i = 0; i < SESSIONS; i++) cookies.push(await loginTestUser(manager, user, { userAgent: USER_AGENT }));
  const requests: RequestLike[] = cookies.map((cookie) => {
    const headers: Record<string, string> = { cookie, 'user-agent': USER_AGENT, host: '127.0.0.1:8000' };
    return { method: 'GET', url: 'http://127.0.0.1:8000/protected', headers: { get: (name: string) => headers[name.toLowerCase()] ?? null } };
  });

  // The baseline: the same two rows, read straight.
  const db = new DatabaseSync(path);
  const sessionIds = cookies.map((c) => parseToken(readCookies(c, ['session']).get('session'))?.id ?? '');
  const selectSession = db.prepare('SELECT * FROM latchkey_sessions WHERE id = ?');
  const selectUser = db.prepare('SELECT * FROM users WHERE id = ?');
  if (sessionIds.some((id) => selectSession.get(id) === undefined)) throw new Error('the baseline cannot find the session rows');

  let missing = 0;
  const latchkey = async (ops: number): Promise<void> => {
    for (let i = 0; i < ops; i += CONC) {
      const inFlight: Promise<void>[] = [];
      for (let j = 0; j < CONC; j++) {
        const auth = manager.forRequest(requests[(i + j) % SESSIONS] as RequestLike, { remoteAddress: '127.0.0.1' });
        inFlight.push(
          auth.user().then((found) => {
            if (found?.id !== user.id) missing++;
            auth.setCookies();
          }),
        );
      }
      await Promise.all(inFlight);
    }
  };
  const queries = async (ops: number): Promise<void> => {
    for (let i = 0; i < ops; i++) {
      const row = selectSession.get(sessionIds[i % SESSIONS] as string) as { user_id: string };
      if (selectUser.get(Number(row.user_id)) === undefined) missing++;
    }
  };
  const measure = async (run: (ops: number) => Promise<void>): Promise<{ cpu: number; wall: number }> => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(OPS);
    const cpu = process.cpuUsage(cpu0);
    return { cpu: (cpu.user + cpu.system) / OPS, wall: ((performance.now() - t0) * 1000) / OPS };
  };

  await latchkey(OPS / 2); // warm-up: both paths optimized before the first measured run
  await queries(OPS / 2);
  const rows: { l: { cpu: number; wall: number }; q: { cpu: number; wall: number } }[] = [];
  for (let round = 0; round < REPS; round++) {
    // Alternating which goes first, so that neither always follows the other's garbage.
    const first = round % 2 === 0;
    const a = await measure(first ? latchkey : queries);
    const b = await measure(first ? queries : latchkey);
    rows.push(first ? { l: a, q: b } : { l: b, q: a });
  }
  db.close();

  const fmt = (n: number) => n.toFixed(2);
  const range = (values: number[]) => `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;
  const line = (label: string, pick: (r: (typeof rows)[number]) => number) => {
    const values = rows.map(pick);
    return `${label.padEnd(52)} ${fmt(median(values)).padStart(7)}   [${range(values)}]`;
  };
  console.log(`=== latchkey's authenticated request path in process: ${REPS} alternating rounds of ${OPS.toLocaleString('en-US')} requests, ${CONC} in flight, ${SESSIONS} sessions, Node ${process.versions.node}`);
  console.log(`${''.padEnd(52)} ${'median'.padStart(7)}   [range]`);
  console.log(line('latchkey: forRequest + user() + setCookies, µs wall', (r) => r.l.wall));
  console.log(line('latchkey, µs CPU (all threads)', (r) => r.l.cpu));
  console.log(line('the two reads straight, µs wall', (r) => r.q.wall));
  console.log(line('latchkey ÷ the two reads, wall (per round)', (r) => r.l.wall / r.q.wall));
  if (missing > 0) {
    console.log(`BROKEN: ${missing} requests were not answered with their user`);
    return 1;
  }
  return 0;
}

main()
  .then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  )
  .finally(async () => {
    await store.close();
    await users.close();
    rmSync(dir, { recursive: true, force: true });
  });
