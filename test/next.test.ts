// Tests for src/next.ts: SEC-49 (`next` validation) against every "next / redirect vectors" line of
// the security requirements §2, and Flask-Login's make_next_param / login_url tests (tests/test_login.py line numbers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loginUrl, makeNextParam, safeNext } from '../src/next.ts';

const origin = 'https://app.example.com';

// the security requirements §2 "next / redirect vectors (all → /)", written exactly; control characters are real ones.
const redirectVectors: ReadonlyArray<readonly [label: string, value: unknown]> = [
  ...[
    'https://evil.com', '//evil.com', '///evil.com', '/\\evil.com', '\\\\evil.com', '\\/evil.com', '/\\/evil.com',
    '/%2F%2Fevil.com', '%2F%2Fevil.com', '%252F%252Fevil.com', '/%5Cevil.com', '/\t/evil.com', '/\n/evil.com',
    '\b//evil.com', '\u0000//evil.com', ' //evil.com', 'https:evil.com', 'http:/\\/evil.com',
    'https://app.example.com.evil.com', 'https://app.example.com@evil.com', '//app.example.com@evil.com',
    'http://[::1', 'http:999999999', 'javascript:alert(1)', 'JaVaScRiPt:alert(1)', '\njavascript:alert(1)',
    'data:text/html,<script>', '／／evil.com', '/%0d%0aSet-Cookie:%20x=y', '\r\nLocation: https://evil.com',
  ].map((v) => [JSON.stringify(v), v] as const),
  ['an 8 KB path', `/${'a'.repeat(8192)}`],
  ['next as an array (?next=/a&next=//evil.com)', ['/a', '//evil.com']],
];

for (const [label, value] of redirectVectors) {
  test(`SEC-49: the redirect vector ${label} gives the fallback`, () => {
    assert.equal(safeNext(value, { origin }), '/');
  });
}

test('SEC-49: /login?next=/login gives the fallback when /login is disallowed, so login cannot loop', () => {
  const options = { origin, disallow: ['/login', '/logout'] };
  assert.equal(safeNext('/login?next=/login', options), '/');
  for (const v of ['/login', '/login/', '/LOGIN', '/logout/all', '/./login']) assert.equal(safeNext(v, options), '/', v);
  assert.equal(safeNext('/login-help', options), '/login-help');
  assert.equal(safeNext('/account?from=/login', options), '/account?from=/login');
});

// Found while writing next.ts: the URL parser resolves dot segments after the "one leading slash" check.
const dotSegmentVectors = ['/.//evil.com', '/..//evil.com', '/a/..//evil.com', '/%2e%2e//evil.com', '/%2E//evil.com'];
// Django IsSafeURLTests.test_bad_urls (example.com as the foreign host), and CVE-2021-32618's `\\\github.com`.
const djangoVectors = [
  'http://example.com', 'http:///example.com', 'ftp://example.com', '\\\\\\example.com', '/\\\\/example.com',
  '\\\\//example.com', 'http:/\\//example.com', 'http:\\/example.com', 'http:/\\example.com', 'javascript:alert("XSS")',
  '\x08//example.com', 'http://otherserver\\@example.com', 'http:\\\\testserver\\@example.com',
  'ftp:9999999999', '\n', 'http://[2001:cdba:0000:0000:0000:0000:3257:9652/', '\\\\\\github.com',
];
// Types other than string (SEC-72), the empty string, and literal-backslash spellings of §2's control characters.
const otherVectors: unknown[] = [
  undefined, null, 0, 42, true, {}, { toString: () => '/a' }, [], ['/a'], '', 'dashboard', '/\\t/evil.com', '\\b//evil.com',
  '/a\u007fb', '/a\rb', `/${'a'.repeat(2048)}`,
];

test('SEC-49: dot segments that collapse to //evil.com after parsing give the fallback', () => {
  for (const v of dotSegmentVectors) assert.equal(safeNext(v, { origin }), '/', v);
});

test('SEC-49: every Django IsSafeURLTests bad URL and the CVE-2021-32618 payload give the fallback', () => {
  for (const v of djangoVectors) assert.equal(safeNext(v, { origin }), '/', JSON.stringify(v));
});

test('SEC-49: non-strings, empty and relative values, DEL, CR and 2049 characters give the fallback', () => {
  for (const v of otherVectors) assert.equal(safeNext(v, { origin }), '/', String(JSON.stringify(v)));
});

test('SEC-49: a custom fallback is what unsafe input gets', () => {
  assert.equal(safeNext('//evil.com', { origin, fallback: '/home' }), '/home');
});

test('SEC-49: /dashboard?x=1#f and other same-origin paths are preserved exactly', () => {
  const good = [
    '/', '/dashboard?x=1#f', '/a/b/c', '/view/?param=http://example.com', '/url%20with%20spaces/',
    '/confirm/me@example.com', '/search?q=a%2Fb', '/a?next=//evil.com', '/:evil.com', '/@evil.com', `/${'a'.repeat(2047)}`,
  ];
  for (const v of good) assert.equal(safeNext(v, { origin }), v);
});

