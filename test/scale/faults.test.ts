/**
 * The reference app when its stores fail under it (R-01, R-02, R-03, R-10, R-13,
 * SEC-55), with real processes: a private redis-server killed with SIGKILL mid-run and started
 * again on the same port; PostgreSQL behind a TCP proxy of the test's own, cut (connections
 * destroyed, port closed) and restored, then turned into a blackhole (accepts, never answers);
 * start-up against a blackhole, and against a Redis whose maxmemory-policy evicts keys.
 *
 * While a store is down: the routes that need a session answer 503 with `Retry-After` within 2 s
 * (HTML and JSON), public pages keep answering to anonymous visitors, `/healthz` says 503, login
 * fails closed with 503 (the throttle cannot count), no answer clears the session cookie (a 503 is
 * not a logout), and the process stays up. When the store is back, the same process serves again
 * within 5 s.
 *
 * Needs PostgreSQL (a database of its own, dropped afterwards) and the redis-server binary; the
 * parts that need a missing one skip, saying why (CI: fail).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { startRedisServer, type RedisServer } from '../fixtures/redis-server.ts';
import { POSTGRES_URL, probePostgres, requireService } from '../support/services.ts';
import {
  Client, createDatabase, expectRefusal, PASSWORD, poll, probeRedisServer, removeDir, startApp, startBlackhole, startProxy,
  stopAll, tempDir, troubleLines, uniqueEmail, type AppProcess, type Blackhole, type TcpProxy, type TestDatabase,
} from './support.ts';

const postgres = await requireService('postgres', probePostgres);
const redis = await requireService('redis', probeRedisServer);
const noPostgres = postgres.available ? false : postgres.reason;
const noRedis = redis.available ? false : redis.reason;
if (noPostgres) console.log(`# skipping the PostgreSQL fault tests: ${noPostgres}`);
if (noRedis) console.log(`# skipping the Redis fault tests: ${noRedis}`);

/** "within the configured timeout (e.g. ≤2 s)". */
const DOWN_BUDGET = 2_000;
/** the first request within 5 s after the store is reachable again succeeds. */
const RECOVERY_BUDGET = 5_000;
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const dirs: string[] = [];
function dataDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

after(async () => {
  await stopAll();
  for (const dir of dirs) removeDir(dir);
});

/**
 * What every route must look like while a store is down (R-01, SEC-55). `user` is logged in,
 * `email` its login. Returns the time /protected took to answer.
 */
