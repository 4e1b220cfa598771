/**
 * SEC-54 (token guessing throttled) and SEC-53 (per-IP limits on token confirmation) in the app,
 * written as the attacker: one client scans made-up tokens across every route that looks a mailed
 * token up (the reset link, the reset form's cookie, the reset, the verification and the email
 * change), and is cut off at the cap with 429 and `Retry-After`, in JSON and in HTML, without the
 * token store being read for the refused requests; other addresses, and real links, go on working.
 *
 * @module test/app/token-throttle
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { AppStores } from '../../app/stores.ts';
import { TOKEN_LIMITS } from '../../app/throttles.ts';
import { BROWSER_ACCEPT, linkFor, ORIGIN, PASSWORD, seedUser, setup, type Client, type TestApp } from './support.ts';

const CAP = TOKEN_LIMITS.ip.maxFailures;
const ATTACKER = '203.0.113.7';
const NEW_PASSWORD = 'a brand new passphrase for ann';
const THROTTLED = /^Too many links tried from your network\. Please wait \d+ seconds? and try again\.$/;

/** A made-up token of the real shape: 32 random bytes, base64url. */
const guess = () => randomBytes(32).toString('base64url');

/** An app whose token store counts its reads (findToken, consumeToken), and whether its counters fail. */
async function countingApp(t: TestContext, env: Record<string, string> = { TRUST_PROXY: 'true' }) {
  const reads = { count: 0 };
  const fault = { counters: false };
  const app = await setup(t, {
    env,
    wrapStores: (stores): AppStores => ({
      ...stores,
      sessions: new Proxy(stores.sessions, {
        get(object, name, receiver) {
          const value = Reflect.get(object, name, receiver);
          if (typeof value !== 'function') return value;
          if (name === 'findToken' || name === 'consumeToken') return (...args: unknown[]) => (reads.count++, value.apply(object, args));
          if (name === 'recordFailure') return (...args: unknown[]) => (fault.counters ? Promise.reject(new Error('connect ECONNREFUSED')) : value.apply(object, args));
          return value.bind(object);
        },
      }),
    }),
  });
  return { app, reads, fault };
}

/** The five ways to have a token looked up, in turn: the link, the form's cookie, the reset, the verification, the change. */
function lookUp(client: Client, i: number, token: string): Promise<Response> {
  const post = (path: string, body: unknown) => client.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  switch (i % 5) {
    case 0: return client.fetch(`/reset-password/${token}`, { headers: { accept: 'application/json' } });
    case 1: return client.fetch('/reset-password', { headers: { accept: BROWSER_ACCEPT, cookie: `lk-reset=${token}` } });
    case 2: return post('/reset-password', { token, password: NEW_PASSWORD });
    case 3: return post('/verify-email', { token });
    default: return post('/confirm-email', { token });
  }
}

async function assertThrottled(response: Response, what: string): Promise<void> {
  assert.equal(response.status, 429, what);
  const wait = Number(response.headers.get('retry-after'));
  assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 15 * 60, `${what}: Retry-After ${wait}`);
  assert.equal(response.headers.get('referrer-policy'), 'strict-origin', what);
  const body = await response.text();
  if (response.headers.get('content-type')?.startsWith('application/json')) assert.match(JSON.parse(body).message, THROTTLED, what);
  else assert.match(body, /Too many links tried from your network\. Please wait \d+ seconds? and try again\./, what);
}

test(`SEC-54, SEC-53 (attacker): ${CAP} token lookups from one IP are answered, the next ones on every token route are 429 with Retry-After and read no token; a live token is refused too, and still works`, async (t) => {
  const { app, reads } = await countingApp(t);
  await seedUser(app);
  const attacker = app.client({ 'x-forwarded-for': ATTACKER });
  for (let i = 0; i < CAP; i++) assert.equal((await lookUp(attacker, i, guess())).status, 400, `lookup ${i + 1}`);
  assert.ok(reads.count >= CAP, `every answered guess read the store (${reads.count})`);

  const before = reads.count;
  for (let i = 0; i < 5; i++) await assertThrottled(await lookUp(attacker, i, guess()), `route ${i} past the cap`);
  await assertThrottled(await attacker.form('/verify-email', { token: guess() }, { tokenFrom: '/login' }), 'HTML form past the cap');
  // Ann's live verification token: refused like any other, so the cap never tells a live token from a dead one.
  const token = (await linkFor(app, 'ann@example.com', '/verify-email')).split('/').at(-1)!;
  await assertThrottled(await lookUp(attacker, 3, token), 'a live token past the cap');
  assert.equal(reads.count, before, 'no refused request read the token store');

  const elsewhere = app.client({ 'x-forwarded-for': '198.51.100.20' });
  assert.deepEqual(await elsewhere.json('/verify-email', { token }).then((r) => [r.status, r.body]), [200, { message: 'Your email address is verified.' }]);
});

