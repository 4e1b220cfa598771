/**
 * The package.json that `npm pack` and `npm publish` put in the tarball, without the `source`
 * export conditions. In this repository `"source": "./src/*.ts"` lets the tests, the app and the
 * benchmarks run the TypeScript itself (`node --conditions=source`); the tarball ships only
 * `dist/`, and Node refuses to strip types under `node_modules` anyway, so in a consumer the
 * condition pointed at nothing: `node --conditions=source` (a common monorepo setting) or
 * `customConditions: ["source"]` in its tsconfig failed to resolve `latchkey`.
 *
 * `strip` (prepack) keeps the file as it was in `package.json.packing` and writes it without the
 * conditions; `restore` (postpack) puts the original back. A `package.json.packing` left behind by
 * an interrupted pack makes the next `strip` refuse, so the original is never overwritten.
 *
 * @module scripts/pack-manifest
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const manifest = join(process.cwd(), 'package.json');
const kept = `${manifest}.packing`;

/** package.json's text without a `source` key in any `exports` entry; everything else as it was. */
export function publishedManifest(text: string): string {
  const pkg = JSON.parse(text) as { exports?: Record<string, Record<string, string>> };
  for (const target of Object.values(pkg.exports ?? {})) delete target['source'];
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

const command = process.argv[2];
if (command === 'strip') {
  if (existsSync(kept)) throw new Error(`${kept} exists: an earlier pack was interrupted; check it and move it back to package.json`);
  const original = readFileSync(manifest, 'utf8');
  writeFileSync(kept, original);
  writeFileSync(manifest, publishedManifest(original));
} else if (command === 'restore') {
  if (existsSync(kept)) renameSync(kept, manifest);
} else if (command !== undefined) {
  throw new TypeError('usage: node scripts/pack-manifest.ts strip|restore');
}