async function assertFailsClosed(app: AppProcess, user: Client, email: string, label: string): Promise<number> {
  const protectedAnswer = await user.get(app, '/protected', DOWN_BUDGET + 3_000);
  assert.equal(protectedAnswer.status, 503, `${label}: GET /protected (JSON) answered ${protectedAnswer.status} ${JSON.stringify(protectedAnswer.body)}`);
  assert.match(protectedAnswer.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${label}: Retry-After on the 503 of /protected`);
  assert.ok(protectedAnswer.ms <= DOWN_BUDGET, `${label}: GET /protected took ${protectedAnswer.ms.toFixed(0)} ms to answer 503 (budget ${DOWN_BUDGET} ms)`);

  const dashboard = await user.request(app, '/dashboard', { headers: { accept: HTML }, timeout: DOWN_BUDGET + 3_000 });
  assert.equal(dashboard.status, 503, `${label}: GET /dashboard (HTML) answered ${dashboard.status}`);
  assert.match(dashboard.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${label}: Retry-After on the HTML 503`);
  assert.ok(dashboard.ms <= DOWN_BUDGET, `${label}: GET /dashboard took ${dashboard.ms.toFixed(0)} ms`);

  // Public pages, for a visitor without a session.
  const visitor = new Client();
  for (const path of ['/', '/login', '/register']) {
    const page = await visitor.request(app, path, { headers: { accept: HTML } });
    assert.equal(page.status, 200, `${label}: anonymous GET ${path} answered ${page.status}`);
  }
  // The home page of a visitor WITH a session cookie depends on that session: it may say 503,
  // or 200, but never "welcome, log in" to a user who is logged in, and never a 500.
  const home = await user.get(app, '/', DOWN_BUDGET + 3_000);
  assert.ok(home.status === 503 || (home.status === 200 && !/Log in or register/.test(JSON.stringify(home.body))), `${label}: GET / with a session answered ${home.status} ${JSON.stringify(home.body)}`);
  const health = await visitor.get(app, '/healthz');
  assert.equal(health.status, 503, `${label}: /healthz answered ${health.status} ${JSON.stringify(health.body)}`);
  assert.equal(health.body.status, 'unavailable');

  // SEC-55: the throttle cannot count, so no password is checked: 503, never 200 or 500.
  for (const password of [PASSWORD, `wrong ${PASSWORD}`]) {
    const login = await new Client().post(app, '/login', { login: email, password }, DOWN_BUDGET + 3_000);
    assert.equal(login.status, 503, `${label}: POST /login answered ${login.status} ${JSON.stringify(login.body)}`);
    assert.match(login.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${label}: Retry-After on the 503 of /login`);
  }

  assert.deepEqual(user.clearingCookies(), [], `${label}: an answer cleared the session cookie`);
  assert.ok(user.jar.has('session'), `${label}: the session cookie is still in the jar`);
  assert.ok(app.alive(), `${label}: the app died:\n${app.output()}`);
  return protectedAnswer.ms;
}

describe('Redis sessions: Redis killed mid-run, then restarted (R-01, R-02, R-13, SEC-55)', { skip: noRedis, timeout: 40_000 }, () => {
  let server: RedisServer | undefined;
  let app: AppProcess;

  before(async () => {
    server = await startRedisServer();
    app = await startApp('redis-fault', { DATA_DIR: dataDir(), SESSION_STORE: server.url });
  });
  after(async () => {
    await app?.stop();
    await server?.stop();
  });

  it('R-01, SEC-55: Redis killed → 503 + Retry-After within 2 s, public pages 200, /healthz 503, login 503, no cookie cleared; R-02, R-13: back on the same port → the same process serves within 5 s, the lost session is a 401 and logging in again works', async () => {
    const email = uniqueEmail('redis');
    const user = new Client();
    await user.register(app, email);
    assert.equal((await user.get(app, '/protected')).status, 200);

    await server!.kill();
    const ms = await assertFailsClosed(app, user, email, 'Redis down');
    console.log(`# R-01: with Redis killed, GET /protected answered 503 in ${ms.toFixed(0)} ms`);
    // The outage goes on for a while: still 503, still alive.
    await sleep(500);
    assert.equal((await user.get(app, '/protected')).status, 503);

    await server!.restart();
    const back = await poll(async () => {
      const answer = await user.get(app, '/protected', 2_000);
      return answer.status !== 503 ? answer : undefined;
    }, RECOVERY_BUDGET);
    assert.ok(back.ok, `R-02: /protected still failing ${RECOVERY_BUDGET} ms after Redis came back (last: ${back.value?.status ?? String(back.error)})`);
    console.log(`# R-02: /protected answered again ${back.ms.toFixed(0)} ms after Redis was back`);
    // this redis-server keeps nothing, so the session is gone: the user is simply logged out.
    assert.equal(back.value!.status, 401, `after the restart: ${back.value!.status} ${JSON.stringify(back.value!.body)}`);
    assert.equal((await new Client().get(app, '/healthz')).status, 200);
    await user.login(app, email);
    assert.equal((await user.get(app, '/protected')).status, 200, 'logging in again works');
    assert.ok(app.alive());
    assert.deepEqual(troubleLines(app.output()), [], 'the app logged errors');
  });
});

