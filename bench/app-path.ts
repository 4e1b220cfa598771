/**
 * Benchmark: the reference app's whole request path for GET /protected in one process, without
 * sockets: @hono/node-server's request listener, Hono, the app's layers, latchkey and the store's
 * driver, on each store, against bare Hono through the same listener. It hands the listener small
 * stand-ins for node:http's request and response, so node:http itself, the kernel and a load
 * generator, which make a route's figure over HTTP move by ten percent and more between rounds
 * (bench/README.md), are left out; what is left is the part this project's code decides.
 *
 * Two figures per target:
 * - **CPU µs per request**, in alternating rounds (REPS, OPS requests each, CONC in flight as wrk's
 *   connections would be), and each store's ratio to bare Hono in the same round;
 * - **bytes allocated per request**, from V8's sampling heap profiler counting collected objects
 *   too, over ALLOC_OPS requests after the rounds: what the garbage collector must later sweep,
 *   and a steadier figure than time on a shared machine.
 *
 *   npm run bench:app-path                  # SQLite, PostgreSQL and Redis
 *   STORES=sqlite npm run bench:app-path    # SQLite only
 *
 * The app is built as `app/main.ts` builds it (config from the environment below, `openStores`,
 * `createApp`), with LOG_LEVEL=warn as in bench:scale, in development mode (mail to the outbox) and
 * with the node flags of package.json's `scripts.start`: the script starts itself again with them.
 * PostgreSQL (PG_URL) gets a fresh database per run, dropped at the end; Redis a private
 * `redis-server` on a spare port. 64 sessions of one user, sent in turn.
 *
 * Knobs (env): STORES="sqlite postgres redis", REPS=9, OPS=50000, CONC=32, ALLOC_OPS=20000, and
 * ALLOC_PROFILE=<dir>, an existing folder where each target's allocation profile is written
 * (`<label>.heapprofile`, as V8's inspector returns it): the allocation sites behind the bytes.
 * Exits 0 whatever the figures, non-zero when a request is not answered 200 with its user.
 *
 * @module bench/app-path
 */
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Session } from 'node:inspector/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { loadConfig } from '../app/config.ts';
import { createApp } from '../app/app.ts';
import { openStores } from '../app/stores.ts';
import { finish, median, positiveInt, startScriptEnv, withStartEnv } from './lib.ts';
import { createDatabase, privateRedis, runBench, type StoreName } from './scale/infra.ts';

const CHILD = 'LATCHKEY_BENCH_APP_PATH_CHILD';
const REPS = positiveInt('REPS', 9);
const OPS = positiveInt('OPS', 50_000);
const CONC = positiveInt('CONC', 32);
const ALLOC_OPS = positiveInt('ALLOC_OPS', 20_000);
const SESSIONS = 64;
const USER_AGENT = 'latchkey-app-path-bench/1.0';
const USER = Object.freeze({ email: 'path@example.com', name: 'Path', password: 'violet kettle drums under nine moons' });
const ALLOC_PROFILE = process.env.ALLOC_PROFILE;
const STORES = (process.env.STORES ?? 'sqlite postgres redis').split(/[\s,]+/).filter((s) => s !== '') as StoreName[];

type Listener = ReturnType<typeof getRequestListener>;
interface Target {
  readonly label: string;
  readonly listener: Listener;
  /** The Cookie header of each request in turn, or none (bare Hono). */
  readonly cookies: readonly string[];
  readonly expect: string;
  readonly close: () => Promise<void>;
}

