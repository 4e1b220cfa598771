/**
 * Runs an example inside latchkey's own repository, on the sources:
 * `node --conditions=source --import ./examples/in-repo.ts examples/hono/app.ts`.
 * Each example has a package.json of its own (what a new project starts from), so Node's
 * self-reference does not see that `latchkey` is this repository, and no `node_modules` holds it.
 * This hook resolves `latchkey` and `latchkey/…` from the repository's root instead, as
 * `npm install latchkey` would from the registry; every other import resolves as usual (the
 * frameworks from the repository's `node_modules`).
 *
 * @module examples/in-repo
 */
import { registerHooks } from 'node:module';

const root = new URL('../package.json', import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const own = specifier === 'latchkey' || specifier.startsWith('latchkey/');
    return nextResolve(specifier, own ? { ...context, parentURL: root } : context);
  },
});
