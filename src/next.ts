/**
 * Where to send a user after login, and how the login page learns where they were going. A
 * `?next=` value is written by whoever wrote the link, so {@link safeNext} is the only gate between
 * it and the `Location` header: a pure, total function that turns any input into a path on the app's
 * own origin or the fallback, never another origin and never an exception (SEC-49). Flask-Login only
 * produces `next` and leaves validating it to the app (Flask-Login's behaviour §2.4); Flask-Security got it
 * wrong (CVE-2021-32618, `next=\\\github.com`). {@link makeNextParam} and {@link loginUrl} port
 * Flask-Login's helpers (utils.py 66-130), so the redirect to the login page is byte for byte theirs.
 *
 * @module next
 */

/** Options of {@link safeNext}. */
export interface SafeNextOptions {
  /** The app's own origin, scheme, host and port only, e.g. `https://app.example.com`. */
  origin: string;
  /** Returned for every unsafe input; must itself be a canonical same-origin path. Default `'/'`. */
  fallback?: string;
  /** Longest accepted value, in UTF-16 code units, before and after re-serialising. Default 2048 (SEC-49). */
  maxLength?: number;
  /** Paths never redirected to, with everything under them (`['/login', '/logout']`), to avoid loops. Case-insensitive. */
  disallow?: readonly string[];
}

/** Options of {@link loginUrl}. */
export interface LoginUrlOptions {
  /** The URL the user asked for, usually the request URL; reduced by {@link makeNextParam}. */
  next?: string;
  /** The query field that carries it. Default `'next'`. */
  nextField?: string;
  /** Flask-Login's `FORCE_HOST_FOR_REDIRECTS`: a `host[:port]` that replaces the login URL's host, so a spoofed `Host` header cannot. */
  forceHost?: string;
}

