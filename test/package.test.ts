import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('the package', () => {
  it('has zero runtime dependencies: frameworks and drivers are optional peers', () => {
    assert.deepEqual(Object.keys(pkg.dependencies ?? {}), []);
    for (const peer of Object.keys(pkg.peerDependencies ?? {})) assert.equal(pkg.peerDependenciesMeta?.[peer]?.optional, true, peer);
    assert.equal(pkg.engines.node, '>=24');
  });

  it('exports every subpath it documents, each pointing at an existing source file', () => {
    for (const [subpath, target] of Object.entries<any>(pkg.exports)) {
      assert.ok(readFileSync(join(root, target.source), 'utf8').length > 0, subpath);
      assert.match(target.default, /^\.\/dist\/.+\.js$/);
    }
  });

  // One exception: latchkey/passkeys runs on @simplewebauthn/server (an optional peer), which no
  // other file may load at run time, so that `import 'latchkey'` never needs it (see the import cost below).
  it('keeps the core free of frameworks and drivers: only node: built-ins and relative imports at run time, and @simplewebauthn/server in src/passkeys/ only', () => {
    const passkeys = join('src', 'passkeys') + '/';
    for (const file of sources('src')) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const match of text.matchAll(/^import\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)) {
        const [, typeOnly, specifier] = match as unknown as [string, string | undefined, string];
        if (typeOnly) continue;
        if (specifier === '@simplewebauthn/server' && file.startsWith(passkeys)) continue;
        assert.ok(specifier.startsWith('node:') || specifier.startsWith('./') || specifier.startsWith('../'), `${file} imports ${specifier}`);
      }
    }
  });

  // The conformance suites ship in latchkey/testing so a third-party store runs them (issue 11):
  // they, and only they, may use the test runner and assertions. Any other file of src/ that did,
  // or that imported src/testing/, would load them into every app through `import 'latchkey'`.
  it('loads node:test and node:assert only from src/testing/, which no other file of src/ imports', () => {
    const testing = join('src', 'testing') + '/';
    for (const file of sources('src')) {
      if (file.startsWith(testing)) continue;
      const text = readFileSync(join(root, file), 'utf8');
      for (const [, specifier] of text.matchAll(/^(?:import|export)\s[^'"]*from\s+'([^']+)'/gm)) {
        assert.ok(!/^node:(test|assert)(\/|$)/.test(specifier as string), `${file} imports ${specifier}`);
        assert.ok(!join(file, '..', specifier as string).startsWith(testing), `${file} imports ${specifier}`);
      }
    }
  });

  it('registers no test when latchkey/testing is imported: the suites are functions a test file calls', () => {
    const run = spawnSync(process.execPath, ['--conditions=source', '--input-type=module', '-e', "await import('latchkey/testing')"], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_TEST_CONTEXT: undefined }, // report as a plain script would, not to this runner
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '', 'a test that ran would have printed its report');
  });

  it('shows in the README, verbatim, the store author example that test/testing-exports.test.ts runs', () => {
    const example = readFileSync(join(root, 'test', 'testing-exports.test.ts'), 'utf8').replace(/^\/\*\*[\s\S]*?\*\/\n/, '');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Writing your own store'));
    assert.ok(section.includes('```ts\n' + example + '```\n'), 'README.md, "Writing your own store"');
  });

  it('loads no framework at run time: not through `latchkey`, and an adapter not its own framework (types only)', () => {
    // Records every module a fresh process resolves while importing `entry`, and prints the frameworks among them.
    const frameworksLoadedBy = (entry: string, control = '') => {
      const script = `
        import { registerHooks } from 'node:module';
        const seen = new Set();
        registerHooks({ resolve(specifier, context, next) {
          const resolved = next(specifier, context);
          const framework = /\\/node_modules\\/(fastify|hono|express|@hono\\/node-server)\\//.exec(resolved.url);
          if (framework) seen.add(framework[1]);
          return resolved;
        } });
        await import(${JSON.stringify(entry)});
        ${control}
        process.stdout.write(JSON.stringify([...seen].sort()));`;
      const run = spawnSync(process.execPath, ['--conditions=source', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      return JSON.parse(run.stdout) as string[];
    };
    assert.deepEqual(frameworksLoadedBy('latchkey'), []);
    for (const adapter of ['fastify', 'hono', 'express']) assert.deepEqual(frameworksLoadedBy(`latchkey/${adapter}`), [], adapter);
    // The hook does see a framework once one is imported.
    assert.deepEqual(frameworksLoadedBy('latchkey/fastify', "await import('fastify');"), ['fastify']);
  });

  it('costs an app that only checks sessions no node:fs, no node:net, no hasher, no common-password list and no WebAuthn library (pay as you go)', () => {
    const script = join(root, 'test', 'fixtures', 'import-cost.ts');
    const run = (...args: string[]) => spawnSync(process.execPath, ['--conditions=source', script, ...args], { encoding: 'utf8' });
    const plain = run();
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(JSON.parse(plain.stdout), []);
    // Importing latchkey/passkeys and making one costs no WebAuthn library either: the first ceremony loads it.
    const passkeys = run('--passkeys');
    assert.equal(passkeys.status, 0, passkeys.stderr);
    assert.deepEqual(JSON.parse(passkeys.stdout), []);
    const control = run('--control');
    assert.equal(control.status, 0, control.stderr);
    for (const name of ['node:fs', 'node:net', 'src/passwords/argon2.ts', 'src/passwords/bcrypt.ts', 'src/passwords/legacy.ts', '@simplewebauthn/server']) {
      assert.ok(JSON.parse(control.stdout).includes(name), `the hooks see ${name} once it is used`);
    }
  });
});