/** What @hono/node-server reads of node:http's response: headers, status, the body, and its events. */
class FakeResponse extends EventEmitter {
  headersSent = false;
  writable = true;
  writableFinished = false;
  status = 0;
  body = '';
  readonly headers: Record<string, unknown> = {};
  readonly done: (response: FakeResponse) => void;
  constructor(done: (response: FakeResponse) => void) {
    super();
    this.done = done;
  }
  setHeader(name: string, value: unknown): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }
  hasHeader(name: string): boolean {
    return name.toLowerCase() in this.headers;
  }
  getHeader(name: string): unknown {
    return this.headers[name.toLowerCase()];
  }
  writeHead(status: number, headers?: Record<string, unknown>): this {
    this.status = status;
    if (headers) for (const [name, value] of Object.entries(headers)) this.setHeader(name, value);
    this.headersSent = true;
    return this;
  }
  write(): boolean {
    return true;
  }
  end(body?: unknown): this {
    this.body = typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body).toString() : '';
    this.writableFinished = true;
    this.done(this);
    this.emit('finish');
    this.emit('close');
    return this;
  }
  flushHeaders(): void {}
  destroy(): void {}
}

/** What it reads of node:http's request: a GET without a body. */
class FakeRequest extends EventEmitter {
  readonly method = 'GET';
  readonly httpVersion = '1.1';
  readonly complete = true;
  readonly readableEnded = true;
  readonly aborted = false;
  readonly destroyed = false;
  readonly errored = null;
  readonly socket = { remoteAddress: '127.0.0.1', encrypted: false };
  readonly headers: Record<string, string>;
  readonly rawHeaders: string[];
  readonly url: string;
  constructor(url: string, cookie: string | undefined) {
    super();
    this.url = url;
    this.headers = { host: '127.0.0.1:8000', 'user-agent': USER_AGENT, accept: '*/*', ...(cookie === undefined ? {} : { cookie }) };
    this.rawHeaders = Object.entries(this.headers).flat();
  }
  resume(): this {
    return this;
  }
  destroy(): void {}
}

let wrong = 0;

/** One request through the listener; resolves when the response ended. */
function request(target: Target, i: number): Promise<void> {
  return new Promise((resolve) => {
    const response = new FakeResponse((r) => {
      if (r.status !== 200 || !r.body.includes(target.expect)) wrong++;
      resolve();
    });
    const cookie = target.cookies.length === 0 ? undefined : target.cookies[i % target.cookies.length];
    void target.listener(new FakeRequest('/protected', cookie) as never, response as never);
  });
}

/** `ops` requests, CONC at a time, as wrk's connections would send them. */
async function load(target: Target, ops: number): Promise<void> {
  for (let i = 0; i < ops; i += CONC) {
    const inFlight: Promise<void>[] = [];
    for (let j = 0; j < CONC; j++) inFlight.push(request(target, i + j));
    await Promise.all(inFlight);
  }
}

function bareHono(): Target {
  const app = new Hono();
  app.get('/protected', (c) => c.json({ message: 'Hello, Path!' }));
  return { label: 'bare Hono', listener: getRequestListener(app.fetch), cookies: [], expect: 'Hello', close: async () => {} };
}

