/**
 * The app's two static files, read once at start: `app/static/style.css`, which pages link as
 * `/static/style.css?v=<hash of its content>`, so it can be cached for a year as immutable and a
 * new version is still fetched at once (RFC 8246); and the icon, an SVG served where browsers
 * look for one, `/favicon.ico` (a 404 there is a console error on every page).
 *
 * @module app/static
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Handler } from './types.ts';

const CSS = readFileSync(new URL('./static/style.css', import.meta.url));
const ICON = readFileSync(new URL('./static/favicon.svg', import.meta.url));
const VERSION = createHash('sha256').update(CSS).digest('base64url').slice(0, 12);

/** The stylesheet's URL, with its content version. */
export const STYLESHEET_URL = `/static/style.css?v=${VERSION}`;

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
