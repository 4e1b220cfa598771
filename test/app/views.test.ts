/**
 * The pages as a person and an attacker see them: hostile names escaped everywhere (SEC-50 and
 * XSS in general), form attributes for password managers (SEC-07), a phone-ready viewport, and
 * the User-Agent parser of the account page.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeDevice, formatUtc } from '../../app/views/device.ts';
import { PASSWORD, setup } from './support.ts';

test('describeDevice names browser and system in plain words', () => {
  const cases: [string | null, string][] = [
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome on Windows'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87', 'Edge on Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari on iPhone'],
    ['Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1', 'Chrome on iPad'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36', 'Samsung Internet on Android'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0', 'Opera on Windows'],
    ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome on ChromeOS'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['curl/8.5.0', 'curl'],
    ['node', 'Node.js'],
    ['python-requests/2.32.3', 'Python'],
    ['Mozilla/5.0 (X11; Linux x86_64) SomethingNew/1.0', 'A browser on Linux'],
    ['<script>alert(1)</script>', 'Unknown device'],
    ['', 'Unknown device'],
    [null, 'Unknown device'],
  ];
  for (const [ua, expected] of cases) assert.equal(describeDevice(ua), expected, String(ua));
});

test('formatUtc is a readable UTC time', () => {
  assert.equal(formatUtc(Date.UTC(2025, 10, 21, 8, 45, 59)), '2025-11-21 08:45 UTC');
});

test('Hostile names (markup, quotes, emoji, RTL override) are escaped on every page and in the nav', async (t) => {
  const app = await setup(t);
  const names = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "Zoë 🦊 O'Brien", '\u202Eevil\u202C ناصر'];
  for (const [i, name] of names.entries()) {
    const client = app.client({ 'user-agent': '<script>alert("ua")</script>' });
    await client.register(`user${i}@example.com`, name);
    for (const path of ['/', '/dashboard', '/account']) {
      const html = await (await client.page(path)).text();
      assert.doesNotMatch(html, /<script>alert|<img src=x/, `${path} ${name}`);
      assert.doesNotMatch(html, /<[^>]* onerror=/, path);
      if (name.includes('<')) assert.ok(html.includes('&lt;'), path);
      assert.match(html, /<bdi>/, path);
    }
    const json = await client.getJson('/protected');
    assert.equal(json.body.message, `Hello, ${name.normalize('NFKC').trim()}! This is a protected route.`);
  }
});

test('Flash messages are HTML-escaped and shown once (SEC-50)', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const auth = app.manager.forRequest(new Request('http://127.0.0.1:3000/'));
  auth.flash('<img src=x onerror=alert(1)> & "quotes"', 'error');
  auth.flash('plain', '"><script>');
  for (const cookie of auth.setCookies()) {
    const pair = cookie.split(';', 1)[0]!;
    client.jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
  }
  const html = await (await client.page('/')).text();
  assert.match(html, /<p class="flash flash-error" role="alert">&lt;img src=x onerror=alert\(1\)&gt; &amp; &quot;quotes&quot;<\/p>/);
  assert.match(html, /<p class="flash flash-message" role="status">plain<\/p>/);
  // The title says them too, escaped: it is what a screen reader announces at load.
  assert.match(html, /<title>Error: &lt;img src=x onerror=alert\(1\)&gt; &amp; &quot;quotes&quot; · plain · Welcome · Latchkey<\/title>/);
  assert.doesNotMatch(await (await client.page('/')).text(), /class="flash /);
});

test('Kept input is escaped in attributes; the password is never sent back', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const res = await client.form('/register', { email: '"><script>x</script>', name: '"onfocus="alert(1)', password: '<b>not echoed</b>' }, { tokenFrom: '/register' });
  const html = await res.text();
  assert.match(html, /value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;"/);
  assert.match(html, /value="&quot;onfocus=&quot;alert\(1\)"/);
  assert.doesNotMatch(html, /not echoed/);
});

test('Forms: labels, autocomplete for password managers, the remember box unchecked', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const login = await (await client.page('/login')).text();
  assert.match(login, /<label for="f-login">/);
  assert.match(login, /id="f-login" name="login" type="text" autocomplete="username"/);
  assert.match(login, /id="f-password" name="password" type="password" autocomplete="current-password"/);
  assert.doesNotMatch(login, /name="remember"[^>]*checked/);
  const register = await (await client.page('/register')).text();
  assert.match(register, /name="email" type="email" autocomplete="email"/);
  assert.match(register, /name="name" type="text" autocomplete="name"/);
  assert.match(register, /name="password" type="password" autocomplete="new-password" required minlength="15"/);
  for (const html of [login, register]) {
    assert.equal(html.match(/<input id=/g)?.length, html.match(/<label for=/g)?.length);
  }
});

test('Every page is phone-ready: viewport meta, one stylesheet, a nav showing the login state', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const anonymous = await (await client.page('/')).text();
  assert.match(anonymous, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.match(anonymous, /<nav class="site-nav"[^>]*>[\s\S]*href="\/login"[\s\S]*href="\/register"[\s\S]*<\/nav>/);
  await client.json('/register', { email: 'ann@example.com', name: 'Ann', password: PASSWORD });
  const logged = await (await client.page('/dashboard')).text();
  assert.match(logged, /<nav class="site-nav"[^>]*>[\s\S]*Signed in as <strong><bdi>Ann<\/bdi><\/strong>[\s\S]*action="\/logout"[\s\S]*<\/nav>/);
  assert.equal(logged.match(/<link rel="stylesheet"/g)?.length, 1);
});

test('A refused form puts the focus on the field in error, not on the first field (WCAG 2.2 SC 3.3.1)', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const res = await client.form('/register', { email: 'ada@example.test', name: 'Ada', password: 'short' }, { tokenFrom: '/register' });
  assert.equal(res.status, 400);
  const html = await res.text();
  const autofocused = [...html.matchAll(/<input [^>]*\bautofocus\b[^>]*>/g)].map((m) => /name="([^"]+)"/.exec(m[0])?.[1]);
  assert.deepEqual(autofocused, ['password'], 'only the password field, the one in error, takes the focus');
  assert.match(html, /<input id="f-password"[^>]* aria-describedby="f-password-hint f-password-error" aria-invalid="true">/);
});

test('A flash present at load is said in the page title, where a screen reader announces it', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const res = await client.form('/login', { login: 'nobody@example.test', password: 'wrong password here' }, { tokenFrom: '/login' });
  assert.equal(res.status, 401);
  const html = await res.text();
  assert.match(html, /<title>Error: Invalid username or password\. · Log in · Latchkey<\/title>/);
  assert.doesNotMatch(html, /<li[^>]*role=/, 'no list item carries a role (axe: list, aria-allowed-role)');
});