async function referenceApp(store: StoreName): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-app-path-'));
  const env: Record<string, string> = { DATA_DIR: dataDir, SECRET_KEY: 'latchkey-app-path-bench-secret-0123456789abcdef', PORT: '8000', LOG_LEVEL: 'warn' };
  if (store !== 'sqlite') env.DATABASE_URL = await createDatabase(`latchkey_bench_app_path_${process.pid}_${store}`);
  if (store === 'redis') env.SESSION_STORE = (await privateRedis()).url;
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const stores = await openStores(loaded.config);
  const { app, mailer } = await createApp({ config: loaded.config, stores });
  const origin = loaded.config.publicUrl;
  const headers = { 'user-agent': USER_AGENT, origin, 'content-type': 'application/json', accept: 'application/json' };
  const registered = await app.request(`${origin}/register`, { method: 'POST', headers, body: JSON.stringify(USER) });
  if (registered.status !== 201) throw new Error(`${store}: POST /register answered ${registered.status}`);
  const cookies: string[] = [];
  while (cookies.length < SESSIONS) {
    const login = await app.request(`${origin}/login`, { method: 'POST', headers, body: JSON.stringify({ login: USER.email, password: USER.password }) });
    if (login.status !== 200) throw new Error(`${store}: POST /login answered ${login.status}`);
    cookies.push(login.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; '));
  }
  return {
    label: `app, ${store}`,
    listener: getRequestListener(app.fetch),
    cookies,
    expect: `Hello, ${USER.name}!`,
    close: async () => {
      await mailer.close();
      await stores.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Bytes allocated per request over `ops` requests, collected objects included. */
async function allocatedPerRequest(session: Session, target: Target, ops: number): Promise<number> {
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await load(target, ops);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: SampledNode } };
  // A tree from `head`: each node's callFrame and the selfSize allocated there (bench/README.md).
  if (ALLOC_PROFILE !== undefined) writeFileSync(join(ALLOC_PROFILE, `${target.label.replace(/\W+/g, '-')}.heapprofile`), JSON.stringify(profile));
  let total = 0;
  const walk = (node: SampledNode) => {
    total += node.selfSize;
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return total / ops;
}
interface SampledNode {
  readonly selfSize: number;
  readonly children: readonly SampledNode[];
}

async function main(): Promise<number> {
  const targets: Target[] = [bareHono()];
  try {
    for (const store of STORES) targets.push(await referenceApp(store));
    for (const target of targets) await load(target, OPS); // warm-up: every path optimized before round 1
    const cpu: number[][] = targets.map(() => []);
    for (let round = 0; round < REPS; round++) {
      // Alternating the order, so that no target always follows another's garbage.
      const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => targets.length - 1 - i);
      for (const i of order) {
        const before = process.cpuUsage();
        await load(targets[i] as Target, OPS);
        const used = process.cpuUsage(before);
        (cpu[i] as number[]).push((used.user + used.system) / OPS);
      }
    }
    const session = new Session();
    session.connect();
    const bytes: number[] = [];
    for (const target of targets) bytes.push(await allocatedPerRequest(session, target, ALLOC_OPS));
    session.disconnect();

    const fmt = (n: number, digits = 2) => n.toFixed(digits);
    const range = (xs: number[], digits = 2) => `[${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}]`;
    console.log(`=== GET /protected in process, no sockets: ${REPS} alternating rounds of ${OPS.toLocaleString('en-US')} requests, ${CONC} in flight, Node ${process.versions.node}, flags ${process.execArgv.filter((a) => a !== '--conditions=source').join(' ') || '(none)'}`);
    console.log(`${'target'.padEnd(18)} ${'CPU µs/req'.padStart(11)} ${'[range]'.padEnd(14)} ${'÷ bare, per round'.padEnd(26)} ${'bytes allocated/req'.padStart(20)}`);
    targets.forEach((target, i) => {
      const mine = cpu[i] as number[];
      const ratios = mine.map((us, k) => ((cpu[0] as number[])[k] as number) / us);
      const ratio = i === 0 ? '–' : `${fmt(median(ratios))} ${range(ratios)}`;
      console.log(`${target.label.padEnd(18)} ${fmt(median(mine)).padStart(11)} ${range(mine).padEnd(14)} ${ratio.padEnd(26)} ${Math.round(bytes[i] as number).toLocaleString('en-US').padStart(20)}`);
    });
    console.log('(÷ bare: bare Hono\'s CPU per request ÷ the target\'s, in the same round; bytes: V8\'s sampling heap profiler over ' + `${ALLOC_OPS.toLocaleString('en-US')} requests, collected objects included)`);
  } finally {
    // Before runBench's cleanup drops the databases and stops redis-server under them.
    for (const target of targets) await target.close();
  }
  return finish(wrong > 0 ? [`${wrong} requests were not answered 200 with their user`] : [], console.log);
}

if (process.env[CHILD] !== '1') {
  // Again, as npm start runs the app: its node flags and environment (bench/lib.ts startScriptEnv).
  const { status } = spawnSync(process.execPath, [...process.execArgv, ...startScriptEnv().nodeArgs, import.meta.filename], {
    stdio: 'inherit',
    env: { ...withStartEnv(process.env), [CHILD]: '1' },
  });
  process.exitCode = status ?? 1;
} else {
  runBench(main);
}