test('SEC-49: values are re-serialised by the URL parser, never decoded', () => {
  assert.equal(safeNext('/a b', { origin }), '/a%20b');
  assert.equal(safeNext('/café', { origin }), '/caf%C3%A9');
  assert.equal(safeNext('/a/./b/../c', { origin }), '/a/c');
  assert.equal(safeNext('/a?', { origin }), '/a');
  // A double-encoded slash stays the literal text %2F: decoding once would give /%2F%2Fevil.com.
  assert.equal(safeNext('/%252F%252Fevil.com', { origin }), '/%252F%252Fevil.com');
  // The fullwidth solidus after a real slash is an ordinary path character, percent-encoded.
  assert.equal(safeNext('/／evil.com', { origin }), '/%EF%BC%8Fevil.com');
});

test('SEC-49: /%2F%2Fevil.com is read as a path on our origin, and still refused because a decoding hop would make it //evil.com', () => {
  const url = new URL('/%2F%2Fevil.com', origin);
  assert.equal(url.origin, origin);
  assert.equal(url.pathname, '/%2F%2Fevil.com');
  assert.equal(safeNext('/%2F%2Fevil.com', { origin }), '/');
  assert.equal(safeNext('/%2F%2Fevil.com', { origin, fallback: '/home' }), '/home');
});

test('SEC-49: misuse throws TypeError: a bad origin, fallback, maxLength or disallow entry', () => {
  for (const bad of ['app.example.com', 'ftp://app.example.com', 'https://app.example.com/app', 'https://u@app.example.com', 'https://app.example.com?x', '', 42]) {
    assert.throws(() => safeNext('/', { origin: bad as string }), TypeError, String(bad));
  }
  assert.throws(() => safeNext('/', null as unknown as { origin: string }), TypeError);
  for (const fallback of ['//evil.com', 'https://app.example.com/', 'home', '/a b']) {
    assert.throws(() => safeNext('/', { origin, fallback }), TypeError, fallback);
  }
  for (const maxLength of [0, -1, 1.5, Number.NaN]) assert.throws(() => safeNext('/', { origin, maxLength }), TypeError);
  assert.throws(() => safeNext('/', { origin, disallow: ['login'] }), TypeError);
});

test('SEC-49: the origin is normalised, so a trailing slash, upper case or the default port are accepted', () => {
  for (const o of ['https://app.example.com/', 'HTTPS://APP.example.com', 'https://app.example.com:443']) {
    assert.equal(safeNext('/a', { origin: o }), '/a');
    assert.equal(safeNext('https://app.example.com/a', { origin: o }), '/');
  }
  assert.equal(safeNext('/a', { origin: 'http://localhost:3000' }), '/a');
});

test('SEC-49: maxLength bounds both the input and the re-serialised output', () => {
  assert.equal(safeNext('/abcd', { origin, maxLength: 5 }), '/abcd');
  assert.equal(safeNext('/abcde', { origin, maxLength: 5 }), '/');
  assert.equal(safeNext('/é', { origin, maxLength: 5 }), '/'); // serialises to /%C3%A9, 7 characters
});

// mulberry32: a seeded generator, so a failure names an input that reproduces.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('SEC-49 as the attacker: 2,000 random strings of slashes, backslashes, dots, escapes and evil.com never leave the origin', () => {
  // Slashes and dots weighted up, with dot segments as tokens: without them `/.//evil.com` is too rare to be drawn.
  const alphabet = ['/', '/', '/', '\\', ':', '@', '.', '.', '%', '?', '#', 'a', 'e', 'F', 'C', '2', '5', '\t', '\n', 'evil.com', '%2e', '%2F', '..', './'];
  const next = random(49);
  let kept = 0;
  for (let i = 0; i < 2000; i++) {
    // Half start with a slash, so the accepting branch is exercised as much as the refusing one.
    let value = next() < 0.5 ? '/' : '';
    const length = 1 + Math.floor(next() * 12);
    for (let j = 0; j < length; j++) value += alphabet[Math.floor(next() * alphabet.length)];
    const out = safeNext(value, { origin });
    const label = `${JSON.stringify(value)} -> ${JSON.stringify(out)}`;
    assert.equal(new URL(out, origin).origin, origin, label);
    assert.doesNotMatch(out, /[\r\n\t\\]/, label);
    if (out === '/') continue;
    kept++;
    assert.ok(out.startsWith('/') && out[1] !== '/' && out[1] !== '\\', label);
    assert.equal(safeNext(out, { origin }), out, `not idempotent: ${label}`);
  }
  assert.ok(kept > 200, `only ${kept} of 2,000 were kept: the accepting branch is barely tested`);
});

test('SEC-49: loginUrl output read back by the login page and passed through safeNext returns the original target', () => {
  const location = loginUrl('/login', { next: 'https://app.example.com/secret?a=1&b=2' });
  const next = new URL(location, origin).searchParams.get('next');
  assert.equal(safeNext(next, { origin, disallow: ['/login'] }), '/secret?a=1&b=2');
});

