/**
 * Benchmark: is login bound by the hash? In one run it measures (1) the raw argon2id throughput of
 * this machine through `PasswordHasher` with its default options (the parameters and concurrency
 * the server uses), (2) login throughput through the whole HTTP stack (Hono, latchkey, CSRF check,
 * throttle, SQLite, session creation), and prints the ratio logins/s ÷ verifies/s (goal ≥ 0.85);
 * and (3) the p99 latency of a protected route while logins saturate the hasher (goal < 50 ms).
 * It is a report, not a test: it exits 0 whatever the figures, and non-zero only when something
 * broke (a server that does not start or answers wrongly, a login that is not 200 in the login
 * phase, a protected request that is not 200, socket errors). `npm test` never runs it.
 *
 *   npm run bench:login                    # = node --conditions=source bench/login.ts
 *   DUR=3s WARM=1s REPS=1 npm run bench:login   # quick look
 *   CPU_PROF=/tmp/prof npm run bench:login      # also profile the server, print top self time
 *
 * Each round has four phases, run one after another, never overlapping:
 *   raw        a child process (`bench/login.ts raw`) makes `new PasswordHasher()`, hashes the
 *              bench password once, and keeps RAW_CALLERS (8) verify() callers in flight: WARM
 *              of warm-up, then verifies/s over DUR. Then the same with hash() over HASH_DUR.
 *   login      `wrk -t1 -c8 -d10s --latency -s bench/login.lua` POST /login, each request the next of
 *              the LOGIN_USERS (64) accounts with the right password (attempts on one account are
 *              serialized per process, so one account would measure that queue, not the hasher).
 *              Every answer must be 200 with a Set-Cookie: a 401, 429 or 503 means the bench is wrong.
 *   idle       GET /protected with a valid session cookie, PROT_CONC (4) connections, each waiting
 *              PROT_DELAY_MS (10 ms) between requests (≈ 400 req/s at most, a moderate rate): the
 *              baseline latency of the protected route with the hasher idle.
 *   saturated  the same protected load while a second wrk keeps SAT_CONC (16) logins in flight (2
 *              verifying, the rest queued in the hasher): p50/p99 of the protected requests, the
 *              logins/s meanwhile, and how many logins got 503 (hasher queue full; 16 < 2 + 64, so
 *              none are expected).
 * The req/s, p50 and p99 medians over the rounds are taken separately; the login/raw verdict is on
 * the median of per-round pairs (raw and login measured seconds apart), the ratio of the medians beside it.
 *
 * On a 2-core machine anything else that runs (another test suite, a browser) takes a core from
 * argon2 or from the event loop, and a round measures that instead. So each phase also measures
 * the cores that processes other than the bench's own used (/proc/stat minus our processes); a
 * round where that exceeds OTHERS_MAX (0.2 cores) in any phase is marked disturbed and left out of
 * the medians, and rounds go on until REPS undisturbed ones or MAX_ROUNDS (2 × REPS) in all. Before
 * each round it waits, up to QUIET_WAIT (60 s), for 3 s in a row in which others stay under OTHERS_MAX.
 *
 * Diagnostics, per phase: CPU (in cores: CPU-seconds per second) of the server's main thread, its
 * libuv workers and V8's helpers, and the time each spent runnable but waiting for a core
 * (/proc/<pid>/task/<tid>/schedstat); the whole machine's busy cores (/proc/stat); the server's
 * main-thread event-loop utilisation and event-loop delay (`GET /stats`, perf_hooks).
 *
 * Knobs (env): DUR=10s (each measured run), WARM=3s (warm-up, thrown away), REPS=3, CONC=8 (login
 * connections, as the peers in /work/shared/peers were measured), SAT_CONC=16, PROT_CONC=4,
 * PROT_DELAY_MS=10 (0 = closed loop, as fast as the route goes), RAW_CALLERS=8, HASH_DUR=DUR/2,
 * LOGIN_USERS=64, OTHERS_MAX=0.2 (cores), MAX_ROUNDS=2×REPS, QUIET_WAIT=60s, CPU_PROF=<dir> (run
 * the server under --cpu-prof). Experiments only, passed to the server and the raw child alike:
 * HASHER_MAX_CONCURRENT (default 2), UV_THREADPOOL_SIZE (default 4).
 *
 * Needs wrk (the Lua script does the POST bodies): `apt-get update && apt-get install -y wrk`.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { PasswordHasher } from '../src/passwords/hasher.ts';
import { fmtSpread, spread, verdict } from './scale/ratios.ts';
import { collect as libCollect, median, parseWrk, peakRssMiB, rssMiB, seconds, startJsonServer, startScriptEnv, stopChild, topSelfTime, withStartEnv, wrkVersion, type WrkRun } from './lib.ts';

const RATIO_GOAL = 0.85;
const P99_GOAL_MS = 50;
/** The server's memory under the login load and after it (the performance issue's goals). */
const PEAK_RSS_GOAL = 200;
const IDLE_RSS_GOAL = 120;
/** Seconds in a row with other processes under OTHERS_MAX before a round starts. */
const QUIET_SECONDS = 3;
const HERE = import.meta.dirname;
const LUA = join(HERE, 'login.lua');
/** The bench accounts' password (bench/login-server.ts registers them with it). */
const PASSWORD = 'violet kettle drums under nine moons';

