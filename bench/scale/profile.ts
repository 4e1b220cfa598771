/**
 * Where a server's CPU went, from the `.cpuprofile` that `node --cpu-prof` wrote at exit: the top
 * functions by self time, and self time by source (latchkey's `src/`, the app's `app/`, Hono,
 * Node's internals, the garbage collector, native code and the rest), for `CPU_PROF=<dir>` in
 * `bench/scale.ts`.
 *
 * @module bench/scale/profile
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The bucket of a function's source. */
function source(url: string, name: string, root: string): string {
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)') return '(program: native, outside JS)';
  if (url === '') return `(native: ${name || 'anonymous'})`;
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(`${root}/src/`)) return `latchkey src/${path.slice(root.length + 5).split('/')[0]}`;
  if (path.startsWith(`${root}/app/`)) return `app/${path.slice(root.length + 5)}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return `npm ${pkg[1]}`;
  if (path.startsWith('node:')) return `node:${path.slice(5).split('/')[0]}`;
  return path;
}

/** Printable lines: the top `count` functions and the sources, by share of busy samples. */
export function summarizeProfile(dir: string, root: string, count: number): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files.at(-1);
  if (!file) return [`(no .cpuprofile in ${dir})`];
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[] };
  const byFunction = new Map<string, number>();
  const bySource = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    const where = url ? `${url.replace(/^file:\/\//, '').replace(`${root}/`, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
    const s = source(url, functionName, root);
    bySource.set(s, (bySource.get(s) ?? 0) + hits);
  }
  const busy = total - idle;
  const pct = (n: number) => `${((100 * n) / Math.max(1, busy)).toFixed(1).padStart(5)} %`;
  const top = (m: Map<string, number>, n: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return [
    `${join(dir, file)}: ${busy} busy samples of ${total} (${((100 * busy) / Math.max(1, total)).toFixed(0)} % busy)`,
    '  self time by source:',
    ...top(bySource, 14).map(([k, n]) => `    ${pct(n)}  ${k}`),
    `  top ${count} functions by self time:`,
    ...top(byFunction, count).map(([k, n]) => `    ${pct(n)}  ${k}`),
  ];
}