test('make_next_param (flask-login test 1252): same scheme and host keep only the path, another scheme or host keeps the absolute URL', () => {
  assert.equal(makeNextParam('/login', 'http://localhost/profile'), '/profile');
  assert.equal(makeNextParam('https://localhost/login', 'http://localhost/profile'), 'http://localhost/profile');
  assert.equal(makeNextParam('http://accounts.localhost/login', 'http://localhost/profile'), 'http://localhost/profile');
});

test('make_next_param keeps the query and drops the fragment, as urlunsplit does', () => {
  assert.equal(makeNextParam('/login', 'http://localhost/a?b=1#frag'), '/a?b=1');
  assert.equal(makeNextParam('http://localhost/login', 'http://localhost/a?'), '/a');
  assert.equal(makeNextParam('/login', '/protected'), '/protected');
});

test('login_url (flask-login test 1263): a custom field, the default field, an absolute auth host and existing parameters', () => {
  const PROTECTED = 'http://localhost/protected';
  assert.equal(loginUrl('/login', { next: PROTECTED, nextField: 'n' }), '/login?n=%2Fprotected');
  assert.equal(loginUrl('/login', { next: PROTECTED }), '/login?next=%2Fprotected');
  assert.equal(loginUrl('https://auth.localhost/login', { next: PROTECTED }), 'https://auth.localhost/login?next=http%3A%2F%2Flocalhost%2Fprotected');
  assert.equal(loginUrl('/login?affil=cgnu', { next: PROTECTED }), '/login?affil=cgnu&next=%2Fprotected');
});

test('login_url (flask-login test 1282): the view /login with next /protected gives /login?next=%2Fprotected; endpoint names throw TypeError', () => {
  assert.equal(loginUrl('/login', { next: '/protected' }), '/login?next=%2Fprotected');
  assert.throws(() => loginUrl('login', { next: '/protected' }), TypeError);
});

test('login_url (flask-login test 1286): without next the view is returned unchanged', () => {
  assert.equal(loginUrl('/foo'), '/foo');
  assert.equal(loginUrl('/foo?a=b%20c', { forceHost: 'good.com' }), '/foo?a=b%20c');
});

test('unauthorized redirect (flask-login tests 461, 537, §2.4): the query is percent-encoded like urlencode', () => {
  assert.equal(loginUrl('/login', { next: 'http://localhost/secret?a=1&b=2' }), '/login?next=%2Fsecret%3Fa%3D1%26b%3D2');
  assert.equal(
    loginUrl('https://auth.example.com/login?x=1', { next: 'http://localhost/secret?a=1' }),
    'https://auth.example.com/login?x=1&next=http%3A%2F%2Flocalhost%2Fsecret%3Fa%3D1',
  );
  assert.equal(loginUrl('/first_login', { next: 'http://localhost/first/protected' }), '/first_login?next=%2Ffirst%2Fprotected'); // 495
  assert.equal(loginUrl('/login', { next: '/a b~*!\'()' }), '/login?next=%2Fa+b~%2A%21%27%28%29'); // quote_plus
});

test('login_url re-encodes existing parameters, groups repeats and replaces an existing next in place, as parse_qs + urlencode(doseq)', () => {
  assert.equal(loginUrl('/login?a=b%20c&flag', { next: '/x' }), '/login?a=b+c&flag=&next=%2Fx');
  assert.equal(loginUrl('/login?a=1&b=2&a=3', { next: '/x' }), '/login?a=1&a=3&b=2&next=%2Fx');
  assert.equal(loginUrl('/login?next=%2Fold&x=1#top', { next: '/new' }), '/login?next=%2Fnew&x=1#top');
});

test('FORCE_HOST_FOR_REDIRECTS (flask-login tests 1503, 1516): unset keeps the login URL relative, set pins the host', () => {
  assert.equal(loginUrl('/login', { next: 'http://foo.com/secret' }), '/login?next=%2Fsecret');
  assert.equal(loginUrl('/login', { next: 'http://bad.com/secret', forceHost: 'good.com' }), '//good.com/login?next=%2Fsecret');
  assert.equal(
    loginUrl('https://bad.com/login', { next: 'https://bad.com/secret', forceHost: 'good.com:8443' }),
    'https://good.com:8443/login?next=%2Fsecret',
  );
});

test('loginUrl misuse throws TypeError: a bad view, next, field or forced host', () => {
  assert.throws(() => loginUrl('javascript:alert(1)'), TypeError);
  assert.throws(() => loginUrl('/login\r\nX: y'), TypeError);
  assert.throws(() => loginUrl('/login', { next: 42 as unknown as string }), TypeError);
  assert.throws(() => loginUrl('/login', { next: '/x', nextField: '' }), TypeError);
  for (const forceHost of ['', 'evil.com/x', 'a@evil.com', 'good.com\r\n', 'good .com']) {
    assert.throws(() => loginUrl('/login', { next: '/x', forceHost }), TypeError, forceHost);
  }
  assert.throws(() => makeNextParam('/login', undefined as unknown as string), TypeError);
});