// ------------------------------------------------------------------ knobs


function integerEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new TypeError(`${name} must be an integer ≥ ${min}, got ${raw}`);
  return value;
}

function hasherFromEnv(): PasswordHasher {
  const raw = process.env.HASHER_MAX_CONCURRENT;
  return raw ? new PasswordHasher({ maxConcurrent: Number(raw) }) : new PasswordHasher();
}

// ------------------------------------------------------------------ /proc: threads and machine

interface ThreadTimes {
  /** ns on a CPU, by thread group (MainThread, libuv-worker, V8Worker, other). */
  cpu: Record<string, number>;
  /** ns runnable but waiting on a run queue, by thread group. */
  wait: Record<string, number>;
  at: number;
}

const GROUPS: Record<string, string> = { MainThread: 'main', 'libuv-worker': 'libuv', V8Worker: 'v8' };

/** Per-thread scheduler counters of a process, summed by group; empty where /proc is missing. */
function threadTimes(pid: number | string | undefined): ThreadTimes {
  const cpu: Record<string, number> = {};
  const wait: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const [run, queued] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number) as [number, number];
        const group = GROUPS[comm] ?? 'other';
        cpu[group] = (cpu[group] ?? 0) + run;
        wait[group] = (wait[group] ?? 0) + queued;
      } catch {
        // the thread ended between readdir and read
      }
    }
  } catch {
    // no /proc
  }
  return { cpu, wait, at: performance.now() };
}

/** Cores busy (CPU-seconds per second) by group between two snapshots, and cores-worth of run-queue waiting. */
function threadLoad(before: ThreadTimes, after: ThreadTimes): { cpu: Record<string, number>; wait: Record<string, number> } {
  const ms = after.at - before.at;
  const per = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] as number) - (a[k] ?? 0)]).map(([k, ns]) => [k, (ns as number) / 1e6 / ms]));
  return { cpu: per(before.cpu, after.cpu), wait: per(before.wait, after.wait) };
}

/** Clock ticks busy and in all over all CPUs (/proc/stat), or null where /proc is missing. */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
    // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** utime + stime of a process (all its threads), and with `children` its reaped children's too; null if gone. */
function processTicks(pid: number | 'self', children = false): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number); // f[0] is field 3, state
    return (f[11] as number) + (f[12] as number) + (children ? (f[13] as number) + (f[14] as number) : 0);
  } catch {
    return null;
  }
}

interface CpuSnapshot {
  machine: ReturnType<typeof machineTicks>;
  /** This process, with the children it has reaped (a wrk that ran and ended inside the window). */
  self: number;
  /** Our other processes (the server, a live wrk, the driver seen from the raw child). */
  procs: Map<number, number>;
}

function cpuSnapshot(pids: Iterable<number | undefined>): CpuSnapshot {
  const procs = new Map<number, number>();
  for (const pid of pids) {
    const ticks = pid === undefined ? null : processTicks(pid);
    if (pid !== undefined && ticks !== null) procs.set(pid, ticks);
  }
  return { machine: machineTicks(), self: processTicks('self', true) ?? 0, procs };
}

/**
 * Cores busy on the whole machine between two snapshots, how many of them were ours (the bench's
 * processes) and how many something else's: other work on a shared machine, which makes a round
 * meaningless on 2 cores. A child alive at both ends counts its difference; one born inside the
 * window and still alive counts whole; one reaped inside the window is in `self` (cutime), whole,
 * so what it had used before the window comes off.
 */
function cpuShare(a: CpuSnapshot, b: CpuSnapshot): { busy: number; ours: number; others: number } {
  if (!a.machine || !b.machine || b.machine.total === a.machine.total) return { busy: Number.NaN, ours: Number.NaN, others: 0 };
  let ours = b.self - a.self;
  for (const [pid, ticks] of b.procs) ours += ticks - (a.procs.get(pid) ?? 0);
  for (const [pid, ticks] of a.procs) if (!b.procs.has(pid)) ours -= ticks;
  const perTick = availableParallelism() / (b.machine.total - a.machine.total);
  const busy = (b.machine.busy - a.machine.busy) * perTick;
  return { busy, ours: ours * perTick, others: Math.max(0, busy - ours * perTick) };
}

