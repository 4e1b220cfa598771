/**
 * The peer stacks of /work/shared/peers (read-only), as `run.sh` there sets them up and measures
 * them, for the ratio part of `bench/scale.ts`:
 *
 * - the peer directories are copied (without node_modules and databases) to PEERS_DIR
 *   (`bench/.peers/` by default) and `npm ci` runs there once, with the peer Node (PEER_NODE, the
 *   system Node 20 by default: better-sqlite3 12.x is built for it from source, about 1–2 min per
 *   directory). The copy is reused while its package files match the originals and `npm ls --all`
 *   is clean under the same Node version; a marker file records that version.
 * - alice is seeded as run.sh does (`node server.js seed`, `NODE_ENV=production node server.mjs seed`),
 * - each server starts with `PORT=… NODE_ENV=production` and is ready when GET /public answers,
 * - one login (the bodies of run.sh / RESULTS.md) gives the cookie that wrk sends to /protected.
 *
 * @module bench/scale/peers
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { CookieJar, send } from './http.ts';
import { collect, sparePort, tail, track, waitForHttp } from './infra.ts';

export const PEERS_SOURCE = process.env.PEERS_SOURCE ?? '/work/shared/peers';

export type PeerName = 'express-sqlite' | 'express-memory' | 'better-auth' | 'bare-hono';

interface PeerSpec {
  readonly label: string;
  readonly dir: string;
  readonly script: string;
  readonly env: Record<string, string>;
  /** How to log in, or null for a peer measured on /public. */
  readonly login: { readonly path: string; readonly contentType: string; readonly body: string } | null;
  /** The route wrk loads. */
  readonly path: string;
}

const FORM = { path: '/login', contentType: 'application/x-www-form-urlencoded', body: 'username=alice&password=correct+horse+battery+staple' };

export const PEERS: Record<PeerName, PeerSpec> = {
  'express-sqlite': { label: 'express-passport, SQLite store', dir: 'express-passport', script: 'server.js', env: { STORE: 'sqlite' }, login: FORM, path: '/protected' },
  'express-memory': { label: 'express-passport, MemoryStore', dir: 'express-passport', script: 'server.js', env: { STORE: 'memory' }, login: FORM, path: '/protected' },
  'better-auth': {
    label: 'better-auth on Hono',
    dir: 'better-auth',
    script: 'server.mjs',
    env: {},
    login: { path: '/api/auth/sign-in/email', contentType: 'application/json', body: '{"email":"alice@example.com","password":"correct horse battery staple"}' },
    path: '/protected',
  },
  'bare-hono': { label: 'bare Hono (peers/bare, GET /public)', dir: 'bare', script: 'hono.mjs', env: {}, login: null, path: '/public' },
};

/** The environment for the peer Node and its npm: its directory first on PATH, none of npm run's variables. */
function peerEnv(peerNode: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  const path = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules'));
  env.PATH = [dirname(peerNode), ...path].join(delimiter);
  return { ...env, ...extra };
}

export function peerNodeVersion(peerNode: string): string | null {
  const result = spawnSync(peerNode, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** The files of a peer directory that the copy must match (not node_modules, not databases). */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(PEERS_SOURCE, dir)).filter((f) => f !== 'node_modules' && !/\.db(-shm|-wal)?$/.test(f));
}

/**
 * Makes PEERS_DIR/<dir> a copy of the peer with its dependencies installed for the peer Node.
 * `log` gets one line per step that takes time.
 */
