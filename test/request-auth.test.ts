import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLoginManager } from '../src/manager.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';

const manager = createLoginManager<{ id?: unknown; name: string }>({ store: new MemoryStore(), secret: 's'.repeat(32), loadUser: () => null });
const auth = () => manager.forRequest(new Request('http://localhost/'));

describe('login() misuse throws TypeError (flask-login 685, 708, 1372)', () => {
  it('a user without an id and no getUserId: flask-login raises NotImplementedError (1372)', async () => {
    await assert.rejects(auth().login({ name: 'x' }), TypeError);
  });

  it('a duration that is not one: flask-login answers 500 (685, 708); latchkey throws TypeError at the call', async () => {
    await assert.rejects(auth().login({ id: 1, name: 'x' }, { remember: true, duration: '123' }), TypeError);
  });

  it('a duration over 400 days throws TypeError, as the manager option does, instead of being cut short (RFC 6265bis)', async () => {
    const a = auth();
    await assert.rejects(a.login({ id: 1, name: 'x' }, { remember: true, duration: '401d' }), /400 days/);
    assert.deepEqual(a.setCookies(), [], 'nothing was started');
    assert.equal(await auth().login({ id: 1, name: 'x' }, { remember: true, duration: '400d' }), true);
  });

  it('SEC-84: methods that are not a list of at most 8 lowercase methods throw TypeError, nothing started; 8 valid ones are recorded', async () => {
    const nine = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    for (const methods of ['pwd', ['PWD'], [''], ['pwd', 7], ['a2345678901234567'], ['pwd\r\nx'], nine] as unknown[]) {
      const a = auth();
      await assert.rejects(a.login({ id: 'm', name: 'x' }, { methods: methods as string[] }), TypeError, JSON.stringify(methods));
      assert.deepEqual(a.setCookies(), [], 'nothing was started');
    }
    assert.deepEqual(await manager.listUserSessions('m'), []);
    assert.equal(await auth().login({ id: 'm', name: 'x' }, { methods: nine.slice(0, 8) }), true);
    assert.deepEqual((await manager.listUserSessions('m')).map((s) => s.methods), [nine.slice(0, 8)]);
    for (const method of ['OTP', '', 'a2345678901234567', 7]) {
      await assert.rejects(auth().completeSecondStep({ id: 'm', name: 'x' }, { method: method as string }), TypeError, String(method));
    }
  });

  it('a valid numeric id is stored as a string, as get_id() returns', async () => {
    const a = auth();
    assert.equal(await a.login({ id: 7, name: 'x' }), true);
    const sessions = await manager.listUserSessions('7');
    assert.equal(sessions.length, 1);
  });
});

describe('a request whose URL does not parse (malformed Host) is refused cleanly, never a 500', () => {
  const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name] ?? null });
  const broken = (h: Record<string, string> = {}) =>
    manager.forRequest({ method: 'POST', url: 'http://bad host:99999/x?next=/a', headers: headers(h) });

  it('has no origin, so no same-origin trust: an Origin header is refused', async () => {
    const auth = broken({ origin: 'http://bad host:99999', 'content-type': 'application/json' });
    assert.equal(auth.origin, null);
    assert.equal((await auth.checkCsrf(() => null)).ok, false);
  });

  it('nextTarget gives the fallback and unauthorized still answers', async () => {
    const auth = broken({ accept: 'text/html' });
    assert.equal(auth.nextTarget(undefined, '/home'), '/home');
    const res = await auth.unauthorized({ loginView: '/login' });
    assert.equal(res.status, 303);
  });
});

describe('guard option next (POST-only routes)', () => {
  it('sends the user back to the given path instead of the request URL', async () => {
    const m = createLoginManager<{ id: string }>({ store: new MemoryStore(), secret: 's'.repeat(32), loadUser: () => null, refreshView: '/reauth', loginView: '/login' });
    const a = m.forRequest(new Request('http://localhost/account/password', { method: 'POST', headers: { accept: 'text/html' } }));
    assert.equal((await a.needsRefresh({ next: '/account' })).headers.get('location'), '/reauth?next=%2Faccount');
    assert.equal((await a.unauthorized({ next: '/account' })).headers.get('location'), '/login?next=%2Faccount');
    await assert.rejects(a.unauthorized({ next: '//evil.com' }), TypeError);
  });
});