test('SEC-54: the cap is per IP: another address guesses (400, not 429) and follows a real reset link to the end while the scanner is refused', async (t) => {
  const { app } = await countingApp(t);
  await seedUser(app);
  const attacker = app.client({ 'x-forwarded-for': ATTACKER });
  for (let i = 0; i < CAP; i++) await lookUp(attacker, i, guess());
  await assertThrottled(await lookUp(attacker, 0, guess()), 'scanner');

  const ann = app.client({ 'x-forwarded-for': '192.0.2.44' });
  for (let i = 0; i < 5; i++) assert.equal((await lookUp(ann, i, guess())).status, 400, `another IP, route ${i}`);
  assert.equal((await ann.form('/forgot-password', { email: 'ann@example.com' }, { tokenFrom: '/forgot-password' })).status, 303);
  const link = await linkFor(app, 'ann@example.com', '/reset-password');
  await assertThrottled(await attacker.page(link), 'the scanner holding a live reset link');
  assert.equal((await ann.page(link)).status, 303);
  const done = await ann.form('/reset-password', { password: NEW_PASSWORD }, { tokenFrom: '/reset-password' });
  assert.deepEqual([done.status, done.headers.get('location')], [303, '/login']);
  assert.equal((await app.client().json('/login', { login: 'ann@example.com', password: NEW_PASSWORD })).status, 200);
  assert.equal((await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 401);
});

test('SEC-53, SEC-54 (attacker): rotating the last /64 bits of an IPv6 address, or X-Forwarded-For from an untrusted peer, does not reset the count', async (t) => {
  const { app } = await countingApp(t);
  const v6 = (i: number) => app.client({ 'x-forwarded-for': `2001:db8:5:7::${(i + 1).toString(16)}` });
  for (let i = 0; i < CAP; i++) assert.equal((await lookUp(v6(i), i, guess())).status, 400);
  await assertThrottled(await lookUp(v6(CAP), 3, guess()), 'same /64');
  assert.equal((await lookUp(app.client({ 'x-forwarded-for': '2001:db8:5:8::1' }), 3, guess())).status, 400, 'the next /64');

  // TRUST_PROXY off: the socket's address counts, whatever the client writes in X-Forwarded-For.
  const { app: direct } = await countingApp(t, {});
  const post = (i: number) =>
    direct.app.request(
      `${ORIGIN}/verify-email`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${i % 250}` }, body: JSON.stringify({ token: guess() }) },
      { incoming: { socket: { remoteAddress: '192.0.2.10' } } },
    );
  for (let i = 0; i < CAP; i++) assert.equal((await post(i)).status, 400);
  await assertThrottled(await post(CAP), 'untrusted X-Forwarded-For');
});

test('SEC-54: values not shaped like a token are refused with 400 before the limit and use none of it', async (t) => {
  const { app, reads } = await countingApp(t);
  const attacker = app.client({ 'x-forwarded-for': ATTACKER });
  for (let i = 0; i < CAP + 10; i++) assert.equal((await lookUp(attacker, i, 'not-a-token')).status, 400);
  assert.equal(reads.count, 0);
  assert.equal((await lookUp(attacker, 3, guess())).status, 400, 'a real-shaped guess is still answered');
});

test('SEC-55: when the token counters cannot be written, a token lookup is a 503 with Retry-After and reads no token, never an unthrottled answer', async (t) => {
  const { app, reads, fault } = await countingApp(t);
  fault.counters = true;
  const attacker = app.client({ 'x-forwarded-for': ATTACKER });
  for (let i = 0; i < 5; i++) {
    const response = await lookUp(attacker, i, guess());
    assert.equal(response.status, 503, `route ${i}`);
    assert.equal(response.headers.get('retry-after'), '5');
  }
  assert.equal(reads.count, 0);
  fault.counters = false;
  assert.equal((await lookUp(attacker, 3, guess())).status, 400);
});