export async function preparePeerDir(dir: string, peersDir: string, peerNode: string, log: (line: string) => void): Promise<string> {
  const dest = join(peersDir, dir);
  const version = peerNodeVersion(peerNode) ?? 'unknown';
  const marker = join(dest, '.installed-for-node');
  const same = existsSync(dest) && sourceFiles(dir).every((f) => existsSync(join(dest, f)) && readFileSync(join(dest, f)).equals(readFileSync(join(PEERS_SOURCE, dir, f))));
  if (!same) {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    for (const f of sourceFiles(dir)) {
      cpSync(join(PEERS_SOURCE, dir, f), join(dest, f), { recursive: true });
      chmodSync(join(dest, f), 0o644);
    }
  }
  const installed = existsSync(marker) && readFileSync(marker, 'utf8').trim() === version && spawnSync('npm', ['ls', '--all'], { cwd: dest, env: peerEnv(peerNode), stdio: 'ignore' }).status === 0;
  if (!installed) {
    log(`npm ci in ${dest} with node ${version} (better-sqlite3 compiles from source: 1-2 min)`);
    const t0 = performance.now();
    await collect('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dest, env: peerEnv(peerNode), timeoutMs: 15 * 60_000 });
    writeFileSync(marker, `${version}\n`);
    log(`npm ci in ${dir} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  return dest;
}

/** Seeds alice as run.sh does (a fresh hash every run). */
export async function seedPeer(dir: string, dest: string, peerNode: string): Promise<string> {
  if (dir === 'express-passport') return (await collect(peerNode, ['server.js', 'seed'], { cwd: dest, env: peerEnv(peerNode), timeoutMs: 60_000 })).trim();
  if (dir === 'better-auth') return (await collect(peerNode, ['server.mjs', 'seed'], { cwd: dest, env: peerEnv(peerNode, { NODE_ENV: 'production' }), timeoutMs: 60_000 })).trim();
  return '';
}

export interface RunningPeer {
  readonly name: PeerName;
  readonly spec: PeerSpec;
  readonly child: ChildProcess;
  readonly base: string;
  readonly stderr: string[];
}

export async function startPeer(name: PeerName, dest: string, peerNode: string): Promise<RunningPeer> {
  const spec = PEERS[name];
  if (name === 'express-sqlite') for (const f of ['sessions.db', 'sessions.db-wal', 'sessions.db-shm']) rmSync(join(dest, f), { force: true });
  const port = await sparePort();
  const child = track(peerNode, [spec.script], { cwd: dest, env: peerEnv(peerNode, { ...spec.env, PORT: String(port), NODE_ENV: 'production' }), stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = tail(child);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/public`, 20_000, () => child.exitCode === null && child.signalCode === null);
  } catch (error) {
    child.kill('SIGTERM');
    throw new Error(`${spec.label}: ${(error as Error).message}${stderr.length ? `; its stderr:\n${stderr.join('\n')}` : ''}`);
  }
  return { name, spec, child, base, stderr };
}

/**
 * Logs alice in (one request, as run.sh's curl) and checks the protected route: 200 naming alice
 * with the cookie, 401 without. Returns the Cookie header for wrk.
 */
export async function loginPeer(peer: RunningPeer, userAgent: string): Promise<{ cookie: string; check: string }> {
  const login = peer.spec.login;
  if (login === null) {
    const answer = await send(peer.base, peer.spec.path);
    if (answer.status !== 200) throw new Error(`${peer.spec.label}: GET ${peer.spec.path} answered ${answer.status}`);
    return { cookie: '', check: '200' };
  }
  const answer = await send(peer.base, login.path, { method: 'POST', headers: { 'content-type': login.contentType, 'user-agent': userAgent }, body: login.body });
  const jar = new CookieJar();
  jar.take(answer.setCookies);
  if (answer.status !== 200 || jar.size === 0) throw new Error(`${peer.spec.label}: login answered ${answer.status} with ${jar.size} cookies: ${answer.body.slice(0, 200)}`);
  const cookie = jar.header();
  const inside = await send(peer.base, peer.spec.path, { headers: { cookie, 'user-agent': userAgent } });
  const outside = await send(peer.base, peer.spec.path, { headers: { 'user-agent': userAgent } });
  if (inside.status !== 200 || !inside.body.includes('alice') || outside.status !== 401) {
    throw new Error(`${peer.spec.label}: /protected answered ${inside.status} ${inside.body.slice(0, 80)} with the cookie and ${outside.status} without`);
  }
  return { cookie, check: `200 alice / ${outside.status}` };
}