describe('PostgreSQL behind a proxy: cut and restored, then blackholed (R-01, R-02, R-03)', { skip: noPostgres, timeout: 60_000 }, () => {
  let db: TestDatabase | undefined;
  let proxy: TcpProxy | undefined;
  let app: AppProcess;

  before(async () => {
    db = await createDatabase();
    const target = new URL(POSTGRES_URL);
    proxy = await startProxy(target.hostname, Number(target.port || 5432));
    // Users and sessions both in PostgreSQL, both through the proxy.
    app = await startApp('pg-fault', { DATA_DIR: dataDir(), DATABASE_URL: db.urlVia(proxy.port) });
  });
  after(async () => {
    await app?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('R-01, R-02: proxy cut → 503 within 2 s, nothing crashes, no cookie cleared; restored → the session works again within 5 s', async () => {
    const email = uniqueEmail('pgcut');
    const user = new Client();
    await user.register(app, email);
    assert.equal((await user.get(app, '/protected')).status, 200);

    await proxy!.cut();
    const ms = await assertFailsClosed(app, user, email, 'PostgreSQL cut');
    console.log(`# R-01: with PostgreSQL cut, GET /protected answered 503 in ${ms.toFixed(0)} ms`);

    await proxy!.restore();
    const back = await poll(async () => (await user.get(app, '/protected', 3_000)).status === 200, RECOVERY_BUDGET);
    assert.ok(back.ok, `R-02: /protected not 200 within ${RECOVERY_BUDGET} ms of PostgreSQL being reachable again`);
    console.log(`# R-02: /protected answered 200 again ${back.ms.toFixed(0)} ms after the proxy was restored`);
    assert.equal((await new Client().get(app, '/healthz')).status, 200);
    assert.ok(app.alive());
  });

  it('R-03: proxy turned blackhole mid-run (accepts, never answers) → 503 within the store timeout, no hang, no crash; restored → works again', async () => {
    const email = uniqueEmail('pghole');
    const user = new Client();
    await user.register(app, email);
    assert.equal((await user.get(app, '/protected')).status, 200);

    proxy!.blackhole();
    // latchkey's store timeout is 2 s and the pool's query timeout 3 s: allow for the first.
    const budget = 3_500;
    for (const round of [1, 2]) {
      const answer = await user.get(app, '/protected', budget + 5_000);
      console.log(`# R-03: blackholed PostgreSQL, round ${round}: GET /protected answered ${answer.status} in ${answer.ms.toFixed(0)} ms`);
      assert.equal(answer.status, 503, `round ${round}: ${answer.status} ${JSON.stringify(answer.body)}`);
      assert.match(answer.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.ok(answer.ms <= budget, `round ${round}: GET /protected took ${answer.ms.toFixed(0)} ms (budget ${budget} ms)`);
    }
    const health = await new Client().get(app, '/healthz', budget + 5_000);
    assert.equal(health.status, 503);
    assert.ok(health.ms <= budget, `/healthz took ${health.ms.toFixed(0)} ms`);
    const login = await new Client().post(app, '/login', { login: email, password: PASSWORD }, budget + 5_000);
    assert.equal(login.status, 503, `login while blackholed: ${login.status}`);
    assert.ok(login.ms <= budget, `POST /login took ${login.ms.toFixed(0)} ms`);
    assert.deepEqual(user.clearingCookies(), [], 'an answer cleared the session cookie');
    assert.ok(app.alive(), `the app died:\n${app.output()}`);

    await proxy!.restore();
    const back = await poll(async () => (await user.get(app, '/protected', 4_000)).status === 200, RECOVERY_BUDGET);
    assert.ok(back.ok, `/protected not 200 within ${RECOVERY_BUDGET} ms of the blackhole ending`);
    console.log(`# R-02: after the blackhole, /protected answered 200 again in ${back.ms.toFixed(0)} ms`);
    assert.ok(app.alive());
    assert.deepEqual(troubleLines(app.output()), [], 'the app logged errors');
  });
});

describe('unreachable or evicting stores at start, and a full Redis (R-03, R-10)', { timeout: 60_000 }, () => {
  let blackhole: Blackhole | undefined;
  before(async () => {
    blackhole = await startBlackhole();
  });
  after(async () => {
    await blackhole?.close();
  });

  /** Exit code 1 within `within` ms, one line on stderr starting with `variable:`, no stack trace. */
  function assertRefused(refusal: Awaited<ReturnType<typeof expectRefusal>>, variable: string, within: number, also?: RegExp): void {
    assert.notEqual(refusal.code, 'timeout', `still running after ${within} ms:\n${refusal.output}`);
    assert.equal(refusal.started, false, `it started anyway:\n${refusal.output}`);
    assert.equal(refusal.code, 1, `exit code:\n${refusal.output}`);
    const lines = refusal.stderr.split('\n').filter((line) => line.trim() !== '');
    const naming = lines.filter((line) => line.startsWith(`${variable}: `));
    assert.equal(naming.length, 1, `one line naming ${variable}:\n${refusal.stderr}`);
    assert.doesNotMatch(refusal.stderr, /^\s+at /m, 'no stack trace');
    if (also) assert.match(naming[0]!, also);
    assert.ok(refusal.ms <= within, `took ${refusal.ms.toFixed(0)} ms (budget ${within} ms)`);
  }

  it('R-03: SESSION_STORE=redis://<blackhole> → refuses to start within a few seconds, one line naming SESSION_STORE', { skip: noRedis }, async () => {
    const refusal = await expectRefusal({ DATA_DIR: dataDir(), SESSION_STORE: `redis://127.0.0.1:${blackhole!.port}` }, 15_000);
    console.log(`# R-03: refused a Redis blackhole in ${refusal.ms.toFixed(0)} ms: ${refusal.stderr.trim()}`);
    assertRefused(refusal, 'SESSION_STORE', 10_000);
  });

  it('R-03: DATABASE_URL=postgres://<blackhole> → refuses to start within a few seconds, one line naming DATABASE_URL', async () => {
    const refusal = await expectRefusal({ DATA_DIR: dataDir(), DATABASE_URL: `postgres://postgres@127.0.0.1:${blackhole!.port}/latchkey` }, 15_000);
    console.log(`# R-03: refused a PostgreSQL blackhole in ${refusal.ms.toFixed(0)} ms: ${refusal.stderr.trim()}`);
    assertRefused(refusal, 'DATABASE_URL', 10_000);
  });

  it('R-10: a Redis with maxmemory-policy allkeys-lru → refuses to start, naming SESSION_STORE and the policy', { skip: noRedis }, async () => {
    const evicting = await startRedisServer(['--maxmemory-policy', 'allkeys-lru']);
    try {
      const refusal = await expectRefusal({ DATA_DIR: dataDir(), SESSION_STORE: evicting.url }, 15_000);
      assertRefused(refusal, 'SESSION_STORE', 10_000, /allkeys-lru/);
      assert.match(refusal.stderr, /noeviction/, 'says which policy to set');
    } finally {
      await evicting.stop();
    }
  });

  it('R-10: a full Redis with noeviction → writes fail: login answers 503, never 200 or 500; memory freed → login works', { skip: noRedis }, async () => {
    const full = await startRedisServer(['--maxmemory-policy', 'noeviction']);
    const direct = createClient({ url: full.url, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
    direct.on('error', () => {});
    let app: AppProcess | undefined;
    try {
      app = await startApp('redis-full', { DATA_DIR: dataDir(), SESSION_STORE: full.url });
      const email = uniqueEmail('full');
      const user = new Client();
      await user.register(app, email);
      await user.post(app, '/logout');

      // "Full": maxmemory below what Redis already uses, so every write that may grow it is
      // refused with OOM (filling up to a fixed maxmemory leaves used memory hovering around the
      // limit, and a small write sometimes passes).
      await direct.connect();
      const used = Number(/used_memory:(\d+)/.exec(await direct.info('memory'))?.[1]);
      assert.ok(used > 0);
      await direct.configSet('maxmemory', String(Math.floor(used / 2)));
      await assert.rejects(direct.set('probe', 'x'), /OOM/, 'Redis refuses writes');

      const login = await user.post(app, '/login', { login: email, password: PASSWORD });
      assert.equal(login.status, 503, `login on a full Redis: ${login.status} ${JSON.stringify(login.body)}`);
      assert.match(login.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.equal(user.jar.has('session'), false, 'no session cookie from a login that could not be stored');

      await direct.configSet('maxmemory', '0');
      await user.login(app, email);
      assert.equal((await user.get(app, '/protected')).status, 200);
      assert.deepEqual(troubleLines(app.output()), [], 'the app logged errors');
    } finally {
      if (direct.isOpen) direct.destroy();
      await app?.stop();
      await full.stop();
    }
  });
});