function fmtShare(share: ReturnType<typeof cpuShare>): string {
  return `machine ${share.busy.toFixed(2)}/${availableParallelism()} cores busy, other processes ${share.others.toFixed(2)}`;
}

function fmtLoad(load: ReturnType<typeof threadLoad>): string {
  const show = (k: string) => `${k} ${(load.cpu[k] ?? 0).toFixed(2)} (wait ${(load.wait[k] ?? 0).toFixed(2)})`;
  return ['main', 'libuv', 'v8'].map(show).join(', ');
}

// ------------------------------------------------------------------ raw mode (a child process)

interface RawResult {
  verifiesPerSec: number;
  verifies: number;
  verifySeconds: number;
  hashesPerSec: number;
  hashes: number;
  hashSeconds: number;
  /** Cores the whole raw process used while verifying, and its threads by group. */
  verifyCores: number;
  verifyThreads: ReturnType<typeof threadLoad>;
  /** The machine while verifying and while hashing: is something else running? */
  verifyShare: ReturnType<typeof cpuShare>;
  hashShare: ReturnType<typeof cpuShare>;
  peakRssMiB: number;
  maxConcurrent: number;
}

/**
 * Keeps `callers` calls of `op` in flight; after `warm` s, counts the completions over `dur` s.
 * The pool runs through both windows, so the measured one is steady state from its first instant.
 */
async function saturate(op: () => Promise<void>, callers: number, warm: number, dur: number, ours: number[]) {
  let stop = false;
  let done = 0;
  const workers = Array.from({ length: callers }, async () => {
    while (!stop) {
      await op();
      done++;
    }
  });
  await new Promise((r) => setTimeout(r, warm * 1000));
  const [count0, t0, cpu0, threads0, share0] = [done, performance.now(), process.cpuUsage(), threadTimes('self'), cpuSnapshot(ours)];
  await new Promise((r) => setTimeout(r, dur * 1000));
  const [count1, t1, cpu1, threads1, share1] = [done, performance.now(), process.cpuUsage(cpu0), threadTimes('self'), cpuSnapshot(ours)];
  stop = true;
  await Promise.all(workers);
  const secs = (t1 - t0) / 1000;
  return {
    count: count1 - count0,
    secs,
    rate: (count1 - count0) / secs,
    cores: (cpu1.user + cpu1.system) / 1e6 / secs,
    threads: threadLoad(threads0, threads1),
    share: cpuShare(share0, share1),
  };
}

interface RawOptions {
  warm: number;
  dur: number;
  hashDur: number;
  callers: number;
  /** The server's pid: it idles meanwhile, but its CPU is ours, not another process's. */
  serverPid: number | undefined;
}

async function rawMain(options: RawOptions): Promise<void> {
  const hasher = hasherFromEnv();
  const stored = await hasher.hash(PASSWORD);
  const verify = async () => {
    const { ok } = await hasher.verify(PASSWORD, stored);
    if (!ok) throw new Error('verify() of the known hash failed');
  };
  const ours = [process.ppid, ...(options.serverPid === undefined ? [] : [options.serverPid])];
  const v = await saturate(verify, options.callers, options.warm, options.dur, ours);
  const h = await saturate(async () => void (await hasher.hash(PASSWORD)), options.callers, 1, options.hashDur, ours);
  const result: RawResult = {
    verifiesPerSec: v.rate,
    verifies: v.count,
    verifySeconds: v.secs,
    hashesPerSec: h.rate,
    hashes: h.count,
    hashSeconds: h.secs,
    verifyCores: v.cores,
    verifyThreads: v.threads,
    verifyShare: v.share,
    hashShare: h.share,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    maxConcurrent: hasher.options.maxConcurrent,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ------------------------------------------------------------------ children

const children = new Set<ChildProcess>();

function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

interface Server {
  child: ChildProcess;
  port: number;
  cookie: string;
  userAgent: string;
  password: string;
  users: string[];
  hasher: { maxConcurrent: number; maxQueue: number; memory: number; passes: number; parallelism: number };
  threadpool: number;
  registerMs: number;
  stderr: string[];
}

async function startServer(cpuProf: string | null): Promise<Server> {
  const { child, line, stderr } = await startJsonServer<Omit<Server, 'child' | 'stderr'>>(join(HERE, 'login-server.ts'), {
    label: 'login server',
    nodeArgs: [...startScriptEnv().nodeArgs, ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])],
    // Registering 64 accounts is 64 argon2id hashes, two at a time: a few seconds.
    timeoutMs: 60_000,
    track: (c) => children.add(c),
    // As `npm start` runs the app: the start script's environment (MALLOC_ARENA_MAX: argon2 runs on libuv threads) and node flags.
    env: withStartEnv(process.env),
  });
  return { ...line, child, stderr };
}

