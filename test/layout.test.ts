/**
 * The layout's rules, checked on the source itself so that they hold after every change:
 * - no import circle in src/ or app/ (type-only imports count: a circle of types still ties the
 *   files together for a reader and for the build order);
 * - no file in src/ over 300 lines: one concept per file;
 * - src/lib/ is private and store-agnostic: it imports only itself and the contracts below it
 *   (errors, durations, the store contracts), never a store folder, the request path or accounts;
 * - the store folders import no other store folder, and nothing outside src/testing/ imports it
 *   (so `import 'latchkey'` never loads the conformance suites);
 * - nothing else in src/ imports src/passkeys/ (so only `latchkey/passkeys` loads its WebAuthn library).
 *
 * @module test/layout
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sources(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, folder), { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Each file's relative imports, as repository paths. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => relative(ROOT, resolve(ROOT, dirname(file), (m[1] ?? m[2]) as string)));
    graph.set(file, targets);
  }
  return graph;
}

/** Every circle of `graph`, each as the files on it (Tarjan's strongly connected components). */
function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indexOf.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, indexOf.get(next) as number));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return found;
}

const SRC = sources('src');
const APP = sources('app');
const GRAPH = importGraph([...SRC, ...APP]);

describe('layout', () => {
  it('has no import circle in src/ or app/', () => {
    assert.deepEqual(circles(GRAPH), []);
  });

  it('finds a circle when there is one (the check is not vacuous)', () => {
    const graph = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
    assert.deepEqual(circles(graph), [['a.ts', 'b.ts', 'c.ts']]);
    assert.ok([...GRAPH.values()].some((targets) => targets.length > 0), 'the imports were read');
  });

  it('keeps every file in src/ at 300 lines or fewer', () => {
    const long = SRC.map((file) => [file, readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1] as const).filter(([, lines]) => lines > 300);
    assert.deepEqual(long, []);
  });

  it('keeps src/lib/ private and store-agnostic: it imports only itself and the contracts below it', () => {
    const allowed = new Set(['src/errors.ts', 'src/duration.ts', 'src/store.ts', 'src/counter-store.ts', 'src/user-store.ts']);
    const wrong = SRC.filter((file) => file.startsWith('src/lib/')).flatMap((file) =>
      (GRAPH.get(file) ?? []).filter((target) => !target.startsWith('src/lib/') && !allowed.has(target)).map((target) => `${file} -> ${target}`),
    );
    assert.deepEqual(wrong, []);
  });

  it('keeps each store folder to itself, and src/testing/ out of everything else in src/', () => {
    const folders = ['src/sqlite/', 'src/postgres/', 'src/redis/', 'src/testing/'];
    const wrong = SRC.flatMap((file) => {
      const own = folders.find((folder) => file.startsWith(folder));
      return (GRAPH.get(file) ?? [])
        .filter((target) => folders.some((folder) => target.startsWith(folder) && folder !== own))
        .filter((target) => !(own === 'src/testing/' && target.startsWith('src/')))
        .map((target) => `${file} -> ${target}`);
    });
    assert.deepEqual(wrong, []);
  });

  it('keeps src/passkeys/ to itself: no other file of src/ imports it', () => {
    const wrong = SRC.filter((file) => !file.startsWith('src/passkeys/')).flatMap((file) =>
      (GRAPH.get(file) ?? []).filter((target) => target.startsWith('src/passkeys/')).map((target) => `${file} -> ${target}`),
    );
    assert.deepEqual(wrong, []);
  });
});
