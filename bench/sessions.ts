/**
 * Benchmark: does GET /protected stay as fast with a million stored sessions as with a thousand?
 * For each store of the reference app (SQLite, PostgreSQL, Redis with users in PostgreSQL), it
 * starts one app (`app/main.ts`, session cache off, as `npm start` runs it) per size, SIZES
 * (10³ 10⁴ 10⁵ 10⁶ sessions stored), fills each store in bulk (bench/sessions/bulk.ts: straight
 * SQL or a Lua loop, laid out as the store's createSession writes, not through HTTP) up to its
 * size, of which SESSIONS (64) are real logins through POST /login that the load sends in turn,
 * and then measures every size in alternating rounds. In each round each size's app is started
 * again, on the same data (restartApp): a process that slows down over its life, which one app
 * per size for the whole run read as the effect of its size (bench/README.md), then moves only
 * the round it is in. Each measured run: `wrk -t1 -c32 -d3s` after 5 + 3 s of warm-up (the fresh
 * process's JIT, then WARM),
 * the server's CPU time per request (utime + stime of all its threads ÷ requests), and the
 * store's (the PostgreSQL backends of the bench's databases, the bench's redis-server). A store's
 * result is the median over the rounds of each size's ratio to the smallest size in the same
 * round, in req/s and in CPU terms, against the goal: flat within 10 %. It is a report, not a
 * test: it exits 0 whatever the figures, and non-zero only when something broke (an app that does
 * not start, a bulk session the store cannot read back, non-2xx answers under load).
 *
 *   npm run bench:sessions                         # = node --conditions=source bench/sessions.ts
 *   STORES=sqlite SIZES="1e3 1e5" REPS=2 npm run bench:sessions   # quick look
 *
 * Services as bench:scale: PostgreSQL at PG_URL (its own databases `latchkey_bench_<random>_…`,
 * dropped WITH (FORCE) at the end), its own redis-server (one database number per size; a million
 * sessions take about 0.5 GiB; stopped at the end), wrk.
 *
 * Knobs (env): STORES="sqlite postgres redis", SIZES="1e3 1e4 1e5 1e6", WRK_DUR=3s, WARM=3s,
 * REPS=5, MAX_ROUNDS=2×REPS, CONC=32, SESSIONS=64, OTHERS_MAX=0.25 (cores), QUIET_WAIT=60s,
 * FLAT=0.10, PG_URL.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { finish, positiveInt, seconds, startScriptEnv } from './lib.ts';
import { APP_USER, checkSession, loginSessions } from './scale/app-user.ts';
import { fmtCores, fmtInt, measuredRun, median, pgQuery, pgVersion, privateRedis, restartApp, runBench, startApp, stop, STORE_LABEL, table, wrkVersion, type RunningApp, type StoreName } from './scale/infra.ts';
import { namedSeconds, usageDelta, waitForQuiet } from './scale/procfs.ts';
import { fmtSpread, spread, type Spread } from './scale/ratios.ts';
import { fillSessions } from './sessions/bulk.ts';

const USER_AGENT = 'latchkey-sessions-bench/1.0';
const TAG = randomBytes(4).toString('hex');
const DB_PREFIX = `latchkey_bench_${TAG}`;

function list(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback).split(/[\s,]+/).filter((v) => v !== '');
}

const STORES = list('STORES', 'sqlite postgres redis').map((s) => {
  if (!['sqlite', 'postgres', 'redis'].includes(s)) throw new TypeError(`STORES: unknown "${s}"`);
  return s as StoreName;
});
const SIZES = list('SIZES', '1e3 1e4 1e5 1e6').map((s) => {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new TypeError(`SIZES: "${s}" is not a positive integer`);
  return n;
});
const SESSIONS = positiveInt('SESSIONS', 64);
const REPS = positiveInt('REPS', 5);
/** Seconds of load, not counted, for a freshly started app's JIT before each measured run. */
const JIT_WARM = 5;
const K = {
  WRK_DUR: seconds('WRK_DUR', '3s'),
  WARM: seconds('WARM', '3s'),
  REPS,
  MAX_ROUNDS: positiveInt('MAX_ROUNDS', 2 * REPS),
  CONC: positiveInt('CONC', 32),
  OTHERS_MAX: Number(process.env.OTHERS_MAX ?? '0.25'),
  QUIET_WAIT: seconds('QUIET_WAIT', '60s'),
  FLAT: Number(process.env.FLAT ?? '0.10'),
};
if (SIZES.some((n) => n < SESSIONS)) throw new TypeError(`SIZES must each be ≥ SESSIONS (${SESSIONS}): the real sessions count in`);
if (!(K.OTHERS_MAX >= 0) || !(K.FLAT > 0)) throw new TypeError('OTHERS_MAX must be ≥ 0 and FLAT > 0');

