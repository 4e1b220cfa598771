/**
 * The published package, as a consumer gets it: `npm pack` (prepack: the build, the declaration
 * specifiers rewritten to `.js`, the `source` conditions stripped from package.json), installed
 * offline into a fresh project, type-checked there and run, with and without `--conditions=source`
 * (a monorepo's usual setting, which used to resolve `latchkey` to `./src/*.ts`, files the tarball
 * does not ship). And on the machine's Node 20, when it has one: every entry fails at import with
 * the fix in its message, where `latchkey/sqlite` used to fail with `ERR_UNKNOWN_BUILTIN_MODULE`.
 *
 * And the README's quick starts as a newcomer uses them (issue "a newcomer's first hour", done
 * when a developer copies a quick start into an empty folder, installs, runs it and logs in): each
 * of examples/{hono,express,fastify}/app.ts is copied into the consumer project beside the
 * installed tarball and its framework, type-checked there, started with plain `node app.ts`, and a
 * user registers, logs out and logs in through its forms, with their `_csrf` tokens.
 *
 * The pack runs in a copy of the packable files, so the repository's package.json and dist/ stay
 * untouched while other test files read them.
 *
 * @module test/consumer
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'node_modules', '.bin');
/** The machine's own Node, 20 on this project's machines (never used for anything else). */
const OLD_NODE = '/usr/bin/node';

/** The environment of a child npm: this Node first on PATH, and none of the parent npm's settings. */
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
env['PATH'] = `${bin}:${process.env['PATH'] ?? ''}`;
delete env['NODE_OPTIONS'];

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
  return result;
}

const CONSUMER = `import { createLoginManager } from 'latchkey';
import { latchkey, loginRequired, type LatchkeyEnv } from 'latchkey/hono';
import { SqliteStore } from 'latchkey/sqlite';

interface User { id: string; name: string }
const store = new SqliteStore({ path: ':memory:' });
const manager = createLoginManager<User>({ store, secret: 'x'.repeat(32), loadUser: (id) => ({ id, name: 'Ada' }) });
const user: User | null = await manager.forRequest(new Request('http://localhost/')).user();
type Env = LatchkeyEnv<User>;
// @ts-expect-error: real types, not \`any\` from an unresolved declaration: a secret is a string or bytes
const refused = () => createLoginManager<User>({ store, secret: 42, loadUser: () => null });
const middleware: unknown[] = [latchkey<User>(manager), loginRequired()];
await store.close();
console.log(JSON.stringify({ user, middleware: middleware.length, env: null satisfies Env | null, refused: typeof refused }));
`;

/** Imports every entry on an old Node and prints what each threw. */
const OLD_NODE_FIXTURE = `const results = {};
for (const entry of ['latchkey', 'latchkey/sqlite', 'latchkey/hono', 'latchkey/express', 'latchkey/fastify', 'latchkey/testing', 'latchkey/postgres', 'latchkey/redis']) {
  try { await import(entry); results[entry] = null; } catch (error) { results[entry] = { code: error.code, message: error.message }; }
}
console.log(JSON.stringify(results));
`;

/** The resolutions a consumer may use; the library's declarations are fully checked once (skipLibCheck off costs seconds). */
const TSCONFIGS: Record<string, Record<string, unknown>> = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false },
  'nodenext with customConditions ["source"]': { module: 'nodenext', moduleResolution: 'nodenext', customConditions: ['source'] },
  bundler: { module: 'preserve', moduleResolution: 'bundler' },
};

