/**
 * The app behind proxies (TRUST_PROXY, issue 10 finding 5, SEC-53): what a client writes in
 * `X-Forwarded-For` is never a 500, and the login throttle counts the address the trusted proxy
 * saw, or the socket's when the entry is not an address. Requests carry a socket address as
 * @hono/node-server gives it (`env.incoming.socket`).
 *
 * @module test/app/proxy
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../app/config.ts';
import { ORIGIN, PASSWORD, seedUser, setup, type TestApp } from './support.ts';

const SOCKET = '192.0.2.10';
const MALFORMED = ['1.2.3.4:5678', '[2001:db8::1]', 'garbage', '1.2.3.4, garbage'];

/** A JSON POST from `remoteAddress` with the given extra headers. */
async function post(app: TestApp, path: string, body: unknown, headers: Record<string, string>, remoteAddress = SOCKET) {
  const response = await app.app.request(
    `${ORIGIN}${path}`,
    { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) },
    { incoming: { socket: { remoteAddress } } },
  );
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

test('finding 5: each malformed X-Forwarded-For of the audit, with TRUST_PROXY on, is no 5xx on POST /login and POST /register', async (t) => {
  const app = await setup(t, { env: { TRUST_PROXY: 'true' } });
  await seedUser(app);
  for (const [i, xff] of MALFORMED.entries()) {
    const login = await post(app, '/login', { login: 'ann@example.com', password: PASSWORD }, { 'x-forwarded-for': xff });
    assert.equal(login.status, 200, `login with X-Forwarded-For: ${xff}`);
    const wrong = await post(app, '/login', { login: 'ann@example.com', password: 'not the password at all' }, { 'x-forwarded-for': xff });
    assert.equal(wrong.status, 401, `failed login with X-Forwarded-For: ${xff}`);
    const register = await post(app, '/register', { email: `new${i}@example.com`, name: 'New', password: PASSWORD }, { 'x-forwarded-for': xff });
    assert.equal(register.status, 201, `register with X-Forwarded-For: ${xff}`);
  }
});

test('finding 5: with TRUST_PROXY on, failures with a malformed X-Forwarded-For count against the socket address, not a free new one', async (t) => {
  const app = await setup(t, { env: { TRUST_PROXY: '1' } });
  // Per-IP limit: 50 failures in 15 min (SEC-53). Different accounts, so no account limit is reached.
  const junk = ['garbage', '1.2.3.4, garbage', 'unknown', '_hidden', ''];
  for (let i = 0; i < 50; i++) {
    const { status } = await post(app, '/login', { login: `nobody${i}@example.com`, password: 'wrong wrong wrong' }, { 'x-forwarded-for': junk[i % junk.length] as string });
    assert.equal(status, 401, `attempt ${i + 1}`);
  }
  const blocked = await post(app, '/login', { login: 'someone@example.com', password: 'wrong wrong wrong' }, { 'x-forwarded-for': 'garbage' });
  assert.equal(blocked.status, 429, 'the proxy\'s socket address reached the per-IP limit');
  // Another client behind the same proxy, whose address the proxy appended, is not blocked.
  const other = await post(app, '/login', { login: 'someone@example.com', password: 'wrong wrong wrong' }, { 'x-forwarded-for': '203.0.113.77' });
  assert.equal(other.status, 401);
});

test('finding 5 (attacker, SEC-53): without TRUST_PROXY, a rotating X-Forwarded-For does not reset the per-IP counter', async (t) => {
  const app = await setup(t);
  for (let i = 0; i < 50; i++) {
    const { status } = await post(app, '/login', { login: `nobody${i}@example.com`, password: 'wrong wrong wrong' }, { 'x-forwarded-for': `198.51.100.${i}` });
    assert.equal(status, 401, `attempt ${i + 1}`);
  }
  const { status } = await post(app, '/login', { login: 'someone@example.com', password: 'wrong wrong wrong' }, { 'x-forwarded-for': '198.51.100.200' });
  assert.equal(status, 429);
});

test('finding 5: TRUST_PROXY=2 reads the address the outer of two proxies saw; a client entry before it changes nothing', async (t) => {
  const app = await setup(t, { env: { TRUST_PROXY: '2' } });
  assert.equal(app.config.trustProxy, 2);
  // client-written, then what the outer proxy saw, then what the inner proxy saw (the outer proxy).
  for (let i = 0; i < 50; i++) {
    const xff = `10.${i}.0.1, 203.0.113.9, 10.0.0.2`;
    const { status } = await post(app, '/login', { login: `nobody${i}@example.com`, password: 'wrong wrong wrong' }, { 'x-forwarded-for': xff });
    assert.equal(status, 401, `attempt ${i + 1}`);
  }
  const same = await post(app, '/login', { login: 'someone@example.com', password: 'wrong wrong wrong' }, { 'x-forwarded-for': '10.99.0.1, 203.0.113.9, 10.0.0.2' });
  assert.equal(same.status, 429, '203.0.113.9 reached the per-IP limit whatever it wrote before');
  const other = await post(app, '/login', { login: 'someone@example.com', password: 'wrong wrong wrong' }, { 'x-forwarded-for': '203.0.113.10, 10.0.0.2' });
  assert.equal(other.status, 401);
  // Over HTTPS when the outer proxy says so, whatever the client and the inner proxy wrote.
  const response = await app.app.request(`${ORIGIN}/login`, { headers: { 'x-forwarded-proto': 'http, https, http', 'x-forwarded-for': '203.0.113.11, 10.0.0.2' } }, { incoming: { socket: { remoteAddress: SOCKET } } });
  assert.match(response.headers.get('strict-transport-security') ?? '', /^max-age=/);
});

test('finding 5: TRUST_PROXY takes true/false words and a number of proxies up to 10; anything else stops start-up naming it', () => {
  const config = (value: string) => loadConfig({ DATA_DIR: '/nonexistent', SECRET_KEY: 'k'.repeat(64), TRUST_PROXY: value });
  const hops: Array<[string, number]> = [['', 0], ['false', 0], ['off', 0], ['0', 0], ['true', 1], ['yes', 1], ['1', 1], ['2', 2], ['10', 10]];
  for (const [value, expected] of hops) {
    const loaded = config(value);
    assert.ok(loaded.ok, value);
    assert.equal(loaded.config.trustProxy, expected, value);
  }
  for (const value of ['11', '-1', '1.5', 'two', 'true,false']) {
    const loaded = config(value);
    assert.ok(!loaded.ok, value);
    assert.match(loaded.problems[0] as string, /^TRUST_PROXY: /, value);
  }
});