const log = (line: string) => console.log(line);
const problems: string[] = [];
function broke(line: string): void {
  problems.push(line);
  log(`PROBLEM: ${line}`);
}
const fmtUs = (n: number) => (!Number.isFinite(n) ? '-' : n < 100 ? n.toFixed(1) : n.toFixed(0));
const fmtSize = (n: number) => (Math.log10(n) % 1 === 0 ? `10^${Math.log10(n)}` : fmtInt(n));

interface Run {
  readonly round: number;
  readonly rps: number;
  readonly cpuUs: number;
  readonly storeUs: number;
  readonly others: number;
}

interface SizeTarget {
  readonly size: number;
  /** Started again in every round. */
  app: RunningApp;
  readonly cookies: string[];
  readonly runs: Run[];
}

/** How big the store got: the SQLite file, the PostgreSQL table with its indexes, Redis's used memory. */
async function footprint(store: StoreName, app: RunningApp, redisUrl: string | null): Promise<string> {
  try {
    if (store === 'sqlite') return `${fmtInt(statSync(join(app.dataDir, 'app.db')).size / 2 ** 20)} MiB file`;
    if (store === 'postgres') {
      const [row] = await pgQuery<{ b: string }>(app.database as string, "SELECT pg_total_relation_size('latchkey_sessions') AS b");
      return `${fmtInt(Number(row?.b) / 2 ** 20)} MiB table+indexes`;
    }
    const client = createClient({ url: redisUrl as string });
    await client.connect();
    try {
      const info = String(await client.sendCommand(['INFO', 'memory']));
      return `redis used_memory ${fmtInt(Number(/used_memory:(\d+)/.exec(info)?.[1]) / 2 ** 20)} MiB (all sizes)`;
    } finally {
      client.destroy();
    }
  } catch (error) {
    return `? (${(error as Error).message})`;
  }
}