describe('logout while the store is down (the security requirements §5.6)', () => {
  it('still clears the session, remember and flash cookies: no flash outlives the login (SEC-50)', async () => {
    const store = new MemoryStore();
    const m = createLoginManager<{ id: string }>({ store, secret: 's'.repeat(32), loadUser: (id) => ({ id }) });
    const first = m.forRequest(new Request('http://localhost/'));
    await first.login({ id: '1' });
    first.flash('Welcome back, Ann');
    const cookie = first.setCookies().map((c) => c.split(';')[0]).join('; ');
    assert.match(cookie, /lk-flash=/);
    store.getSession = async () => {
      throw new Error('connection refused');
    };
    const auth = m.forRequest(new Request('http://localhost/logout', { method: 'POST', headers: { cookie } }));
    await assert.rejects(auth.logout());
    const cleared = auth.setCookies().join('\n');
    assert.match(cleared, /^session=; .*Max-Age=0/m);
    assert.match(cleared, /^lk-flash=; .*Max-Age=0/m);
  });
});

describe('guard options are checked when the guard is built (STYLE §7)', () => {
  it('loginRequired / freshLoginRequired throw TypeError at construction, on Hono and Express', async () => {
    const hono = await import('../src/hono.ts');
    const express = await import('../src/express.ts');
    for (const guard of [hono.loginRequired, hono.freshLoginRequired, express.loginRequired, express.freshLoginRequired]) {
      assert.throws(() => guard({ next: '//evil.com' }), TypeError);
      assert.throws(() => guard({ next: '/\\evil.com' }), TypeError);
      assert.throws(() => guard({ loginView: 'login' }), TypeError);
      assert.throws(() => guard({ refreshView: 42 as unknown as string }), TypeError);
      guard({ loginView: null, refreshView: 'https://sso.example.com/login', next: '/account' });
      guard();
    }
  });

  it('a direct unauthorized() with a bad next throws before anything is flashed or set', async () => {
    const m = createLoginManager<{ id: string }>({ store: new MemoryStore(), secret: 's'.repeat(32), loadUser: () => null, loginView: '/login' });
    const a = m.forRequest(new Request('http://localhost/x', { headers: { accept: 'application/json' } }));
    await assert.rejects(a.unauthorized({ next: 'https://evil.com' }), TypeError);
    assert.deepEqual(a.setCookies(), []);
  });
});

describe('a failing loadUser or requestLoader (SEC-67)', () => {
  it('SEC-67: rejects with a coded 503 error keeping the app\'s error as cause, never null (anonymous)', async () => {
    const down = new TypeError('fetch failed'); // what Node's fetch throws when a user service is unreachable
    const m = createLoginManager<{ id: string }>({
      store: new MemoryStore(),
      secret: 's'.repeat(32),
      loadUser: (id) => (id === 'down' ? Promise.reject(down) : { id }),
      requestLoader: () => { throw down; },
    });
    const login = m.forRequest(new Request('http://localhost/'));
    await login.login({ id: 'down' });
    const cookie = login.setCookies().map((c) => c.split(';')[0]).join('; ');
    const coded = (error: Error & { code: string; cause: unknown }) => error.code === 'ERR_LATCHKEY_STORE_UNAVAILABLE' && error.cause === down;
    await assert.rejects(m.forRequest(new Request('http://localhost/', { headers: { cookie } })).user(), coded);
    await assert.rejects(m.forRequest(new Request('http://localhost/')).user(), coded, 'the request loader');
  });
});

describe('the pending second step: misuse throws TypeError (SEC-80)', () => {
  const user = { id: 1, name: 'x' };

  it('SEC-80: a store without TokenStore makes every second-step method throw TypeError saying so', async () => {
    const store = new MemoryStore();
    const sessionsOnly = Object.create(store, { createToken: { value: undefined }, findToken: { value: undefined }, consumeToken: { value: undefined }, deleteUserTokens: { value: undefined } });
    const m = createLoginManager<typeof user>({ store: sessionsOnly, secret: 's'.repeat(32), loadUser: () => null });
    const a = m.forRequest(new Request('http://localhost/', { headers: { cookie: 'lk-2fa=x' } }));
    await assert.rejects(a.beginSecondStep(user), /TokenStore/);
    await assert.rejects(a.pendingSecondStep(), TypeError);
    await assert.rejects(a.completeSecondStep(user), TypeError);
    await assert.rejects(a.cancelSecondStep(), TypeError);
    assert.deepEqual(a.setCookies(), [], 'nothing was decided');
  });

  it('SEC-80: remember that is not a boolean, or next that is not a string, throws before anything changes', async () => {
    for (const options of [{ remember: 'yes' }, { next: 42 }, null] as unknown[]) {
      const a = auth();
      await assert.rejects(a.beginSecondStep(user, options as { remember?: boolean }), TypeError, JSON.stringify(options));
      assert.deepEqual(a.setCookies(), []);
    }
  });

  it('SEC-80: a next too long for a cookie is dropped rather than carried', async () => {
    const a = auth();
    assert.equal(await a.beginSecondStep(user, { next: `/${'a'.repeat(5000)}` }), true);
    const cookie = a.setCookies().find((c) => c.startsWith('lk-2fa='))?.split(';')[0] as string;
    assert.ok(cookie.length < 4096);
    const pending = await manager.forRequest(new Request('http://localhost/', { headers: { cookie } })).pendingSecondStep();
    assert.deepEqual(pending, { userId: '1', remember: false, next: null });
  });
});

