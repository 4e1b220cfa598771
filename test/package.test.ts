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

  it('keeps the core free of frameworks and drivers: only node: built-ins and relative imports at run time', () => {
    for (const file of sources('src')) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const match of text.matchAll(/^import\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)) {
        const [, typeOnly, specifier] = match as unknown as [string, string | undefined, string];
        if (typeOnly) continue;
        assert.ok(specifier.startsWith('node:') || specifier.startsWith('./') || specifier.startsWith('../'), `${file} imports ${specifier}`);
      }
    }
  });

  it('costs an app that only checks sessions no node:fs, no node:net, no hasher and no common-password list (pay as you go)', () => {
    const script = join(root, 'test', 'fixtures', 'import-cost.ts');
    const run = (...args: string[]) => spawnSync(process.execPath, ['--conditions=source', script, ...args], { encoding: 'utf8' });
    const plain = run();
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(JSON.parse(plain.stdout), []);
    const control = run('--control');
    assert.equal(control.status, 0, control.stderr);
    for (const name of ['node:fs', 'node:net', 'src/passwords/argon2.ts', 'src/passwords/bcrypt.ts', 'src/passwords/legacy.ts']) {
      assert.ok(JSON.parse(control.stdout).includes(name), `the hooks see ${name} once it is used`);
    }
  });
});