async function measureStore(store: StoreName, redisBase: string | null): Promise<void> {
  log('');
  log(`=== ${STORE_LABEL[store]}: one app per size (${SIZES.map(fmtSize).join(', ')} sessions stored), session cache off`);
  const targets: SizeTarget[] = [];
  try {
    for (const [i, size] of SIZES.entries()) {
      const redisUrl = store === 'redis' ? `${redisBase}/${i}` : null;
      const app = await startApp(store, `${TAG}_${i}`, redisUrl, 0);
      const { cookies } = await loginSessions(app.base, `${STORE_LABEL[store]}, ${fmtSize(size)}`, USER_AGENT, SESSIONS);
      const bulk = size - SESSIONS;
      const now = Date.now();
      const target = store === 'sqlite' ? { store, path: join(app.dataDir, 'app.db') } : store === 'postgres' ? { store, url: pgUrlOf(app) } : { store, url: redisUrl as string };
      const filled = await fillSessions(target, bulk, now);
      await checkSession(app.base, cookies[0] as string, `Hello, ${APP_USER.name}!`, USER_AGENT);
      log(
        `  ${fmtSize(size).padEnd(5)} app pid ${app.child.pid}: ${SESSIONS} logins + ${fmtInt(bulk)} bulk sessions in ${filled.seconds.toFixed(1)} s; ` +
          `read back through the store: ${filled.sample.id} of ${filled.sample.userId}; ${await footprint(store, app, redisUrl)}`,
      );
      targets.push({ size, app, cookies, runs: [] });
    }

    let quiet = 0;
    const disturbedRounds = new Set<number>();
    for (let round = 1; round <= K.MAX_ROUNDS && quiet < K.REPS; round++) {
      const q = await waitForQuiet(DB_PREFIX, K.OTHERS_MAX, 3, K.QUIET_WAIT);
      if (!q.quiet) log(`  (round ${round}: waited ${q.waited.toFixed(0)} s, still busy: others ${fmtCores(q.others)} cores)`);
      let disturbed = false;
      // A different size first in each round, so that none always follows the same neighbour.
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length] as SizeTarget);
      const cells: string[] = [];
      for (const t of order) {
        t.app = await restartApp(t.app);
        // JIT_WARM more seconds of warm-up: a fresh app's JIT spends about twice the CPU per request at first.
        const { run, before: u0, after: u1, cpuUs } = await measuredRun(
          { url: `${t.app.base}/protected`, headers: { 'user-agent': USER_AGENT }, cookies: t.cookies, pid: t.app.child.pid },
          { conc: K.CONC, warm: JIT_WARM + K.WARM, seconds: K.WRK_DUR, dbPrefix: DB_PREFIX },
        );
        const d = usageDelta(u0, u1);
        if (run.non2xx + run.socketErrors > 0) broke(`${store} ${fmtSize(t.size)} round ${round}: ${run.non2xx} non-2xx, ${run.socketErrors} socket errors`);
        const entry: Run = {
          round,
          rps: run.rps,
          cpuUs,
          storeUs: ((d.postgres * d.seconds + namedSeconds(u0, u1, 'redis-server')) * 1e6) / run.requests,
          others: d.others,
        };
        t.runs.push(entry);
        if (d.others > K.OTHERS_MAX) disturbed = true;
        cells.push(`${fmtSize(t.size)} ${fmtInt(run.rps)} req/s ${fmtUs(entry.cpuUs)}${store === 'sqlite' ? '' : `+${fmtUs(entry.storeUs)}`} µs`);
      }
      log(`  round ${round}${disturbed ? ' (disturbed)' : ''}: ${cells.join(' · ')}`);
      if (disturbed) disturbedRounds.add(round);
      else quiet++;
    }
    for (const t of targets) await checkSession(t.app.base, t.cookies[0] as string, `Hello, ${APP_USER.name}!`, USER_AGENT);
    report(store, targets, disturbedRounds);
  } catch (error) {
    const dead = targets.filter((t) => t.app.child.exitCode !== null || t.app.child.signalCode !== null);
    const why = dead.map((t) => `\n${fmtSize(t.size)} app exited (${t.app.child.signalCode ?? t.app.child.exitCode}); its stderr:\n${t.app.stderr.join('\n')}`).join('');
    broke(`${store}: ${(error as Error).message}${why}`);
  } finally {
    for (const t of targets) await stop(t.app.child);
  }
}