describe('requireUser(): the user behind loginRequired(), typed without null', () => {
  const users: Record<string, { id: string; name: string }> = { '1': { id: '1', name: 'Ada' } };
  const typed = createLoginManager<{ id: string; name: string }>({ store: new MemoryStore(), secret: 's'.repeat(32), loadUser: (id) => users[id] ?? null });

  it('returns the logged-in user, the same object user() returns', async () => {
    const login = typed.forRequest(new Request('http://localhost/login', { method: 'POST' }));
    assert.equal(await login.login(users['1']!), true);
    const cookie = login.setCookies().map((c) => c.split(';')[0]).join('; ');
    const next = typed.forRequest(new Request('http://localhost/dashboard', { headers: { cookie } }));
    const user = await next.requireUser();
    assert.equal(user.name, 'Ada');
    assert.equal(user, await next.user());
  });

  it('throws TypeError naming the missing guard for an anonymous request, a forged cookie included (attacker): never a user, never null', async () => {
    for (const headers of [{}, { cookie: 'session=forged.token' }] as Array<Record<string, string>>) {
      const anonymous = typed.forRequest(new Request('http://localhost/dashboard', { headers }));
      await assert.rejects(anonymous.requireUser(), (error: Error) => error instanceof TypeError && /put loginRequired\(\) before this handler/.test(error.message));
    }
  });
});

describe('confirmLogin records what the user proved again (SEC-84, step-up)', () => {
  const manager = createLoginManager<{ id: string; name: string }>({ store: new MemoryStore(), secret: 's'.repeat(32), loadUser: (id) => ({ id, name: 'x' }) });
  const auth = () => manager.forRequest(new Request('http://localhost/'));
  /** A request carrying the cookies `from` set. */
  const next = (from: { setCookies(): string[] }) =>
    manager.forRequest(new Request('http://localhost/', { headers: { cookie: from.setCookies().map((c) => c.split(';', 1)[0]).join('; ') } }));

  it('SEC-84: confirmLogin({ methods: ["pwd", "hwk"] }) adds both to the login, once each; the default adds pwd alone', async () => {
    const first = auth();
    assert.equal(await first.login({ id: 'c1', name: 'x' }, { methods: ['hwk'] }), true);
    const second = next(first);
    assert.equal(await second.confirmLogin({ methods: ['pwd', 'hwk'] }), true);
    assert.deepEqual((await manager.listUserSessions('c1')).map((s) => s.methods), [['hwk', 'pwd']]);
    assert.equal(await next(second).confirmLogin(), true);
    assert.deepEqual((await manager.listUserSessions('c1')).map((s) => s.methods), [['hwk', 'pwd']], 'pwd is not added twice');
  });

  it('SEC-84: methods that are not valid throw TypeError before anything changes, with or without a session', async () => {
    const first = auth();
    assert.equal(await first.login({ id: 'c2', name: 'x' }), true);
    for (const methods of ['pwd', ['OTP'], [7], Array(9).fill('otp')] as unknown[]) {
      const a = next(first);
      await assert.rejects(a.confirmLogin({ methods: methods as string[] }), TypeError, JSON.stringify(methods));
      assert.deepEqual(a.setCookies(), [], 'nothing was issued');
      await assert.rejects(auth().confirmLogin({ methods: methods as string[] }), TypeError);
    }
    assert.deepEqual((await manager.listUserSessions('c2')).map((s) => s.methods), [['pwd']]);
  });
});