const DEFAULT_MAX_LENGTH = 2048; // SEC-49
// Browsers drop tab and newline inside URLs, strip leading C0 and read `\` as `/`, so `/\t/evil.com`,
// `\b//evil.com` and `/\evil.com` all reach evil.com (SEC-49, checked with WHATWG URL; Django IsSafeURLTests).
const RAW_FORBIDDEN = /[\u0000-\u001f\u007f\\]/;
// Percent-encoded C0 or DEL anywhere: header injection for anything downstream that decodes (`/%0d%0aSet-Cookie:`).
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;
// Percent-encoded `/` or `\` in the path: a server that decodes and redirects again (trailing-slash
// redirects) turns `/%2F%2Fevil.com` into `//evil.com`. We never decode, so we refuse these (the security requirements §2).
const ENCODED_SEPARATOR = /%(?:2f|5c)/i;
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A login or refresh view: a path on this site or an http(s) URL (an external login page). */
const VIEW = /^(?:\/|https?:\/\/)/;
const HOST = /^(?:\[[0-9a-f:.]+\]|[^\u0000-\u0020\u007f/?#@\\[\]:]+)(?::\d{1,5})?$/i; // FORCE_HOST_FOR_REDIRECTS

/**
 * Turns any input into a same-origin relative target (`pathname + search + hash`), or `fallback`.
 * Only a string of at most `maxLength` characters, without C0 controls, DEL or backslash, that starts
 * with exactly one `/` and that the WHATWG URL parser resolves on `origin`, is kept; it is returned
 * re-serialised, never decoded (SEC-49; CS:UnvalidatedRedirects §Preventing; ASVS 3.7.2).
 * Throws `TypeError` only for bad options.
 *
 * @example
 * ```ts
 * const origin = 'https://app.example.com';
 * safeNext('/dashboard?x=1#f', { origin });                        // '/dashboard?x=1#f'
 * safeNext('//evil.com', { origin });                              // '/'
 * safeNext(['/a', '/b'], { origin });                              // '/' (a repeated ?next=)
 * safeNext('/login', { origin, disallow: ['/login', '/logout'] }); // '/'
 * ```
 */
export function safeNext(value: unknown, options: SafeNextOptions): string {
  if (typeof options !== 'object' || options === null) throw new TypeError('safeNext: options must be an object');
  const origin = checkOrigin(options.origin);
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!Number.isSafeInteger(maxLength) || maxLength < 1) throw new TypeError('safeNext: maxLength must be a positive integer');
  const fallback = options.fallback ?? '/';
  if (typeof fallback !== 'string' || sameOriginPath(fallback, origin, maxLength) !== fallback) {
    throw new TypeError(`safeNext: fallback must be a canonical same-origin path such as '/', got ${JSON.stringify(fallback)}`);
  }
  const disallow = (options.disallow ?? []).map((prefix) => {
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw new TypeError('safeNext: disallow entries must be paths starting with /');
    return (prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix).toLowerCase();
  });

  const target = sameOriginPath(value, origin, maxLength);
  if (target === null) return fallback;
  // Re-serialised, so `?` and `#` inside the path are encoded and the first one ends it.
  const pathname = (target.split(/[?#]/, 1)[0] ?? '').toLowerCase();
  if (disallow.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`))) return fallback;
  return target;
}

function checkOrigin(origin: unknown): string {
  const url = typeof origin === 'string' ? URL.parse(origin) : null;
  if (
    url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' ||
    url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== ''
  ) {
    throw new TypeError(`safeNext: origin must be an http(s) origin such as 'https://app.example.com', got ${JSON.stringify(origin)}`);
  }
  return url.origin;
}

function sameOriginPath(value: unknown, origin: string, maxLength: number): string | null {
  if (typeof value !== 'string' || value.length > maxLength || RAW_FORBIDDEN.test(value)) return null;
  // Exactly one leading `/`: `//evil.com` is scheme-relative, and `https:`, `javascript:`, ` //` and
  // `／／` (U+FF0F) are not paths at all. Backslash was refused above.
  if (value[0] !== '/' || value[1] === '/') return null;
  const url = URL.parse(value, origin);
  if (url === null || url.origin !== origin) return null;
  const out = url.pathname + url.search + url.hash;
  // Dot segments are resolved after the check above: `/.//evil.com` and `/%2e%2e//evil.com` both
  // serialise to the path `//evil.com`, which a browser reads as another host.
  if (out.length > maxLength || out[0] !== '/' || out[1] === '/' || RAW_FORBIDDEN.test(out)) return null;
  if (ENCODED_SEPARATOR.test(url.pathname) || ENCODED_CONTROL.test(out)) return null;
  return out;
}

interface SplitUrl { scheme: string; netloc: string; path: string; query: string; fragment: string }

// Python's urllib.parse.urlsplit: optional scheme, `//netloc`, path, `?query`, `#fragment`.
const SPLIT = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;

function split(url: string): SplitUrl {
  const m = SPLIT.exec(url) ?? [];
  return { scheme: (m[1] ?? '').toLowerCase(), netloc: m[2] ?? '', path: m[3] ?? '', query: m[4] ?? '', fragment: m[5] ?? '' };
}

// Python's urlunsplit: empty parts are left out, so `/a?` becomes `/a`.
function unsplit({ scheme, netloc, path, query, fragment }: SplitUrl): string {
  let url = netloc === '' ? path : `//${netloc}${path === '' || path.startsWith('/') ? '' : '/'}${path}`;
  if (scheme !== '') url = `${scheme}:${url}`;
  if (query !== '') url += `?${query}`;
  if (fragment !== '') url += `#${fragment}`;
  return url;
}

/**
 * Flask-Login's `make_next_param` (utils.py 66-83): when the login URL has no scheme or the same one,
 * and no host or the same one, `next` is the current URL's `path?query`; otherwise the absolute URL.
 * It produces a value; {@link safeNext} is what validates one on the way back in.
 *
 * @example
 * ```ts
 * makeNextParam('/login', 'http://localhost/profile');                   // '/profile'
 * makeNextParam('https://localhost/login', 'http://localhost/profile');  // 'http://localhost/profile'
 * ```
 */
export function makeNextParam(loginUrl: string, currentUrl: string): string {
  if (typeof loginUrl !== 'string' || typeof currentUrl !== 'string') throw new TypeError('makeNextParam: both URLs must be strings');
  const login = split(loginUrl);
  const current = split(currentUrl);
  if ((login.scheme === '' || login.scheme === current.scheme) && (login.netloc === '' || login.netloc === current.netloc)) {
    return unsplit({ scheme: '', netloc: '', path: current.path, query: current.query, fragment: '' });
  }
  return currentUrl;
}

// Python's quote_plus with safe='': only A-Z a-z 0-9 `_.-~` stay, space becomes `+`.
function quotePlus(value: string): string {
  return encodeURIComponent(value.toWellFormed())
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('%20', '+');
}

/**
 * Whether `value` is a login or refresh view: a path on this site or an http(s) URL. The one rule
 * for views, read by the manager's options, the guards' options and {@link loginUrl}.
 */
export function isView(value: unknown): value is string {
  return typeof value === 'string' && VIEW.test(value);
}

/**
 * Flask-Login's `login_url` (utils.py 100-130): the login view with `next` merged into its query
 * string (parse_qs, then urlencode with doseq), existing parameters kept, and the host replaced by
 * `forceHost` (`FORCE_HOST_FOR_REDIRECTS`). Latchkey has no endpoint names: the view is a path or an
 * absolute http(s) URL, and stays relative or absolute as given. Throws `TypeError` on misuse.
 *
 * @example
 * ```ts
 * loginUrl('/login', { next: 'http://localhost/secret?a=1&b=2' });  // '/login?next=%2Fsecret%3Fa%3D1%26b%3D2'
 * loginUrl('/login?affil=cgnu', { next: '/protected' });            // '/login?affil=cgnu&next=%2Fprotected'
 * loginUrl('/login', { next: '/secret', forceHost: 'good.com' });   // '//good.com/login?next=%2Fsecret'
 * loginUrl('/foo');                                                 // '/foo'
 * ```
 */
export function loginUrl(loginView: string, options: LoginUrlOptions = {}): string {
  if (!isView(loginView) || CONTROL.test(loginView)) {
    throw new TypeError(`loginUrl: loginView must be a path or an http(s) URL, got ${JSON.stringify(loginView)}`);
  }
  const { next, nextField = 'next', forceHost } = options;
  if (next !== undefined && typeof next !== 'string') throw new TypeError('loginUrl: next must be a string');
  if (typeof nextField !== 'string' || nextField === '') throw new TypeError('loginUrl: nextField must be a non-empty string');
  if (forceHost !== undefined && (typeof forceHost !== 'string' || !HOST.test(forceHost))) {
    throw new TypeError(`loginUrl: forceHost must be a host[:port], got ${JSON.stringify(forceHost)}`);
  }
  if (next === undefined) return loginView; // as Flask-Login: no next, no rewriting (test 1286)

  const base = split(loginView);
  // Grouped by name in order of first appearance, as parse_qs does; a `?` prefix is eaten by
  // URLSearchParams, so one is added to keep a query that itself starts with `?`.
  const fields = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(`?${base.query}`)) fields.set(name, [...(fields.get(name) ?? []), value]);
  fields.set(nextField, [makeNextParam(loginView, next)]);
  const query = [...fields].flatMap(([name, values]) => values.map((v) => `${quotePlus(name)}=${quotePlus(v)}`)).join('&');
  return unsplit({ ...base, netloc: forceHost ?? base.netloc, query });
}
