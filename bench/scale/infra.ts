/**
 * The moving parts of `bench/scale.ts`: child processes that never outlive the bench, the
 * reference app started for real (`app/main.ts`) on one store, with or without its session
 * cache, the bench's own PostgreSQL databases (created fresh, dropped WITH (FORCE) at the end)
 * and its own redis-server, wrk (with bench/lib.ts's script for many session cookies) and its
 * output, and small statistics.
 *
 * @module bench/scale/infra
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { startRedisServer, type RedisServer } from '../../test/fixtures/redis-server.ts';
import { sparePort } from '../../test/support/ports.ts';
import { send } from './http.ts';
import { processSeconds, usage, type Usage } from './procfs.ts';
import { collect as libCollect, median, parseWrk, startScriptEnv, stopChild, withStartEnv, writeCookieScript, wrkVersion, type WrkRun } from '../lib.ts';

export { parseWrk, stopChild as stop, type WrkRun } from '../lib.ts';
export { sparePort } from '../../test/support/ports.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

// ------------------------------------------------------------------ children

const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void>> = [];

/** Registers work for `cleanup()` (last in, first out). */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

function killChildren(signal: NodeJS.Signals): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

let cleaning: Promise<void> | null = null;
/** Stops every child and runs the registered cleanups (drops the databases, stops Redis). */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    killChildren('SIGTERM');
    for (const fn of cleanups.reverse()) await fn().catch((error: Error) => process.stderr.write(`cleanup: ${error.message}\n`));
  })();
  return cleaning;
}
process.on('exit', () => killChildren('SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`${signal}: stopping the servers and dropping the bench databases\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** spawn, remembered so that it is stopped with the bench. */
export function track(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return remember(spawn(command, args, options));
}

/** Stops `child` with the bench. */
export function remember(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** {@link libCollect}, its child stopped with the bench. */
export function collect(command: string, args: readonly string[], options: Pick<SpawnOptions, 'cwd' | 'env'> & { timeoutMs: number }): Promise<string> {
  return libCollect(command, args, { ...options, track: remember });
}

/** Keeps the last lines a child wrote to stderr/stdout, for error messages. */
export function tail(child: ChildProcess, lines: string[] = []): string[] {
  const keep = (chunk: string) => {
    lines.push(...chunk.split('\n').filter((l) => l !== ''));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stderr?.setEncoding('utf8').on('data', keep);
  return lines;
}

// ------------------------------------------------------------------ PostgreSQL and Redis

export const PG_ADMIN_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The URL of database `name` on the server of PG_ADMIN_URL. */
export function pgUrl(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Whether PG_ADMIN_URL answers; the server's version or the error. */
export async function pgVersion(): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  try {
    const version = await admin(async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?');
    return { ok: true, version };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** Creates an empty database for the bench; it is dropped WITH (FORCE) at cleanup. */
export async function createDatabase(name: string): Promise<string> {
  if (!/^latchkey_bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to create database ${name}`);
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  onCleanup(() => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))));
  return pgUrl(name);
}

/** Runs one query on database `name`. */
export async function pgQuery<R extends pg.QueryResultRow>(name: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: pgUrl(name), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** A private redis-server (no persistence) on a spare port, stopped at cleanup. */
export async function privateRedis(): Promise<RedisServer> {
  const redis = await startRedisServer();
  onCleanup(() => redis.stop());
  return redis;
}

// ------------------------------------------------------------------ the reference app

export type StoreName = 'sqlite' | 'postgres' | 'redis';
export const STORE_LABEL: Record<StoreName, string> = {
  sqlite: 'SQLite',
  postgres: 'PostgreSQL',
  redis: 'Redis (users in PostgreSQL)',
};

/** A session-cache ttl as a person writes it: `5s`, `500ms`; 0 is `off`. */
export function fmtTtl(ms: number): string {
  return ms === 0 ? 'off' : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export interface RunningApp {
  readonly store: StoreName;
  /** SESSION_CACHE_TTL in ms; 0: unset, the app's default (no session cache). */
  readonly cacheTtlMs: number;
  readonly child: ChildProcess;
  readonly base: string;
  readonly dataDir: string;
  /** The PostgreSQL database of the users (postgres and redis), or null for SQLite. */
  readonly database: string | null;
  readonly stderr: string[];
  /** What it was started with, for {@link restartApp}. */
  readonly setup: AppSetup;
}

/** Where an app keeps its data and how it runs: what a restart keeps. */
interface AppSetup {
  readonly store: StoreName;
  readonly cacheTtlMs: number;
  readonly dataDir: string;
  readonly database: string | null;
  readonly redisUrl: string | null;
  readonly nodeArgs: readonly string[];
  readonly root: string;
}

/** A fixed key: sessions and throttle hashes stay valid across restarts within a run. */
const SECRET_KEY = 'latchkey-scale-bench-secret-0123456789abcdef0123456789';

let smtpSink: Promise<string> | null = null;

/**
 * The SMTP relay every app of the run sends to: a production app refuses to start without one
 * (a reset link must be able to leave). It takes each mail over a real SMTP conversation and
 * drops it; what is measured is the app, and a relay that answers at once keeps mail off its
 * critical path as a nearby relay would. Started once, stopped at the end.
 */
function benchSmtp(): Promise<string> {
  smtpSink ??= (async () => {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'], // plain smtp:// on loopback
      logger: false,
      onData(stream, _session, callback) {
        stream.on('end', () => callback()).resume();
      },
    });
    const port = await sparePort();
    server.listen(port, '127.0.0.1');
    await once(server.server, 'listening');
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `smtp://127.0.0.1:${port}`;
  })();
  return smtpSink;
}

/**
 * Starts `app/main.ts` with Node 24 (this process's node) on the store, in a fresh DATA_DIR and,
 * for postgres and redis, a fresh database (and, for redis, the sessions in `redisUrl`), with
 * SESSION_CACHE_TTL=`cacheTtlMs` or, for 0, without it (the app's default: no session cache), and
 * `nodeArgs` (e.g. --cpu-prof) before the script, and the environment assignments and node flags of
 * package.json's `scripts.start`. `root` is the checkout whose `app/main.ts` runs: this one by
 * default, another (a worktree of an earlier commit) for an A/B of two versions. Resolves once it
 * printed its URL.
 */
export async function startApp(store: StoreName, tag: string, redisUrl: string | null, cacheTtlMs: number, nodeArgs: readonly string[] = [], root = ROOT): Promise<RunningApp> {
  if (!Number.isSafeInteger(cacheTtlMs) || cacheTtlMs < 0 || cacheTtlMs > 5000) throw new RangeError(`session cache ttl ${cacheTtlMs} ms: 0 (off) to 5000 ms`);
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-scale-'));
  onCleanup(async () => rmSync(dataDir, { recursive: true, force: true }));
  let database: string | null = null;
  if (store !== 'sqlite') {
    // One database per app: the same store is measured once per cache setting, side by side.
    database = `latchkey_bench_${tag}_${store}${cacheTtlMs > 0 ? `_cache${cacheTtlMs}` : ''}`;
    await createDatabase(database);
  }
  return launch({ store, cacheTtlMs, dataDir, database, redisUrl, nodeArgs, root });
}

/**
 * The same app in a new process: it stops `app`, then starts `app/main.ts` again on the same
 * DATA_DIR, database and Redis, so its sessions, and the cookies that name them, stay valid (the
 * key is fixed, {@link SECRET_KEY}). For benches that must not read one process's drift as an
 * effect of what they compare.
 */
export async function restartApp(app: RunningApp): Promise<RunningApp> {
  await stopChild(app.child);
  return launch(app.setup);
}

async function launch(setup: AppSetup): Promise<RunningApp> {
  const { store, cacheTtlMs, dataDir, database, redisUrl, nodeArgs, root } = setup;
  // As `npm start` runs it: the start script's environment and node flags (bench/lib.ts startScriptEnv).
  const env: NodeJS.ProcessEnv = withStartEnv({ ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, SECRET_KEY, NODE_ENV: 'production' });
  // Whatever the shell exported must not change what is measured: the app gets only what is set here.
  for (const name of [
    'DATABASE_URL',
    'SESSION_STORE',
    'PUBLIC_URL',
    'TRUST_PROXY',
    'SESSION_IDLE_TIMEOUT',
    'SESSION_ABSOLUTE_TIMEOUT',
    'REMEMBER_DURATION',
    'SESSION_CACHE_TTL',
    'USER_CACHE_TTL',
    'PASSWORD_MIN_LENGTH',
    'REGISTRATIONS_PER_HOUR',
    'LOG_LEVEL',
    'SMTP_URL',
    'MAIL_FROM',
    'EMAIL_VERIFICATION',
  ]) {
    delete env[name];
  }
  // Every simulated user registers from 127.0.0.1: the per-IP registration limit (SEC-53) is raised
  // to its maximum, as for a load test behind one NAT; request log lines are not what is measured.
  env.REGISTRATIONS_PER_HOUR = '999999';
  env.LOG_LEVEL = 'warn';
  env.SMTP_URL = await benchSmtp();
  if (cacheTtlMs > 0) env.SESSION_CACHE_TTL = `${cacheTtlMs}ms`;
  if (database !== null) {
    env.DATABASE_URL = pgUrl(database);
    if (store === 'redis') env.SESSION_STORE = redisUrl ?? '';
  }
  const child = track(process.execPath, ['--conditions=source', ...startScriptEnv().nodeArgs, ...nodeArgs, join(root, 'app', 'main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = tail(child);
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      reject(new Error(`the app on ${store}${cacheTtlMs > 0 ? ` with SESSION_CACHE_TTL=${fmtTtl(cacheTtlMs)}` : ''} ${why}${stderr.length ? `; its stderr:\n${stderr.join('\n')}` : ''}`));
    };
    const timer = setTimeout(() => fail('printed no URL within 30 s'), 30_000);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    child.once('error', (error) => fail(`could not be spawned: ${error.message}`));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /latchkey reference app on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      resolve(m[1] as string);
    });
  });
  return { store, cacheTtlMs, child, base, dataDir, database, stderr, setup };
}

// ------------------------------------------------------------------ wrk

/**
 * `wrk -t1 -c<conc> -d<seconds>s --latency` with the headers and, when given, each of `cookies`
 * in turn (`writeCookieScript`, bench/lib.ts); the parsed result.
 */
export async function wrk(url: string, headers: Record<string, string>, conc: number, seconds: number, cookies?: readonly string[]): Promise<WrkRun> {
  const h = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  const dir = cookies !== undefined && cookies.length > 0 ? mkdtempSync(join(tmpdir(), 'latchkey-wrk-')) : null;
  try {
    const script = dir === null ? [] : ['-s', writeCookieScript(dir, cookies as readonly string[])];
    const out = await collect('wrk', ['-t1', `-c${conc}`, `-d${seconds}s`, '--latency', ...script, ...h, url], { timeoutMs: (seconds + 30) * 1000 });
    return parseWrk(out);
  } finally {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One measured run as the ratio benches take it: `warm` s of load that are not counted (an app that
 * sat idle regrows its heap in the first seconds, app/idle-gc.ts), then `seconds` measured between
 * two CPU snapshots (`dbPrefix` names the bench's PostgreSQL databases). wrk's figures, the
 * snapshots, and the server's CPU µs per request.
 */
export async function measuredRun(
  target: { readonly url: string; readonly headers: Record<string, string>; readonly cookies?: readonly string[]; readonly pid: number | undefined },
  how: { readonly conc: number; readonly warm: number; readonly seconds: number; readonly dbPrefix: string | null },
): Promise<{ run: WrkRun; before: Usage; after: Usage; cpuUs: number }> {
  await wrk(target.url, target.headers, how.conc, how.warm, target.cookies);
  const before = usage(how.dbPrefix);
  const run = await wrk(target.url, target.headers, how.conc, how.seconds, target.cookies);
  const after = usage(how.dbPrefix);
  return { run, before, after, cpuUs: (processSeconds(before, after, target.pid) * 1e6) / run.requests };
}

// ------------------------------------------------------------------ waiting and statistics

/** Polls GET `url` until it answers at all (any status), at most `ms`. */
export async function waitForHttp(url: string, ms: number, alive: () => boolean): Promise<void> {
  const until = performance.now() + ms;
  let last = '';
  while (performance.now() < until) {
    if (!alive()) throw new Error(`the server exited before ${url} answered`);
    try {
      await send(url, '', { timeoutMs: 1_000 });
      return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${ms / 1000} s (${last})`);
}


export const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
export const fmtMs = (n: number) => (!Number.isFinite(n) ? '-' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
export const fmtCores = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

/** Left- or right-aligned columns; the first row is the header, a rule follows it. */
export function table(rows: readonly (readonly string[])[], right: readonly boolean[]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) => r.map((cell, c) => (right[c] ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join('  ').trimEnd();
  const [head, ...body] = rows;
  return [line(head ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export { median, wrkVersion };

/** Runs a bench's `main`, then the cleanup (databases, redis-server, apps) and exits with its code; 1 when it threw. */
export function runBench(main: () => Promise<number>): void {
  main().then(
    async (code) => {
      await cleanup();
      process.exit(code);
    },
    async (error: unknown) => {
      console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      await cleanup();
      process.exit(1);
    },
  );
}
