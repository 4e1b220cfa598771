/**
 * What extra node flags cost the authenticated request: two apps on one store side by side, A as
 * `npm start` runs it and B with the flags given after `--` appended (a V8 flag given twice takes
 * its last value), loaded in alternating rounds on GET /protected with the session cache off:
 * in each round each app gets `wrk -c32` for WARM seconds, then for WRK_DUR measured ones. Prints, per app, the medians of req/s and of server CPU µs per request, and
 * the median of the per-round B/A pairs with their range: a flag is worth its memory only when the
 * CPU pair stays near 1.
 *
 *   npm run bench:flags -- --max-semi-space-size=16
 *
 *   STORE=postgres npm run bench:flags -- --single-threaded-gc
 *   A_ROOT=/tmp/old STORE=redis npm run bench:flags     # this code (B) against another checkout's (A)
 *
 * With A_ROOT, A is the app of that checkout (a `git worktree` of an earlier commit, its
 * node_modules linked to this one's), still as npm start runs it: an A/B of two versions of the
 * code, and B's flags may be left out.
 *
 * Knobs (env): STORE=sqlite (or postgres, redis: a database each, as bench:scale makes them, and
 * for redis one private redis-server for both), REPS=10 rounds (even: each app goes first as often), WRK_DUR=3 (s), WARM=2 (s, before
 * each measured run), SESSIONS=64.
 *
 * @module bench/flags
 */
import { finish, positiveInt, seconds } from './lib.ts';
import { loginSessions } from './scale/app-user.ts';
import { fmtInt, measuredRun, median, privateRedis, runBench, startApp, STORE_LABEL, table, type StoreName } from './scale/infra.ts';

const REPS = positiveInt('REPS', 10);
const WARM = seconds('WARM', '2s');
const WRK_DUR = seconds('WRK_DUR', '3s');
const SESSIONS = positiveInt('SESSIONS', 64);
const flags = process.argv.slice(2);
const STORE = (process.env.STORE ?? 'sqlite') as StoreName;
const A_ROOT = process.env.A_ROOT;
const UA = 'latchkey-bench-flags';

async function main(): Promise<number> {
  if ((flags.length === 0 && A_ROOT === undefined) || flags.some((f) => !f.startsWith('--'))) throw new TypeError('give the node flags of B after --, e.g. npm run bench:flags -- --max-semi-space-size=16, or A_ROOT=<another checkout> to compare two versions');
  // An odd number of rounds lets one order win the median: the second app of a round is measured
  // after both ran, so any order effect left would fall on one side.
  if (REPS % 2 !== 0) throw new TypeError(`REPS must be even, so that each app goes first as often, got ${REPS}`);
  if (!Object.hasOwn(STORE_LABEL, STORE)) throw new TypeError(`STORE must be sqlite, postgres or redis, got ${STORE}`);
  const redisUrl = STORE === 'redis' ? (await privateRedis()).url : null;
  const apps = [await startApp(STORE, 'flags_a', redisUrl, 0, [], A_ROOT), await startApp(STORE, 'flags_b', redisUrl, 0, flags)];
  const cookies = await Promise.all(apps.map((app, i) => loginSessions(app.base, i === 0 ? 'A' : 'B', UA, SESSIONS)));
  const rows: { rps: number; cpuUs: number }[][] = [[], []];
  for (let round = 0; round < REPS; round++) {
    // Alternate which app goes first, so that a drift within a round hits both alike. Each app has
    // been idle while the other ran, and an idle app has collected its heap (app/idle-gc.ts),
    // which costs the next seconds of load up to a fifth more CPU: each measured run follows a
    // warm-up of its own, so that both are measured in the same state whatever their order.
    for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const app = apps[i]!;
      const { run, cpuUs } = await measuredRun(
        { url: `${app.base}/protected`, headers: { 'user-agent': UA }, cookies: cookies[i]!.cookies, pid: app.child.pid },
        { conc: 32, warm: WARM, seconds: WRK_DUR, dbPrefix: null },
      );
      if (run.non2xx > 0 || run.socketErrors > 0) throw new Error(`${i === 0 ? 'A' : 'B'}: ${run.non2xx} non-2xx answers, ${run.socketErrors} socket errors`);
      rows[i]!.push({ rps: run.rps, cpuUs });
    }
  }
  // B ÷ A of each round, in round order.
  const pair = (f: (r: { rps: number; cpuUs: number }) => number) => rows[1]!.map((b, k) => f(b) / f(rows[0]![k]!));
  const rps = pair((r) => r.rps);
  const cpu = pair((r) => r.cpuUs);
  const fmt = (xs: number[]) => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;
  console.log(`${STORE_LABEL[STORE]} · A: ${A_ROOT === undefined ? 'as npm start runs the app' : `the app of ${A_ROOT}`} · B: ${A_ROOT === undefined ? 'the same' : 'this checkout\'s'}${flags.length > 0 ? ` + ${flags.join(' ')}` : ''} · ${REPS} rounds of ${WRK_DUR} s after ${WARM} s, wrk -c32, ${SESSIONS} sessions each, session cache off`);
  console.log(
    table(
      [
        ['app', 'req/s', 'CPU µs/req'],
        ...rows.map((r, i) => [i === 0 ? 'A' : 'B', fmtInt(median(r.map((x) => x.rps))), median(r.map((x) => x.cpuUs)).toFixed(1)]),
      ],
      [false, true, true],
    ),
  );
  console.log(`per round B ÷ A CPU: ${cpu.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`B ÷ A per round, median [range]: req/s ${fmt(rps)} · CPU per request ${fmt(cpu)}`);
  return finish([], console.log);
}

runBench(main);
