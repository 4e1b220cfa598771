/**
 * After `tsc -p tsconfig.build.json`: rewrites the relative `./x.ts` specifiers of the emitted
 * declaration files (`dist/**\/*.d.ts`) to `./x.js`. `rewriteRelativeImportExtensions` rewrites
 * the JavaScript only; declaration emit keeps the source's `.ts`, which recent TypeScript maps to
 * `x.d.ts` but an older compiler or another tool reading the types (a bundler's dts plugin, an
 * API extractor) reports as an import of a file the package does not ship. `.js` is what the
 * `.d.ts` beside it describes, and every resolver reads it (TypeScript handbook, "Modules: ESM").
 *
 * Usage: `node scripts/declaration-extensions.ts dist`
 *
 * @module scripts/declaration-extensions
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `from './a.ts'`, `from "../b/c.ts"`, `import('./d.ts')`: a relative specifier ending in `.ts` (not `.d.ts`). */
const RELATIVE_TS = /((?:from\s+|import\s*\(\s*)(['"])\.{1,2}\/[^'"]*?)(?<!\.d)\.ts\2/g;

/** The text with every relative `.ts` specifier ending in `.js` instead. */
export function rewriteDeclaration(text: string): string {
  return text.replace(RELATIVE_TS, '$1.js$2');
}

function declarations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? declarations(join(dir, entry.name)) : entry.name.endsWith('.d.ts') ? [join(dir, entry.name)] : [],
  );
}

const dir = process.argv[2];
if (dir !== undefined) {
  for (const file of declarations(dir)) {
    const text = readFileSync(file, 'utf8');
    const rewritten = rewriteDeclaration(text);
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
}
