/**
 * two reference-app processes on ONE `DATA_DIR`, so one SQLite file (WAL, busy
 * timeout), doing 1 000 login + logout cycles between them, with a few concurrent clients and
 * many users (so that the per-account serialisation of logins never throttles anything). Each
 * cycle logs in on one instance, checks the session on the other, and logs out on either: the
 * two processes write the same tables all the time. Expected: every answer 200, zero 5xx, and no
 * `SQLITE_BUSY` / "database is locked" in either app's output.
 *
 * Needs nothing but the app itself; each login is one argon2id verification (~16 ms of a core),
 * so the run takes about 15-25 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, PASSWORD, removeDir, startApp, stopAll, tempDir, troubleLines, uniqueEmail, type AppProcess } from './support.ts';

const CYCLES = 1_000;
const CLIENTS = 6;
const USERS_PER_CLIENT = 4;

describe('two app processes on one SQLite file (R-11)', { timeout: 90_000 }, () => {
  const dataDir = tempDir();
  const apps: AppProcess[] = [];

  before(async () => {
    // The first creates the database; the second opens the existing file.
    apps.push(await startApp('A', { DATA_DIR: dataDir }));
    apps.push(await startApp('B', { DATA_DIR: dataDir }));
  });

  after(async () => {
    await stopAll();
    removeDir(dataDir);
  });

  it(`R-11: ${CYCLES} login + logout cycles over both processes: zero 5xx, no SQLITE_BUSY`, async () => {
    const [a, b] = apps as [AppProcess, AppProcess];
    const instances = [a, b];

    // Many users, registered half on A and half on B, concurrently (registrations write too).
    const users = await Promise.all(
      Array.from({ length: CLIENTS * USERS_PER_CLIENT }, async (_, i) => {
        const email = uniqueEmail(`sqlite${i}`);
        const client = new Client();
        await client.register(instances[i % 2]!, email);
        await client.post(instances[(i + 1) % 2]!, '/logout');
        return email;
      }),
    );

    const statuses = new Map<string, number>();
    const failures: string[] = [];
    const count = (what: string, status: number, expected: number, detail: unknown) => {
      const key = `${what} ${status}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (status !== expected && failures.length < 20) failures.push(`${key}: ${JSON.stringify(detail)}`);
    };

    let next = 0;
    const begin = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, worker) => {
        for (let cycle = next++; cycle < CYCLES; cycle = next++) {
          const email = users[worker * USERS_PER_CLIENT + (cycle % USERS_PER_CLIENT)]!;
          const login = instances[cycle % 2]!;
          const other = instances[(cycle + 1) % 2]!;
          const logoutOn = instances[Math.floor(cycle / 2) % 2]!;
          const client = new Client();
          const answer = await client.post(login, '/login', { login: email, password: PASSWORD });
          count(`login on ${login.name}`, answer.status, 200, answer.body);
          if (answer.status !== 200) continue;
          const seen = await client.get(other, '/protected');
          count(`protected on ${other.name}`, seen.status, 200, seen.body);
          const out = await client.post(logoutOn, '/logout');
          count(`logout on ${logoutOn.name}`, out.status, 200, out.body);
        }
      }),
    );
    const seconds = (performance.now() - begin) / 1000;
    console.log(`# R-11: ${CYCLES} cycles in ${seconds.toFixed(1)} s (${(CYCLES / seconds).toFixed(0)} logins/s): ${JSON.stringify(Object.fromEntries(statuses))}`);

    const serverErrors = [...statuses].filter(([key]) => /\s5\d\d$/.test(key));
    assert.deepEqual(serverErrors, [], `5xx answers: ${failures.join('\n')}`);
    assert.deepEqual(failures, [], 'every login, protected page and logout answers 200');
    const logins = [...statuses].filter(([key]) => key.startsWith('login')).reduce((n, [, v]) => n + v, 0);
    assert.equal(logins, CYCLES);
    for (const app of instances) {
      assert.ok(app.alive(), `app ${app.name} died:\n${app.output()}`);
      assert.deepEqual(troubleLines(app.output()), [], `app ${app.name} logged errors (SQLITE_BUSY, database is locked, 500s)`);
    }
  });
});
