/**
 * The app's static files, read once at start: `app/static/style.css`, which pages link as
 * `/static/style.css?v=<hash of its content>`, so it can be cached for a year as immutable and a
 * new version is still fetched at once (RFC 8246); the icon, an SVG served where browsers
 * look for one, `/favicon.ico` (a 404 there is a console error on every page); and the two
 * scripts of the passkey buttons, versioned the same way: `@simplewebauthn/browser`'s UMD bundle
 * as published (it defines `SimpleWebAuthnBrowser`), and `app/static/passkeys.js`, ours, which
 * wires the buttons. Files of this origin, so the CSP's `script-src 'self'` admits them and
 * nothing inline (SEC-64).
 *
 * @module app/static
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Handler } from './types.ts';

const CSS = readFileSync(new URL('./static/style.css', import.meta.url));
const ICON = readFileSync(new URL('./static/favicon.svg', import.meta.url));
const PASSKEYS_JS = readFileSync(new URL('./static/passkeys.js', import.meta.url));
// The package exports only its modules: its bundle is found beside them (dist/bundle, as published).
const WEBAUTHN_JS = readFileSync(new URL('../dist/bundle/index.umd.min.js', import.meta.resolve('@simplewebauthn/browser')));
const versionOf = (content: typeof CSS) => createHash('sha256').update(content).digest('base64url').slice(0, 12);
const VERSION = versionOf(CSS);
const PASSKEYS_VERSION = versionOf(PASSKEYS_JS);
const WEBAUTHN_VERSION = versionOf(WEBAUTHN_JS);

/** The stylesheet's URL, with its content version. */
export const STYLESHEET_URL = `/static/style.css?v=${VERSION}`;
/** The scripts of the passkey buttons, in the order a page loads them. */
export const SCRIPT_URLS: readonly string[] = [`/static/webauthn.js?v=${WEBAUTHN_VERSION}`, `/static/passkeys.js?v=${PASSKEYS_VERSION}`];

/** One year (the longest `max-age` caches honour in practice); `immutable` skips revalidation. */
const CACHE = 'public, max-age=31536000, immutable';

/** GET /static/style.css. */
export const stylesheet: Handler = async (c) =>
  new Response(CSS, {
    headers: { 'content-type': 'text/css; charset=utf-8', 'cache-control': CACHE, etag: `"${VERSION}"` },
  });

/** GET /favicon.ico: its URL has no version, so a day of cache rather than a year. */
export const favicon: Handler = async () =>
  new Response(ICON, { headers: { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': 'public, max-age=86400' } });

const script = (content: typeof CSS, version: string): Handler =>
  async () => new Response(content, { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': CACHE, etag: `"${version}"` } });

/** GET /static/webauthn.js: `@simplewebauthn/browser`. */
export const webauthnScript: Handler = script(WEBAUTHN_JS, WEBAUTHN_VERSION);

/** GET /static/passkeys.js: the buttons. */
export const passkeysScript: Handler = script(PASSKEYS_JS, PASSKEYS_VERSION);
