/**
 * The Node.js version check every latchkey entry runs when it is imported (package.json `engines`:
 * Node ≥ 24). On an older Node, latchkey would otherwise load and then fail far from the cause:
 * `ERR_UNKNOWN_BUILTIN_MODULE: node:sqlite` at import, `URL.parse is not a function` at the first
 * request, or hashes silently made with scrypt for want of `crypto.argon2` (Node ≥ 24.7, SEC-02).
 * {@link requireNode} throws an {@link UnsupportedRuntimeError} that names the entry, what it needs,
 * the running version and the fix.
 *
 * A static `import … from 'node:sqlite'` fails while the module graph is linked, before any code
 * runs, so `latchkey/sqlite` loads the module with {@link loadSqlite} (`process.getBuiltinModule`,
 * Node ≥ 20.16 and 22.3) after the check. On a Node older than that, a missing named export of a
 * built-in can still fail at link time: those lines are out of support anyway.
 *
 * @module lib/runtime
 */
import { UnsupportedRuntimeError } from '../errors.ts';

/** The oldest major version latchkey supports (package.json `engines`). */
export const MIN_NODE_MAJOR = 24;

/**
 * Throws {@link UnsupportedRuntimeError} when `version` (default: this process's) is older than
 * Node 24. `entry` is the specifier the app imported; `needs` says what it uses from Node 24.
 *
 * @example
 * ```ts
 * requireNode('latchkey/sqlite', 'node:sqlite')
 * // on Node 20: "latchkey/sqlite needs Node.js 24 or later (node:sqlite); this is Node 20.20.2: install Node 24 LTS or later"
 * ```
 */
export function requireNode(entry: string, needs: string, version: string = globalThis.process?.versions?.node ?? 'unknown'): void {
  const major = Number.parseInt(version, 10);
  if (major >= MIN_NODE_MAJOR) return;
  throw new UnsupportedRuntimeError(
    `${entry} needs Node.js ${MIN_NODE_MAJOR} or later (${needs}); this is Node ${version}: install Node ${MIN_NODE_MAJOR} LTS or later (https://nodejs.org/en/download)`,
  );
}

/** `node:sqlite`, loaded after the version check (a static import would fail before it could run). */
export function loadSqlite(): typeof import('node:sqlite') {
  requireNode('latchkey/sqlite', 'node:sqlite');
  return process.getBuiltinModule('node:sqlite');
}