async function stopServer(server: Server): Promise<void> {
  await stopChild(server.child, 10_000);
  children.delete(server.child);
}


/** {@link libCollect}, its child stopped with the bench. */
function collect(command: string, args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<string> {
  return libCollect(command, args, { timeoutMs, env: withStartEnv({ ...process.env, ...env }), track: (c) => children.add(c) });
}

function measureRaw(options: RawOptions): Promise<RawResult> {
  const args = ['--conditions=source', join(HERE, 'login.ts'), 'raw', JSON.stringify(options)];
  const timeout = (options.warm + options.dur + options.hashDur + 60) * 1000;
  return collect(process.execPath, args, timeout).then((out) => JSON.parse(out) as RawResult);
}

// ------------------------------------------------------------------ HTTP

function call(port: number, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

interface Stats {
  running: number;
  queued: number;
  unavailable: number;
  eventLoopUtilization: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

async function stats(server: Server, reset = false): Promise<Stats> {
  const res = await call(server.port, 'GET', reset ? '/stats?reset=1' : '/stats', {});
  return JSON.parse(res.body) as Stats;
}

/** Waits until the hasher has nothing running or queued (logins still in flight when wrk stopped). */
async function settle(server: Server): Promise<void> {
  const until = Date.now() + 15_000;
  for (;;) {
    const s = await stats(server);
    if (s.running === 0 && s.queued === 0) return;
    if (Date.now() > until) throw new Error(`the hasher did not drain: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Throws unless the server answers as it should; returns a description of what was checked. */
async function check(server: Server): Promise<string> {
  const ua = { 'user-agent': server.userAgent };
  const post = (login: string, password: string) =>
    call(server.port, 'POST', '/login', { ...ua, 'content-type': 'application/json' }, JSON.stringify({ login, password }));
  const ok = await post(server.users.at(-1) as string, server.password);
  if (ok.status !== 200 || !String(ok.headers['set-cookie'] ?? '').includes('session=')) {
    throw new Error(`POST /login with the right password answered ${ok.status} ${ok.body}, expected 200 with a session cookie`);
  }
  // An unknown account, so that no bench account gets a failure counted against it.
  const bad = await post('nobody@bench.example', server.password);
  if (bad.status !== 401) throw new Error(`POST /login for an unknown account answered ${bad.status} ${bad.body}, expected 401`);
  const protectedOk = await call(server.port, 'GET', '/protected', { ...ua, cookie: server.cookie });
  if (protectedOk.status !== 200 || (JSON.parse(protectedOk.body) as { message?: string }).message !== 'Hello, User 1!') {
    throw new Error(`GET /protected with the cookie answered ${protectedOk.status} ${protectedOk.body}, expected 200 {"message":"Hello, User 1!"}`);
  }
  const denied = await call(server.port, 'GET', '/protected', ua);
  if (denied.status !== 401) throw new Error(`GET /protected without the cookie answered ${denied.status}, expected 401`);
  return 'login 200 + cookie / unknown 401, protected 200 with the cookie / 401 without';
}

// ------------------------------------------------------------------ wrk

/** A wrk run, and the status counts bench/login.lua prints as its `STATUS` line. */
type Run = WrkRun & { readonly status: Record<string, number> };

function parseLoginRun(out: string): Run {
  const status = /^STATUS (.*)$/m.exec(out);
  if (!status) throw new Error(`wrk printed no STATUS line:\n${out}`);
  const counts = Object.fromEntries((status[1] as string).split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k as string, Number(v)]));
  return { ...parseWrk(out), status: counts };
}


async function wrkLogin(server: Server, connections: number, duration: number): Promise<Run> {
  const env = { WRK_MODE: 'login', WRK_USERS: server.users.join(','), WRK_PASSWORD: server.password, WRK_UA: server.userAgent };
  const args = ['-t1', `-c${connections}`, `-d${duration}s`, '--timeout', '10s', '--latency', '-s', LUA, `http://127.0.0.1:${server.port}/login`];
  return parseLoginRun(await collect('wrk', args, (duration + 30) * 1000, env));
}

async function wrkProtected(server: Server, connections: number, delayMs: number, duration: number): Promise<Run> {
  const env = { WRK_MODE: 'protected', WRK_DELAY_MS: String(delayMs), WRK_UA: server.userAgent };
  const args = ['-t1', `-c${connections}`, `-d${duration}s`, '--timeout', '10s', '--latency', '-s', LUA, '-H', `cookie: ${server.cookie}`, `http://127.0.0.1:${server.port}/protected`];
  return parseLoginRun(await collect('wrk', args, (duration + 30) * 1000, env));
}

// ------------------------------------------------------------------ profile summary



// ------------------------------------------------------------------ report


const fmt1 = (n: number) => n.toFixed(1);
const fmtMs = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const mark = (ok: boolean) => (ok ? '✓' : '✗');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusText(run: Run): string {
  const s = Object.entries(run.status).filter(([k, v]) => k !== '200' && v > 0);
  return s.length === 0 ? 'all 200' : s.map(([k, v]) => `${v}× ${k}`).join(', ');
}

interface Knobs {
  DUR: number;
  WARM: number;
  HASH_DUR: number;
  CONC: number;
  SAT_CONC: number;
  PROT_CONC: number;
  PROT_DELAY_MS: number;
  RAW_CALLERS: number;
  OTHERS_MAX: number;
}

interface Round {
  raw: RawResult;
  login: Run;
  loginThreads: ReturnType<typeof threadLoad>;
  loginShare: ReturnType<typeof cpuShare>;
  idle: Run;
  idleShare: ReturnType<typeof cpuShare>;
  satProtected: Run;
  satLogin: Run;
  satStats: Stats;
  satThreads: ReturnType<typeof threadLoad>;
  satShare: ReturnType<typeof cpuShare>;
  /** Most cores that other processes used in any phase of the round. */
  others: number;
  problems: string[];
}

/** The PIDs of our live child processes (the server, a wrk still running). */
function ourPids(): number[] {
  return [...children].filter((c) => c.exitCode === null && c.signalCode === null && c.pid !== undefined).map((c) => c.pid as number);
}

/**
 * Waits, up to `maxSeconds`, for QUIET_SECONDS (3) seconds in a row in which other processes use
 * at most `othersMax` cores; returns the seconds waited beyond those and what the last second saw.
 */
async function waitQuiet(othersMax: number, maxSeconds: number): Promise<{ waited: number; others: number }> {
  const start = performance.now();
  let quiet = 0;
  for (;;) {
    const a = cpuSnapshot(ourPids());
    await sleep(1000);
    const { others } = cpuShare(a, cpuSnapshot(ourPids()));
    quiet = others <= othersMax ? quiet + 1 : 0;
    const waited = (performance.now() - start) / 1000;
    if (quiet >= QUIET_SECONDS || waited >= maxSeconds) return { waited: Math.max(0, Math.floor(waited - QUIET_SECONDS)), others };
  }
}

/** One round: raw → login → idle → saturated, each measured alone; prints a few lines as it goes. */
async function runRound(server: Server, k: Knobs, tag: string): Promise<Round> {
  const pad = ' '.repeat(tag.length);
  const pid = server.child.pid;
  const problems: string[] = [];

  // raw: the hasher alone, in its own process
  const raw = await measureRaw({ warm: k.WARM, dur: k.DUR, hashDur: k.HASH_DUR, callers: k.RAW_CALLERS, serverPid: pid });
  console.log(
    `${tag} raw        ${fmt1(raw.verifiesPerSec).padStart(6)} verifies/s (${raw.verifies} in ${raw.verifySeconds.toFixed(1)} s), ` +
      `${fmt1(raw.hashesPerSec)} hashes/s (${raw.hashes} in ${raw.hashSeconds.toFixed(1)} s)`,
  );
  console.log(`${pad}   raw process ${raw.verifyCores.toFixed(2)} cores: ${fmtLoad(raw.verifyThreads)}; ${fmtShare(raw.verifyShare)}`);

  // login: the whole stack
  await wrkLogin(server, k.CONC, k.WARM);
  await settle(server);
  const t0 = threadTimes(pid);
  const c0 = cpuSnapshot(ourPids());
  const login = await wrkLogin(server, k.CONC, k.DUR);
  const loginShare = cpuShare(c0, cpuSnapshot(ourPids()));
  const loginThreads = threadLoad(t0, threadTimes(pid));
  await settle(server);
  const loginBad = login.requests - (login.status['200'] ?? 0) + (login.status.nocookie ?? 0) + login.socketErrors;
  if (loginBad > 0) problems.push(`${tag} login: ${statusText(login)}, ${login.status.nocookie} without a cookie, ${login.socketErrors} socket errors`);
  console.log(
    `${tag} login      ${fmt1(login.rps).padStart(6)} logins/s   p50 ${fmtMs(login.p50Ms)} ms  p99 ${fmtMs(login.p99Ms)} ms  ${login.requests} requests, ${statusText(login)}` +
      `  → ratio ${(login.rps / raw.verifiesPerSec).toFixed(2)}`,
  );
  console.log(`${pad}   server threads, cores: ${fmtLoad(loginThreads)}; ${fmtShare(loginShare)}`);

  // idle: the protected route alone
  const i0 = cpuSnapshot(ourPids());
  const idle = await wrkProtected(server, k.PROT_CONC, k.PROT_DELAY_MS, k.DUR);
  const idleShare = cpuShare(i0, cpuSnapshot(ourPids()));
  if (idle.requests !== (idle.status['200'] ?? 0) || idle.socketErrors > 0) problems.push(`${tag} idle protected: ${statusText(idle)}, ${idle.socketErrors} socket errors`);
  console.log(`${tag} idle       ${fmt1(idle.rps).padStart(6)} protected/s p50 ${fmtMs(idle.p50Ms)} ms  p99 ${fmtMs(idle.p99Ms)} ms  ${idle.requests} requests, ${statusText(idle)}; ${fmtShare(idleShare)}`);

  // saturated: the protected route while logins keep the hasher busy (the login wrk outlasts the window)
  const loginRun = wrkLogin(server, k.SAT_CONC, k.WARM + k.DUR + 1);
  await sleep(k.WARM * 1000);
  await stats(server, true);
  const s0 = threadTimes(pid);
  const sc0 = cpuSnapshot(ourPids());
  const satProtected = await wrkProtected(server, k.PROT_CONC, k.PROT_DELAY_MS, k.DUR);
  const satShare = cpuShare(sc0, cpuSnapshot(ourPids()));
  const satThreads = threadLoad(s0, threadTimes(pid));
  const satStats = await stats(server);
  const satLogin = await loginRun;
  await settle(server);
  if (satProtected.requests !== (satProtected.status['200'] ?? 0) || satProtected.socketErrors > 0) {
    problems.push(`${tag} saturated protected: ${statusText(satProtected)}, ${satProtected.socketErrors} socket errors`);
  }
  const satOther = satLogin.requests - (satLogin.status['200'] ?? 0) - (satLogin.status['503'] ?? 0);
  if (satOther > 0 || satLogin.socketErrors > 0) problems.push(`${tag} saturated login: ${statusText(satLogin)}, ${satLogin.socketErrors} socket errors`);
  console.log(
    `${tag} saturated  ${fmt1(satProtected.rps).padStart(6)} protected/s p50 ${fmtMs(satProtected.p50Ms)} ms  p99 ${fmtMs(satProtected.p99Ms)} ms  ${satProtected.requests} requests, ` +
      `${statusText(satProtected)}; logins meanwhile ${fmt1(satLogin.rps)}/s (c${k.SAT_CONC}, p99 ${fmtMs(satLogin.p99Ms)} ms), ${satLogin.status['503'] ?? 0}× 503`,
  );
  const d = satStats.eventLoopDelayMs;
  console.log(
    `${pad}   server threads, cores: ${fmtLoad(satThreads)}; event loop utilisation ${satStats.eventLoopUtilization.toFixed(2)}, ` +
      `delay p50 ${d.p50} ms p99 ${d.p99} ms max ${d.max} ms; ${fmtShare(satShare)}`,
  );

  const others = Math.max(raw.verifyShare.others, loginShare.others, idleShare.others, satShare.others);
  const round: Round = { raw, login, loginThreads, loginShare, idle, idleShare, satProtected, satLogin, satStats, satThreads, satShare, others, problems };
  if (others > k.OTHERS_MAX) {
    console.log(`${pad}   ! disturbed: other processes used up to ${others.toFixed(2)} cores (> OTHERS_MAX ${k.OTHERS_MAX}); this round is left out of the medians`);
  }
  return round;
}

async function main(): Promise<number> {
  const DUR = seconds('DUR', '10s');
  const k: Knobs = {
    DUR,
    WARM: seconds('WARM', '3s'),
    HASH_DUR: seconds('HASH_DUR', `${Math.max(2, Math.round(DUR / 2))}s`),
    CONC: integerEnv('CONC', 8),
    SAT_CONC: integerEnv('SAT_CONC', 16),
    PROT_CONC: integerEnv('PROT_CONC', 4),
    PROT_DELAY_MS: integerEnv('PROT_DELAY_MS', 10, 0),
    RAW_CALLERS: integerEnv('RAW_CALLERS', 8),
    OTHERS_MAX: Number(process.env.OTHERS_MAX ?? '0.2'),
  };
  if (!(k.OTHERS_MAX >= 0)) throw new TypeError(`OTHERS_MAX must be a number of cores ≥ 0, got ${process.env.OTHERS_MAX}`);
  const REPS = integerEnv('REPS', 3);
  const MAX_ROUNDS = integerEnv('MAX_ROUNDS', 2 * REPS);
  const QUIET_WAIT = seconds('QUIET_WAIT', '60s');
  const CPU_PROF = process.env.CPU_PROF || null;
  const IDLE_WAIT = seconds('IDLE_WAIT', '10s');

  const wrk = wrkVersion();
  if (!wrk) {
    console.log('bench/login.ts needs wrk (its Lua script makes the POST bodies): apt-get update && apt-get install -y wrk');
    return 1;
  }
  process.on('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killChildren();
      process.exit(130);
    });
  }

  console.log('latchkey bench: login throughput through HTTP vs raw argon2id verify throughput, and protected latency while logins saturate the hasher');
  console.log(
    `node ${process.version}, ${availableParallelism()} CPUs, load avg ${loadavg().map((n) => n.toFixed(2)).join(' ')}; wrk ${wrk}; ` +
      `${k.DUR}s runs, ${k.WARM}s warm-up thrown away; ${REPS} undisturbed round(s) of raw → login → idle → saturated wanted, at most ${MAX_ROUNDS} run`,
  );
  console.log(
    `raw: ${k.RAW_CALLERS} verify() callers in flight in a child process; login: wrk -t1 -c${k.CONC} POST /login; ` +
      `protected: wrk -t1 -c${k.PROT_CONC} GET /protected, ${k.PROT_DELAY_MS ? `${k.PROT_DELAY_MS} ms between requests per connection` : 'closed loop'}; ` +
      `saturated: the same + wrk -t1 -c${k.SAT_CONC} POST /login; a round where other processes use > ${k.OTHERS_MAX} cores is disturbed`,
  );
  console.log(`server and raw child environment: ${startScriptEnv().note}`);
  if (CPU_PROF) console.log(`CPU_PROF=${CPU_PROF}: the server runs under --cpu-prof, so its numbers are a little lower than without`);

  const server = await startServer(CPU_PROF);
  const h = server.hasher;
  console.log(
    `server pid ${server.child.pid} on 127.0.0.1:${server.port}: ${server.users.length} accounts registered in ${(server.registerMs / 1000).toFixed(1)} s; ` +
      `argon2id m=${h.memory} t=${h.passes} p=${h.parallelism}, hasher maxConcurrent ${h.maxConcurrent}, maxQueue ${h.maxQueue}; libuv threadpool ${server.threadpool}`,
  );
  if (k.SAT_CONC >= h.maxConcurrent + h.maxQueue) console.log(`note: SAT_CONC=${k.SAT_CONC} ≥ maxConcurrent + maxQueue, so 503s are expected in the saturated phase`);
  console.log(`check: ${await check(server)}`);
  await wrkProtected(server, k.PROT_CONC, k.PROT_DELAY_MS, k.WARM); // warm the protected route once
  await settle(server);

  const rounds: Round[] = [];
  const problems: string[] = [];
  for (let n = 1; n <= MAX_ROUNDS && rounds.filter((r) => r.others <= k.OTHERS_MAX).length < REPS; n++) {
    const quiet = await waitQuiet(k.OTHERS_MAX, QUIET_WAIT);
    if (quiet.waited > 0) {
      console.log(`round ${n}: waited ${quiet.waited} s for other processes to quiet down (last second: ${quiet.others.toFixed(2)} cores)`);
    }
    const round = await runRound(server, k, `round ${n}`);
    rounds.push(round);
    problems.push(...round.problems);
  }

  // The session must still be valid after the load (nothing expired or rotated it away).
  await check(server);
  const serverRss = peakRssMiB(server.child.pid);
  // What the server keeps once the logins are over: glibc's arenas, V8's heap after it shrank.
  await sleep(IDLE_WAIT * 1000);
  const idleRss = rssMiB(server.child.pid);
  await stopServer(server);

  const clean = rounds.filter((r) => r.others <= k.OTHERS_MAX);
  const used = clean.length > 0 ? clean : rounds;
  const rawV = median(used.map((r) => r.raw.verifiesPerSec));
  const rawH = median(used.map((r) => r.raw.hashesPerSec));
  const httpRps = median(used.map((r) => r.login.rps));
  const ratio = httpRps / rawV;
  const idleP99 = median(used.map((r) => r.idle.p99Ms));
  const satP99 = median(used.map((r) => r.satProtected.p99Ms));
  const sat503 = rounds.reduce((sum, r) => sum + (r.satLogin.status['503'] ?? 0), 0);
  const which =
    clean.length === rounds.length ? `all ${rounds.length} rounds`
    : clean.length === 0 ? `all ${rounds.length} rounds, every one disturbed`
    : `${clean.length} of ${rounds.length} rounds (${rounds.length - clean.length} disturbed, left out)`;

  console.log('');
  console.log(`medians of ${which}:`);
  if (clean.length === 0) console.log(`  ! every round was disturbed by other processes: these figures measure a shared machine, not latchkey`);
  const hasherLabel = process.env.HASHER_MAX_CONCURRENT ? `maxConcurrent ${used[0]?.raw.maxConcurrent}` : 'defaults';
  console.log(`  raw argon2id, PasswordHasher ${hasherLabel}, ${k.RAW_CALLERS} callers   ${fmt1(rawV).padStart(6)} verifies/s    ${fmt1(rawH)} hashes/s   (raw process peak RSS ${median(used.map((r) => r.raw.peakRssMiB)).toFixed(0)} MiB)`);
  console.log(
    `  POST /login, wrk -c${k.CONC}, ${server.users.length} accounts            ${fmt1(httpRps).padStart(6)} logins/s      ` +
      `p50 ${fmtMs(median(used.map((r) => r.login.p50Ms)))} ms  p99 ${fmtMs(median(used.map((r) => r.login.p99Ms)))} ms`,
  );
  console.log(
    `  GET /protected, hasher idle              ${fmt1(median(used.map((r) => r.idle.rps))).padStart(6)} req/s         ` +
      `p50 ${fmtMs(median(used.map((r) => r.idle.p50Ms)))} ms  p99 ${fmtMs(idleP99)} ms`,
  );
  console.log(
    `  GET /protected, logins saturating (c${k.SAT_CONC})  ${fmt1(median(used.map((r) => r.satProtected.rps))).padStart(6)} req/s         ` +
      `p50 ${fmtMs(median(used.map((r) => r.satProtected.p50Ms)))} ms  p99 ${fmtMs(satP99)} ms   ` +
      `(logins meanwhile ${fmt1(median(used.map((r) => r.satLogin.rps)))}/s; ${sat503}× 503 in all rounds)`,
  );
  console.log(`  login server RSS: peak (VmHWM, over the whole run) ${serverRss.toFixed(0)} MiB, after ${IDLE_WAIT} s idle ${idleRss.toFixed(0)} MiB`);
  console.log('');
  const perRound = (f: (r: Round) => string) => (used.length > 1 ? `  [per round: ${used.map(f).join(' ')}]` : '');
  // The verdict is on the median of per-round pairs, as bench:scale's ratios: each round measures raw
  // verifies and logins seconds apart, so drift between rounds cancels; the ratio of the medians
  // (taken separately, often from different rounds) is shown beside it.
  const pairRatios = spread(used.map((r) => r.login.rps / r.raw.verifiesPerSec));
  const pairRatio = pairRatios.median;
  console.log(
    `${mark(pairRatio >= RATIO_GOAL)} login/raw = ${pairRatio.toFixed(2)} (goal ≥ ${RATIO_GOAL}: ${verdict(pairRatio, RATIO_GOAL)}; median of per-round pairs ${fmtSpread(pairRatios)}; ` +
      `ratio of the medians ${ratio.toFixed(2)})${perRound((r) => (r.login.rps / r.raw.verifiesPerSec).toFixed(2))}`,
  );
  console.log(
    `${mark(satP99 < P99_GOAL_MS)} protected p99 while logins saturate the hasher = ${fmtMs(satP99)} ms (goal < ${P99_GOAL_MS} ms: ${satP99 < P99_GOAL_MS ? 'met' : 'NOT met'}; hasher idle ${fmtMs(idleP99)} ms)` +
      perRound((r) => fmtMs(r.satProtected.p99Ms)),
  );
  if (sat503 > 0) console.log(`  ${sat503} login(s) got 503 (hasher queue full) in the saturated phase`);
  console.log(`${mark(serverRss <= PEAK_RSS_GOAL)} login server peak RSS under the login load = ${serverRss.toFixed(0)} MiB (goal ≤ ${PEAK_RSS_GOAL} MiB: ${verdict(-serverRss, -PEAK_RSS_GOAL)})`);
  console.log(`${mark(idleRss <= IDLE_RSS_GOAL)} login server RSS after ${IDLE_WAIT} s idle = ${idleRss.toFixed(0)} MiB (goal ≤ ${IDLE_RSS_GOAL} MiB: ${verdict(-idleRss, -IDLE_RSS_GOAL)})`);
  console.log(`  (server and raw child run with ${startScriptEnv().note})`);
  if (CPU_PROF) {
    console.log('');
    for (const line of topSelfTime(CPU_PROF, 25, "the login server's main thread")) console.log(line);
  }
  if (problems.length > 0) {
    console.log('');
    console.log('FAILED: the bench is wrong somewhere (a login that was not 200 outside saturation, a protected request that was not 200, socket errors):');
    for (const p of problems) console.log(`  ${p}`);
    return 1;
  }
  return 0;
}

if (process.argv[2] === 'raw') {
  rawMain(JSON.parse(process.argv[3] ?? '{}') as RawOptions).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
