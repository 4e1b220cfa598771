/**
 * Two reference-app processes, A and B, behind an imaginary round-robin balancer: one SECRET_KEY,
 * one PUBLIC_URL, users in one PostgreSQL database, and sessions either in one Redis (a private
 * redis-server) or in the same PostgreSQL. R-07 and SEC-32: a login on A works on B,
 * a logout on A is refused by B at its very next request, "log out other sessions" on A ends B's
 * session at once, and the throttle counts failures across both instances (the 6th wrong
 * password overall is throttled, whichever instance gets it).
 *
 * Needs PostgreSQL (its own database `latchkey_scale_<random>`, dropped afterwards) and the
 * redis-server binary; without them the file skips, saying why (CI: fails).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedisServer, type RedisServer } from '../fixtures/redis-server.ts';
import { probePostgres, requireService } from '../support/services.ts';
import {
  Client, createDatabase, PASSWORD, probeRedisServer, removeDir, startApp, stopAll, tempDir, troubleLines, uniqueEmail,
  type AppProcess, type TestDatabase,
} from './support.ts';

const postgres = await requireService('postgres', probePostgres);
const redis = await requireService('redis', probeRedisServer);
const skip = !postgres.available ? postgres.reason : !redis.available ? redis.reason : false;
if (skip) console.log(`# skipping the multi-instance tests: ${skip}`);

/** One deployment: two instances on shared stores. */
interface Pair {
  a: AppProcess;
  b: AppProcess;
}

function describeMultiInstance(variant: 'redis sessions' | 'postgres sessions'): void {
  describe(`two instances, users in PostgreSQL, ${variant} (R-07, SEC-32)`, { skip, timeout: 60_000 }, () => {
    let db: TestDatabase | undefined;
    let redisServer: RedisServer | undefined;
    const dirs: string[] = [];
    const pair = {} as Pair;

    before(async () => {
      db = await createDatabase();
      const settings: Record<string, string> = { DATABASE_URL: db.url };
      if (variant === 'redis sessions') {
        redisServer = await startRedisServer();
        settings.SESSION_STORE = redisServer.url;
      }
      // Each instance has a DATA_DIR of its own: nothing may be shared through the file system.
      const [dirA, dirB] = [tempDir(), tempDir()] as [string, string];
      dirs.push(dirA, dirB);
      // One after the other: the first runs the migrations.
      pair.a = await startApp('A', { ...settings, DATA_DIR: dirA });
      pair.b = await startApp('B', { ...settings, DATA_DIR: dirB });
    });

    after(async () => {
      const outputs = [pair.a, pair.b].filter(Boolean).map((app) => [app.name, troubleLines(app.output())] as const);
      await stopAll();
      await redisServer?.stop();
      await db?.drop();
      for (const dir of dirs) removeDir(dir);
      for (const [name, lines] of outputs) assert.deepEqual(lines, [], `app ${name} logged errors`);
    });

    it('R-07: a login on A works on B, and on A again', async () => {
      const { a, b } = pair;
      const email = uniqueEmail('roam');
      const client = new Client();
      await client.register(a, email);
      await client.post(a, '/logout');
      assert.equal((await client.get(b, '/protected')).status, 401, 'logged out before the test');

      await client.login(a, email);
      const onB = await client.get(b, '/protected');
      assert.equal(onB.status, 200, `B refused A's session: ${JSON.stringify(onB.body)}`);
      assert.match(onB.body.message, /^Hello, Scale! This is a protected route\.$/);
      assert.equal((await client.get(a, '/protected')).status, 200);
      // And the other way round: a login on B works on A.
      const other = new Client();
      await other.login(b, email);
      assert.equal((await other.get(a, '/protected')).status, 200);
    });

    it('R-07: a logout on A is refused by B at its next request (401), B having just seen the session', async () => {
      const { a, b } = pair;
      const email = uniqueEmail('logout');
      const client = new Client();
      await client.register(a, email);
      // B has served this session a moment ago: any per-instance cache of it is warm.
      assert.equal((await client.get(b, '/protected')).status, 200);
      assert.equal((await client.get(b, '/protected')).status, 200);
      const kept = client.clone(); // the cookie as it was, replayed after the logout

      const logout = await client.post(a, '/logout');
      assert.equal(logout.status, 200);
      assert.equal(client.jar.has('session'), false, 'the logout cleared the session cookie');

      const replay = await kept.get(b, '/protected');
      assert.equal(replay.status, 401, `B still accepted the session A logged out: ${JSON.stringify(replay.body)}`);
      assert.equal((await kept.get(a, '/protected')).status, 401);
    });

    it('SEC-32: "log out other sessions" on A ends the session used on B at once', async () => {
      const { a, b } = pair;
      const email = uniqueEmail('revoke');
      const onA = new Client();
      await onA.register(a, email);
      const onB = new Client();
      await onB.login(b, email);
      assert.equal((await onB.get(b, '/protected')).status, 200);
      assert.equal((await onB.get(b, '/protected')).status, 200);

      const revoke = await onA.post(a, '/account/sessions/revoke-others');
      assert.equal(revoke.status, 200, `revoke-others on A: ${revoke.status} ${JSON.stringify(revoke.body)}`);
      assert.equal(revoke.body.sessions_ended, 1);

      const next = await onB.get(b, '/protected');
      assert.equal(next.status, 401, `B's session survived "log out other sessions" on A: ${JSON.stringify(next.body)}`);
      assert.equal((await onB.get(a, '/protected')).status, 401);
      // The session that asked stays, on both instances.
      assert.equal((await onA.get(a, '/protected')).status, 200);
      assert.equal((await onA.get(b, '/protected')).status, 200);
    });

    for (const last of ['B', 'A'] as const) {
      it(`R-07: wrong passwords alternated A, B, A… add up: the 6th overall, on ${last}, is throttled (429 + Retry-After)`, async () => {
        const { a, b } = pair;
        const email = uniqueEmail('throttle');
        await new Client().register(a, email);
        // Five free failures, alternating so that the 6th lands on `last`.
        const order = last === 'B' ? [a, b, a, b, a, b] : [b, a, b, a, b, a];
        const statuses: number[] = [];
        let sixth;
        for (const [i, app] of order.entries()) {
          const answer = await new Client().post(app, '/login', { login: email, password: `wrong ${PASSWORD} ${i}` });
          statuses.push(answer.status);
          if (i === 5) sixth = answer;
        }
        assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429], `statuses of attempts on ${order.map((x) => x.name).join(',')}`);
        const retryAfter = sixth!.headers.get('retry-after');
        assert.match(retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After on the 429');
        // Throttled means throttled for the right password too, on either instance.
        const right = await new Client().post(last === 'B' ? a : b, '/login', { login: email, password: PASSWORD });
        assert.equal(right.status, 429, `the correct password right after was not throttled on the other instance: ${right.status}`);
      });
    }
  });
}

describeMultiInstance('redis sessions');
describeMultiInstance('postgres sessions');