function pgUrlOf(app: RunningApp): string {
  const url = new URL(process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.pathname = `/${app.database}`;
  return url.toString();
}

const summary: string[][] = [];

function report(store: StoreName, targets: SizeTarget[], disturbedRounds: ReadonlySet<number>): void {
  const clean = (t: SizeTarget) => t.runs.filter((r) => !disturbedRounds.has(r.round));
  const anyClean = targets.every((t) => clean(t).length > 0);
  const pick = (t: SizeTarget) => (anyClean ? clean(t) : t.runs);
  const base = targets[0] as SizeTarget;
  const pairs = (t: SizeTarget, f: (r: Run, b: Run) => number): Spread =>
    spread(
      pick(t).flatMap((r) => {
        const b = base.runs.find((x) => x.round === r.round);
        return b === undefined ? [] : [f(r, b)];
      }),
    );
  const flat = (s: Spread) => (Number.isFinite(s.median) && Math.abs(s.median - 1) <= K.FLAT ? 'met' : 'NOT met');
  const rows = [['sessions stored', 'req/s', 'cpu µs/req', 'store µs/req', `req/s ÷ ${fmtSize(base.size)} (per round)`, 'goal', `CPU: ${fmtSize(base.size)} µs ÷ this`, 'goal']];
  for (const t of targets) {
    const r = pairs(t, (a, b) => a.rps / b.rps);
    const c = pairs(t, (a, b) => b.cpuUs / a.cpuUs);
    const same = t === base;
    rows.push([
      fmtSize(t.size),
      fmtInt(median(pick(t).map((x) => x.rps))),
      fmtUs(median(pick(t).map((x) => x.cpuUs))),
      store === 'sqlite' ? '' : fmtUs(median(pick(t).map((x) => x.storeUs))),
      same ? '1 (base)' : fmtSpread(r),
      same ? '' : `within ${K.FLAT * 100} %: ${flat(r)}`,
      same ? '1 (base)' : fmtSpread(c),
      same ? '' : flat(c),
    ]);
    if (!same) summary.push([STORE_LABEL[store], fmtSize(t.size), r.median.toFixed(2), flat(r), c.median.toFixed(2), flat(c)]);
  }
  log('');
  log(table(rows, [false, true, true, true, false, false, false, false]));
  log(
    `(medians over ${anyClean ? 'the undisturbed' : 'all (every one disturbed)'} rounds; a ratio is this size ÷ ${fmtSize(base.size)} in the same round; ` +
      'cpu = the app process, all threads; store = its PostgreSQL backends or the redis-server)',
  );
}

async function main(): Promise<number> {
  const wrkV = wrkVersion();
  const pg = await pgVersion();
  log(`latchkey sessions bench: GET /protected on the reference app with ${SIZES.map(fmtSize).join(', ')} sessions stored, on ${STORES.join(', ')}`);
  log(
    `node ${process.version}, ${availableParallelism()} CPUs, load avg ${loadavg().map((n) => n.toFixed(2)).join(' ')}; wrk ${wrkV ?? 'MISSING'}; ` +
      `PostgreSQL ${pg.ok ? pg.version : `UNREACHABLE (${pg.error})`}; wrk -t1 -c${K.CONC} -d${K.WRK_DUR}s after ${JIT_WARM} + ${K.WARM} s of warm-up on an app started afresh, ${K.REPS} undisturbed rounds (at most ${K.MAX_ROUNDS}); ` +
      `${SESSIONS} real sessions sent in turn; app environment: ${startScriptEnv().note}`,
  );
  if (wrkV === null) throw new Error('wrk is missing: apt-get update && apt-get install -y wrk');
  if (STORES.some((s) => s !== 'sqlite') && !pg.ok) throw new Error('PostgreSQL is needed for postgres and redis (users); set PG_URL or STORES=sqlite');
  const redis = STORES.includes('redis') ? await privateRedis() : null;
  for (const store of STORES) await measureStore(store, redis?.url ?? null);
  if (summary.length > 0) {
    log('');
    log(`SUMMARY: throughput and CPU per request with N sessions stored ÷ with ${fmtSize(SIZES[0] as number)}, median of per-round pairs; goal: flat within ${K.FLAT * 100} %`);
    log(table([['store', 'sessions', 'req/s ratio', 'goal', 'CPU ratio', 'goal'], ...summary], [false, true, true, false, true, false]));
    const notMet = summary.filter((r) => r[3] !== 'met' || r[5] !== 'met');
    log(notMet.length === 0 ? `GOALS: all ${summary.length} sizes flat within ${K.FLAT * 100} %` : `GOALS: NOT met for ${notMet.map((r) => `${r[0]} ${r[1]}`).join(', ')}`);
  }
  return finish(problems, log);
}

runBench(main);
