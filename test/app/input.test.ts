/**
 * the security requirements §2 "Bad inputs", as they apply to the app's bodies: JSON type confusion, prototype
 * pollution, duplicate keys and fields, sizes (SEC-74), encodings (SEC-76), content types
 * (SEC-46), Unicode and SQL metacharacters (SEC-09, SEC-73, SEC-75). Every answer is a 4xx with a
 * reason (or a plain failed login), never a 500 and never a success.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSER_ACCEPT, PASSWORD, seedUser, setup, type TestApp } from './support.ts';

async function post(app: TestApp, path: string, body: BodyInit, contentType?: string, headers: Record<string, string> = {}) {
  const res = await app.request(path, { method: 'POST', headers: { ...(contentType ? { 'content-type': contentType } : {}), ...headers }, body });
  const text = await res.text();
  assert.ok(res.status >= 400 && res.status < 500, `${path} ${String(body).slice(0, 80)}: ${res.status} ${text.slice(0, 200)}`);
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text, response: res };
}

test('JSON type confusion on /login and /register: 400 naming the field (SEC-72)', async (t) => {
  const app = await setup(t);
  const cases: [string, string, string][] = [
    ['/login', '{"login":"a@x.io","password":{"$ne":null}}', 'password'],
    ['/login', '{"email":{"$gt":""},"password":"x"}', 'email'],
    ['/login', '{"login":"a@x.io","password":["a","b"]}', 'password'],
    ['/login', '{"login":"a@x.io","password":123456789012345}', 'password'],
    ['/login', '{"login":"a@x.io","password":null}', 'password'],
    ['/login', '{"login":"a@x.io","password":true}', 'password'],
    ['/login', '{"login":"a@x.io","password":"correct horse battery","remember":"false"}', 'remember'],
    ['/login', '{"login":"a@x.io","password":"correct horse battery","remember":1}', 'remember'],
    ['/register', '{"email":"a@x.io","name":["Ann"],"password":"correct horse battery staple"}', 'name'],
  ];
  for (const [path, body, field] of cases) {
    const res = await post(app, path, body, 'application/json');
    assert.equal(res.status, 400, body);
    assert.equal(typeof res.body.errors[field], 'string', body);
  }
});

test('JSON bodies that are not objects: 400', async (t) => {
  const app = await setup(t);
  for (const body of ['true', 'null', '[]', '"a"', '42', '{}', '[{"login":"a@x.io"}]']) {
    assert.equal((await post(app, '/login', body, 'application/json')).status, 400, body);
  }
});

test('Malformed JSON, invalid UTF-8 and a BOM never give a 500 (SEC-76)', async (t) => {
  const app = await setup(t);
  for (const body of ['{', '{"login":', '{"login":"a@x.io",}', "{'login':'a'}", '{"login":"\\x"}', 'nul']) {
    const res = await post(app, '/login', body, 'application/json');
    assert.equal(res.status, 400, body);
    assert.equal(res.body.message, 'The request body is not valid JSON.');
  }
  const invalid = await post(app, '/login', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'application/json');
  assert.equal(invalid.body.message, 'The request body is not valid UTF-8.');
  const bom = await app.request('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `\uFEFF${JSON.stringify({ login: 'a@x.io', password: PASSWORD })}` });
  assert.equal(bom.status, 401);
});

test('Duplicate JSON keys and duplicate form fields: 400', async (t) => {
  const app = await setup(t);
  const json = await post(app, '/login', '{"email":"a@x.io","email":"b@x.io","password":"x"}', 'application/json');
  assert.equal(json.body.errors.email, 'This field must be sent only once.');
  const client = app.client();
  const form = await client.fetch('/login', {
    method: 'POST',
    headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' },
    body: `_csrf=${await client.csrf('/login')}&email=a%40x.io&email=b%40x.io&password=x`,
  });
  assert.equal(form.status, 400);
  assert.match(await form.text(), /<code>email<\/code>: This field must be sent only once./);
});

test('Prototype-pollution payloads are refused as unknown fields and pollute nothing', async (t) => {
  const app = await setup(t);
  for (const body of ['{"__proto__":{"isAdmin":true},"login":"a@x.io","password":"x"}', '{"constructor":{"prototype":{"role":"admin"}},"login":"a@x.io","password":"x"}']) {
    const res = await post(app, '/login', body, 'application/json');
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[Object.keys(JSON.parse(body))[0]!], 'Unknown field.');
  }
  assert.equal(({} as { isAdmin?: boolean }).isAdmin, undefined);
  assert.equal(({} as { role?: string }).role, undefined);
});

test('No mass assignment: {"role":"admin","emailVerified":true} on register is 400 and creates nobody', async (t) => {
  const app = await setup(t);
  const res = await post(app, '/register', JSON.stringify({ email: 'a@x.io', name: 'A', password: PASSWORD, role: 'admin', emailVerified: true, id: 1 }), 'application/json');
  assert.deepEqual(Object.keys(res.body.errors).sort(), ['emailVerified', 'id', 'role']);
  assert.equal((await app.stores.users.listUsers()).length, 0);
});

test('Form pollution: password[]=a&password[]=b, password[$ne]=, 1000 params', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const csrf = await client.csrf('/login');
  const send = (body: string) =>
    client.fetch('/login', { method: 'POST', headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${csrf}&${body}` });
  for (const body of ['login=a%40x.io&password[]=a&password[]=b', 'login=a%40x.io&password[$ne]=', Array.from({ length: 1000 }, (_, i) => `f${i}=1`).join('&')]) {
    const res = await send(body);
    assert.equal(res.status, 400, body.slice(0, 60));
  }
  assert.match(await (await send(Array.from({ length: 60 }, (_, i) => `f${i}=1`).join('&'))).text(), /Too many fields/);
});

test('The same field in the query and the body: the body wins, the query is never read for credentials', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const res = await app.client().json('/login?login=ann%40example.com&password=x', { login: 'ann@example.com', password: PASSWORD });
  assert.equal(res.status, 200);
  const only = await post(app, '/login?login=ann%40example.com&password=correct+horse+battery+staple', '{}', 'application/json');
  assert.equal(only.status, 400);
});

test('Bodies above 16 KB: 413, declared or streamed (17 KB, 10 MB, a 1 MB password) (SEC-74)', async (t) => {
  const app = await setup(t);
  const big = (n: number) => JSON.stringify({ login: 'a@x.io', password: 'p'.repeat(n) });
  for (const size of [17 * 1024, 10 * 1024 * 1024, 1024 * 1024]) {
    const started = performance.now();
    const res = await post(app, '/login', big(size), 'application/json');
    assert.equal(res.status, 413, String(size));
    assert.match(res.body.message, /at most 16 KB/);
    assert.ok(performance.now() - started < 1000, 'refused before any hashing');
  }
  const declared = await post(app, '/register', '{}', 'application/json', { 'content-length': String(10 * 1024 * 1024) });
  assert.equal(declared.status, 413);
  const stream = new ReadableStream({
    pull(controller) {
      controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
    },
  });
  const streamed = await app.request('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
  assert.equal(streamed.status, 413);
  const html = await app.request('/login', { method: 'POST', headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a='.padEnd(20_000, 'x') });
  assert.equal(html.status, 413);
  assert.match(await html.text(), /<h1>The request body is too large/);
});

test('Field sizes: 10 KB password and 257 code points are 400 before hashing; email of 255 and 10 000 characters 400', async (t) => {
  const app = await setup(t);
  const started = performance.now();
  const tenK = await post(app, '/login', JSON.stringify({ login: 'a@x.io', password: 'p'.repeat(10_000) }), 'application/json');
  assert.match(tenK.body.errors.password, /at most/);
  assert.ok(performance.now() - started < 1000);
  const long = await post(app, '/register', JSON.stringify({ email: 'a@x.io', name: 'A', password: 'é'.repeat(257) }), 'application/json');
  assert.match(long.body.errors.password, /at most 256/);
  for (const length of [255, 10_000]) {
    const email = `${'a'.repeat(length - 7)}@x.io.io`.slice(-length);
    const res = await post(app, '/register', JSON.stringify({ email, name: 'A', password: PASSWORD }), 'application/json');
    assert.ok(res.body.errors.email, String(length));
  }
});

test('Invalid percent-encoding and UTF-8 in a form: 400 (SEC-76)', async (t) => {
  const app = await setup(t);
  const client = app.client();
  const csrf = await client.csrf('/login');
  for (const bad of ['%C0%AF', '%FF', '%E0%A4%A', '%', '%zz']) {
    const res = await client.fetch('/login', {
      method: 'POST',
      headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${csrf}&login=a${bad}&password=x`,
    });
    assert.equal(res.status, 400, bad);
    assert.match(await res.text(), /not correctly encoded/);
  }
});

test('Lone surrogates, NUL and CRLF in identifiers: 400; NUL in a password is a legal character', async (t) => {
  const app = await setup(t);
  for (const body of ['{"login":"\\uD800@x.io","password":"x"}', '{"login":"a@x.io","password":"\\uDC00abc"}', '{"login":"a\\u0000@x.io","password":"x"}']) {
    assert.equal((await post(app, '/login', body, 'application/json')).status, 400, body);
  }
  const crlf = await post(app, '/register', JSON.stringify({ email: 'v@x.io\r\nBcc: a@evil.io', name: 'V', password: PASSWORD }), 'application/json');
  assert.match(crlf.body.errors.email, /control characters/);
  const nul = await app.client().json('/register', { email: 'n@x.io', name: 'N', password: `nul\u0000 inside this password` });
  assert.equal(nul.status, 201);
  assert.equal((await app.client().json('/login', { login: 'n@x.io', password: `nul\u0000 inside this password` })).status, 200);
  assert.equal((await app.client().json('/login', { login: 'n@x.io', password: 'nul inside this password' })).status, 401);
});

test('SQL metacharacters are plain text: a normal 400 or 401, and the users table is intact (SEC-73)', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  for (const login of ["' OR '1'='1", "admin'--", '"; DROP TABLE users;--', '%', '_', '\\', '$1', "';SELECT pg_sleep(5)--", "ann@example.com' --"]) {
    const res = await post(app, '/login', JSON.stringify({ login, password: "' OR '1'='1" }), 'application/json');
    assert.ok(res.status === 400 || res.status === 401, login);
  }
  assert.equal((await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 200);
});

test('Content-type confusion: text/plain, forms from API clients, no type, UTF-16 JSON: 415 (SEC-46)', async (t) => {
  const app = await setup(t);
  const body = JSON.stringify({ login: 'a@x.io', password: PASSWORD });
  const cases: [string | undefined, BodyInit][] = [
    ['text/plain', body],
    ['text/plain;charset=UTF-8', body],
    ['application/x-www-form-urlencoded', 'login=a%40x.io&password=x'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="login"\r\n\r\na\r\n--x--\r\n'],
    [undefined, body],
    ['application/json; charset=utf-16', body],
    ['application/xml', '<login/>'],
  ];
  for (const [type, payload] of cases) {
    const res = await post(app, '/login', payload, type);
    assert.equal(res.status, 415, String(type));
    assert.ok(res.body.message);
  }
});

test('A browser may post multipart/form-data; files and malformed multipart are refused', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  const form = new FormData();
  form.set('_csrf', await client.csrf('/login'));
  form.set('login', 'ann@example.com');
  form.set('password', PASSWORD);
  const ok = await client.fetch('/login', { method: 'POST', headers: { accept: BROWSER_ACCEPT }, body: form });
  assert.equal(ok.status, 303);
  const other = app.client();
  const withFile = new FormData();
  withFile.set('_csrf', await other.csrf('/login'));
  withFile.set('login', 'ann@example.com');
  withFile.set('password', new Blob(['secret']), 'p.txt');
  assert.equal((await other.fetch('/login', { method: 'POST', headers: { accept: BROWSER_ACCEPT }, body: withFile })).status, 400);
  const broken = await other.fetch('/login', { method: 'POST', headers: { accept: BROWSER_ACCEPT, 'content-type': 'multipart/form-data; boundary=zz' }, body: 'garbage' });
  assert.equal(broken.status, 400);
});

test('Deep JSON nesting is refused without a crash (413 above the size limit, 400 within it)', async (t) => {
  const app = await setup(t);
  const deep = (n: number) => `{"password":${'['.repeat(n)}${']'.repeat(n)},"login":"a@x.io"}`;
  assert.equal((await post(app, '/login', deep(10_000), 'application/json')).status, 413);
  const within = await post(app, '/login', deep(8_000), 'application/json');
  assert.equal(within.status, 400);
  assert.equal(within.body.errors.password, 'Must be a string.');
});