describe('the packed package, installed in a fresh consumer project', { timeout: 300_000 }, () => {
  let dir = '';
  let consumer = '';
  let tarball = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-consumer-'));
    const stage = join(dir, 'stage');
    for (const path of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'scripts', 'README.md', 'LICENSE', 'data/common-passwords.txt', 'data/LICENSE-django.txt', 'data/README.md']) {
      cpSync(join(root, path), join(stage, path), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
    run('npm', ['pack', '--pack-destination', dir, '--silent'], stage);
    tarball = join(dir, readdirSync(dir).find((name) => name.endsWith('.tgz')) as string);
    consumer = join(dir, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    run('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], consumer);
    // Types the consumer's own project would install: hono (an optional peer) and Node's.
    mkdirSync(join(consumer, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(root, 'node_modules', 'hono'), join(consumer, 'node_modules', 'hono'));
    symlinkSync(join(root, 'node_modules', '@types', 'node'), join(consumer, 'node_modules', '@types', 'node'));
    // What each quick start's package.json installs beside latchkey (linked from this repository's node_modules).
    for (const name of ['@hono/node-server', 'express', 'fastify', '@types/express']) {
      mkdirSync(join(consumer, 'node_modules', name, '..'), { recursive: true });
      if (!existsSync(join(consumer, 'node_modules', name))) symlinkSync(join(root, 'node_modules', name), join(consumer, 'node_modules', name));
    }
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER);
    writeFileSync(join(consumer, 'old-node.mjs'), OLD_NODE_FIXTURE);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships a package.json without `source` conditions and declarations that import `.js`, never `.ts`', () => {
    const installed = join(consumer, 'node_modules', 'latchkey');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    for (const [subpath, target] of Object.entries<Record<string, string>>(pkg.exports)) {
      assert.deepEqual(Object.keys(target), ['types', 'default'], subpath);
      assert.ok(existsSync(join(installed, target['types'] as string)), `${subpath}: ${target['types']}`);
      assert.ok(existsSync(join(installed, target['default'] as string)), `${subpath}: ${target['default']}`);
    }
    const list = run('tar', ['-tzf', tarball], dir).stdout.split('\n').filter((name) => name.endsWith('.d.ts'));
    assert.ok(list.length > 50, 'the declarations are in the tarball');
    for (const name of list) {
      const text = readFileSync(join(consumer, 'node_modules', 'latchkey', name.replace(/^package\//, '')), 'utf8');
      assert.doesNotMatch(text, /(?:from\s+|import\s*\(\s*)['"]\.{1,2}\/[^'"]*(?<!\.d)\.ts['"]/, name);
    }
    // The repository's own package.json still has them: the tests and `npm start` run the sources.
    assert.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).exports['.'].source, './src/index.ts');
  });

  it('type-checks a consumer importing latchkey, latchkey/hono and latchkey/sqlite under nodenext, customConditions ["source"] and bundler resolution', () => {
    for (const [name, resolution] of Object.entries(TSCONFIGS)) {
      const config = { compilerOptions: { target: 'es2024', strict: true, noEmit: true, types: ['node'], skipLibCheck: true, verbatimModuleSyntax: true, ...resolution }, files: ['consumer.ts'] };
      writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(config));
      const check = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: consumer, encoding: 'utf8' });
      assert.equal(check.status, 0, `${name}:\n${check.stdout}${check.stderr}`);
    }
  });

  it('runs that consumer on this Node, with and without --conditions=source', () => {
    for (const args of [[], ['--conditions=source']]) {
      const result = run(process.execPath, [...args, 'consumer.ts'], consumer);
      assert.deepEqual(JSON.parse(result.stdout), { user: null, middleware: 2, env: null, refused: 'function' }, args.join(' '));
    }
  });

  it('on Node 20, fails at import of every entry with ERR_LATCHKEY_UNSUPPORTED_RUNTIME naming Node 24, never with ERR_UNKNOWN_BUILTIN_MODULE', (t) => {
    const version = existsSync(OLD_NODE) ? spawnSync(OLD_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
    const major = Number.parseInt(version.slice(1), 10);
    if (!(major < 24)) return t.skip(`no Node older than 24 at ${OLD_NODE} (found ${version || 'none'})`);
    const results = JSON.parse(run(OLD_NODE, ['old-node.mjs'], consumer).stdout) as Record<string, { code: string; message: string } | null>;
    for (const [entry, error] of Object.entries(results)) {
      assert.equal(error?.code, 'ERR_LATCHKEY_UNSUPPORTED_RUNTIME', `${entry}: ${JSON.stringify(error)}`);
      assert.match(error.message, new RegExp(`^${entry.replace('/', '\\/')} needs Node\\.js 24 or later \\(.+\\); this is Node ${version.slice(1).replaceAll('.', '\\.')}: install Node 24 LTS`));
    }
    assert.match(results['latchkey/sqlite']!.message, /\(node:sqlite\)/);
  });

  for (const framework of ['hono', 'express', 'fastify'] as const) {
    it(`the README's ${framework} quick start, copied into the project, type-checks and runs on the installed package: register, log out, log in`, async () => {
      const app = join(consumer, framework);
      mkdirSync(app, { recursive: true });
      cpSync(join(root, 'examples', framework, 'app.ts'), join(app, 'app.ts'));
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `quick-start-${framework}`, private: true, type: 'module' }));
      const config = { compilerOptions: { target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'], skipLibCheck: true, allowImportingTsExtensions: true }, files: ['app.ts'] };
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(config));
      const check = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app, encoding: 'utf8' });
      assert.equal(check.status, 0, `${framework}:\n${check.stdout}${check.stderr}`);
      const server = spawn(process.execPath, ['app.ts'], { cwd: app, env: { ...env, PORT: '0', NODE_ENV: 'development' }, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const origin = await new Promise<string>((resolve, reject) => {
          let output = '';
          const read = (chunk: Buffer) => {
            output += chunk;
            const match = /listening on (http:\/\/\S+)/.exec(output);
            if (match) resolve(match[1] as string);
          };
          server.stdout.on('data', read);
          server.stderr.on('data', read);
          server.on('exit', (code) => reject(new Error(`${framework} exited with ${code}:\n${output}`)));
        });
        const jar = new Map<string, string>();
        const go = async (path: string, form?: Record<string, string>) => {
          const headers: Record<string, string> = { accept: 'text/html', cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
          if (form) Object.assign(headers, { 'content-type': 'application/x-www-form-urlencoded', origin });
          const response = await fetch(origin + path, { method: form ? 'POST' : 'GET', headers, body: form ? new URLSearchParams(form) : undefined, redirect: 'manual' });
          for (const cookie of response.headers.getSetCookie()) {
            const pair = cookie.slice(0, cookie.indexOf(';'));
            const name = pair.slice(0, pair.indexOf('='));
            if (/;\s*Max-Age=0\b/i.test(cookie)) jar.delete(name);
            else jar.set(name, pair.slice(name.length + 1));
          }
          return response;
        };
        const token = async (path: string) => /name="_csrf" value="([^"]+)"/.exec(await (await go(path)).text())?.[1] ?? '';
        const email = `new-${framework}@example.com`;
        const password = 'correct horse battery staple';
        const registered = await go('/register', { _csrf: await token('/register'), email, name: 'Newcomer', password });
        assert.equal(registered.status, 303, await registered.text());
        assert.match(await (await go('/dashboard')).text(), /Hello, Newcomer!/);
        assert.equal((await go('/logout', { _csrf: await token('/dashboard') })).status, 303);
        assert.equal((await go('/dashboard')).status, 302, 'logged out');
        const login = await go('/login', { _csrf: await token('/login'), login: email, password, next: '/dashboard' });
        assert.equal(login.status, 303);
        assert.match(await (await go(login.headers.get('location') as string)).text(), /Hello, Newcomer!/);
      } finally {
        server.kill('SIGKILL');
      }
    });
  }
});
