/**
 * The HTTP behaviour suite: Flask-Login's test scenarios (Flask-Login's behaviour §3, cited by the line of
 * tests/test_login.py) and the security requirements's session, remember-me and CSRF requirements (cited by
 * number), run against the route table of test/support/harness.ts. Every adapter runs it
 * unchanged, but for a case it names as skipped, with the reason the report prints. Each test
 * builds its own manager, store and clock.
 *
 * @module test/behaviour-suite
 */
import assert from 'node:assert/strict';
import { describe, it as nodeIt, type TestContext } from 'node:test';
import { createLoginManager, type CreateLoginManagerOptions, type LoginManager } from '../src/manager.ts';
import { SqliteStore } from '../src/sqlite/index.ts';
import type { Store } from '../src/store.ts';
import { loginTestUser } from '../src/testing/index.ts';
import { TestClient } from './support/client.ts';
import { USERS, type Harness, type MakeHarness, type TestUser } from './support/harness.ts';

const SECRET = 'behaviour-suite-secret-0123456789abcdef';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const HTML = { accept: 'text/html,application/xhtml+xml' };

interface Setup {
  readonly harness: Harness;
  readonly manager: LoginManager<TestUser>;
  readonly store: Store;
  readonly events: Array<[string, any]>;
  readonly clock: { now: number };
  client(headers?: Record<string, string>): TestClient;
  advance(ms: number): void;
  count(event: string): number;
}

type Options = Partial<CreateLoginManagerOptions<TestUser, any>>;

/** Session and remember cookies as the jar names them over plain HTTP. */
const SESSION = 'session';
const REMEMBER = 'remember_token';

/**
 * Cases an adapter cannot run, by exact title, each with the reason the test report prints. A
 * skipped case must say why; a name that matches no case fails the suite, so no skip outlives its case.
 */
export interface BehaviourOptions {
  readonly skip?: Readonly<Record<string, string>>;
}

export function describeBehaviour(adapter: string, make: MakeHarness, behaviourOptions: BehaviourOptions = {}): void {
  const skip = behaviourOptions.skip ?? {};
  const unmatched = new Set(Object.keys(skip));
  const it = (name: string, fn: (t: TestContext) => Promise<void>) => {
    unmatched.delete(name);
    return nodeIt(name, { skip: Object.hasOwn(skip, name) ? skip[name] : false }, fn);
  };
  async function setup(t: { after(fn: () => unknown): void }, options: Options = {}, wrapStore?: (s: Store) => Store): Promise<Setup> {
    const clock = { now: Date.UTC(2026, 0, 5, 12) };
    const sqlite = new SqliteStore({ path: ':memory:', now: () => clock.now, sweepInterval: 0 });
    const store = wrapStore ? wrapStore(sqlite) : sqlite;
    const manager = createLoginManager<TestUser, any>({
      store,
      secret: SECRET,
      loadUser: (id) => USERS[id] ?? null,
      sessionProtection: null,
      now: () => clock.now,
      ...options,
    });
    const events: Array<[string, any]> = [];
    for (const name of ['loggedIn', 'loggedOut', 'loadedFromCookie', 'loadedFromRequest', 'loginConfirmed', 'unauthorized',
      'needsRefresh', 'accessed', 'sessionProtected', 'loginFailed', 'rememberTheft'] as const) {
      manager.on(name, (payload) => events.push([name, payload]));
    }
    const harness = await make(manager);
    t.after(async () => {
      await harness.close();
      await sqlite.close();
    });
    return {
      harness, manager, store, events, clock,
      client: (headers) => new TestClient(harness, headers),
      advance: (ms) => { clock.now += ms; },
      count: (event) => events.filter(([name]) => name === event).length,
    };
  }

  describe(`${adapter}: lazy loading (flask-login 125-154, 885, 1047)`, () => {
    it('a route that never reads the user sets no cookie and emits no accessed event', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const before = s.count('accessed');
      const res = await client.fetch('/');
      assert.equal(await res.text(), 'public');
      assert.deepEqual(res.headers.getSetCookie(), []);
      assert.equal(s.count('accessed'), before);
    });

    it('reading the user emits exactly one accessed event per request', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const before = s.count('accessed');
      const { body } = await client.json('/whoami');
      assert.equal(body.user, 'Notch');
      assert.equal(s.count('accessed'), before + 1);
    });

    it('anonymous visitors create no session record and get no cookie (R-09, flask-login 1010)', async (t) => {
      const s = await setup(t, { sessionProtection: 'basic' });
      const client = s.client();
      for (let i = 0; i < 20; i++) {
        const res = await client.fetch('/whoami');
        assert.deepEqual(res.headers.getSetCookie(), []);
      }
      assert.deepEqual(await s.store.listUserSessions('1'), []);
      assert.equal(s.count('sessionProtected'), 0);
    });
  });

  describe(`${adapter}: login (flask-login 318-366, 573, 587)`, () => {
    it('with no cookies the current user is the anonymous user (318, 322)', async (t) => {
      const s = await setup(t);
      const { body } = await s.client().json('/whoami');
      assert.deepEqual(body, { user: null, anonymous: true, fresh: false, remembered: false });
    });

    it('logs an active user in, fresh and not remembered, and the session cookie carries it (327, 573, 601)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      assert.equal(await client.login('1'), true);
      const { body } = await client.json('/whoami');
      assert.deepEqual(body, { user: 'Notch', anonymous: false, fresh: true, remembered: false });
    });

    it('a login with fresh=false is authenticated but not fresh (334)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1', { fresh: false });
      const { body } = await client.json('/whoami');
      assert.equal(body.user, 'Notch');
      assert.equal(body.fresh, false);
    });

    it('emits loggedIn once with the user (341)', async (t) => {
      const s = await setup(t);
      await s.client().login('1');
      const logins = s.events.filter(([name]) => name === 'loggedIn');
      assert.equal(logins.length, 1);
      assert.equal(logins[0]?.[1].user.name, 'Notch');
    });

    it('refuses an inactive user unless forced (347, 353)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      assert.equal(await client.login('3'), false);
      assert.equal((await client.json('/whoami')).body.user, null);
      assert.equal(await client.login('3', { force: true }), true);
      // Forced in, but an inactive user is not authenticated on later requests (flask-login #530).
      assert.equal((await client.json('/whoami')).body.user, null);
    });

    it('a user that loadUser no longer finds is anonymous (587)', async (t) => {
      const users = new Map(Object.entries(USERS));
      const s = await setup(t, { loadUser: (id) => users.get(id) ?? null });
      const client = s.client();
      await client.login('2');
      users.delete('2');
      assert.equal((await client.json('/whoami')).body.user, null);
    });

    it('a user id that is not ASCII round-trips (1456, 1463)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('佐藤', { remember: true });
      client.restartBrowser();
      assert.equal((await client.json('/whoami')).body.user, 'Müller');
    });
  });

  describe(`${adapter}: request loader (flask-login 358, 366, 1181-1230, 761)`, () => {
    const byKey = (request: { headers: { get(n: string): string | null } }) => {
      const key = request.headers.get('x-api-key');
      return key === 'steve-key' ? USERS['2'] : null;
    };

    it('authenticates per request, emits loadedFromRequest and creates no session', async (t) => {
      const s = await setup(t, { requestLoader: byKey });
      const client = s.client();
      const res = await client.json('/protected', { headers: { 'x-api-key': 'steve-key' } });
      assert.equal(res.status, 200);
      assert.equal(res.body.message, 'Hello, Steve!');
      assert.deepEqual(res.response.headers.getSetCookie(), []);
      assert.equal(s.count('loadedFromRequest'), 1);
      assert.deepEqual(await s.store.listUserSessions('2'), []);
      // Not persisted: the next request without the key is anonymous (1230).
      assert.equal((await client.json('/protected')).status, 401);
    });

    it('an unknown key is anonymous (366, 1213)', async (t) => {
      const s = await setup(t, { requestLoader: byKey });
      assert.equal((await s.client().json('/protected', { headers: { 'x-api-key': 'nope' } })).status, 401);
    });

    it('works with no loadUser at all (1181-1193)', async (t) => {
      const s = await setup(t, { loadUser: undefined, requestLoader: byKey });
      assert.equal((await s.client().json('/protected', { headers: { 'x-api-key': 'steve-key' } })).status, 200);
    });

    it('an invalid remember cookie does not block the request loader (flask-login #901)', async (t) => {
      const s = await setup(t, { requestLoader: byKey });
      const res = await s.client().json('/protected', {
        headers: { 'x-api-key': 'steve-key', cookie: `${REMEMBER}=${'A'.repeat(22)}.${'B'.repeat(43)}` },
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.message, 'Hello, Steve!');
    });
  });

  describe(`${adapter}: logout (flask-login 377-390, 580, 771)`, () => {
    it('ends the session: the user is anonymous and loggedOut carries them (383, 580)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      assert.equal((await client.post('/logout')).status, 200);
      assert.equal((await client.json('/whoami')).body.user, null);
      const outs = s.events.filter(([name]) => name === 'loggedOut');
      assert.equal(outs.length, 1);
      assert.equal(outs[0]?.[1].user.name, 'Notch');
    });

    it('emits loggedOut with no user when nobody was logged in (390)', async (t) => {
      const s = await setup(t);
      await s.client().post('/logout');
      assert.equal(s.events.find(([name]) => name === 'loggedOut')?.[1].user, null);
    });

    it('replaying the session cookie after logout is refused (SEC-30, SEC-31, flask-login #480)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const stolen = client.cookie;
      await client.post('/logout');
      const replay = await s.client().json('/protected', { headers: { cookie: stolen } });
      assert.equal(replay.status, 401);
    });

    it('deletes the remember-me cookie and its series, even without a session (771, flask-login #600)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1', { remember: true });
      const remembered = client.jar.get(REMEMBER) as string;
      const res = await client.post('/logout');
      const cleared = res.response.headers.getSetCookie();
      assert.ok(cleared.some((c) => c.startsWith(`${SESSION}=;`) && c.includes('Max-Age=0')));
      assert.ok(cleared.some((c) => c.startsWith(`${REMEMBER}=;`) && c.includes('Max-Age=0')));
      const replay = await s.client().json('/whoami', { headers: { cookie: `${REMEMBER}=${remembered}` } });
      assert.equal(replay.body.user, null);
    });
  });

  describe(`${adapter}: unauthorized (flask-login 401-550, 1503, 1516)`, () => {
    it('answers 401 without a login view and emits unauthorized once (401, 446)', async (t) => {
      const s = await setup(t);
      const res = await s.client().fetch('/protected', { headers: HTML });
      assert.equal(res.status, 401);
      assert.equal(s.count('unauthorized'), 1);
    });

    it('redirects browsers to the login view with next and flashes the message (451, 407)', async (t) => {
      const s = await setup(t, { loginView: '/login' });
      const client = s.client();
      const res = await client.fetch('/protected?a=1&b=2', { headers: HTML });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), '/login?next=%2Fprotected%3Fa%3D1%26b%3D2');
      const { body } = await client.json('/flashes');
      assert.deepEqual(body.flashes, [{ category: 'message', message: 'Please log in to access this page.' }]);
    });

    it('uses the custom message, category and localize hook (407, 418)', async (t) => {
      const s = await setup(t, { loginView: '/login', loginMessage: 'Log in!', loginMessageCategory: 'info', localize: () => 'Einloggen' });
      const client = s.client();
      await client.fetch('/protected', { headers: HTML });
      assert.deepEqual((await client.json('/flashes')).body.flashes, [{ category: 'info', message: 'Einloggen' }]);
    });

    it('answers JSON 401 {message} to API clients, never a redirect (app-contract, SEC-48)', async (t) => {
      const s = await setup(t, { loginView: '/login' });
      const res = await s.client().json('/protected', { headers: { accept: '*/*' } });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { message: 'Please log in to access this page.' });
      assert.equal(res.response.headers.get('cache-control'), 'no-store');
    });

    it('uses a custom unauthorized handler (436)', async (t) => {
      const s = await setup(t, { unauthorizedHandler: () => new Response('This is secret!', { status: 401 }) });
      const res = await s.client().fetch('/protected');
      assert.equal(res.status, 401);
      assert.equal(await res.text(), 'This is secret!');
      assert.equal(s.count('unauthorized'), 1);
    });

    it('keeps next in a signed cookie with useSessionForNext, and nextTarget reads it once (463)', async (t) => {
      const s = await setup(t, { loginView: '/login', useSessionForNext: true });
      const client = s.client();
      const res = await client.fetch('/protected?x=1', { headers: HTML });
      assert.equal(res.headers.get('location'), '/login');
      assert.equal((await client.json('/next')).body.target, '/protected?x=1');
      assert.equal((await client.json('/next')).body.target, '/dashboard');
    });

    it('uses per-router login views, and null for a 401 API router (495, 550)', async (t) => {
      const s = await setup(t, { loginView: '/app_login' });
      const client = s.client();
      assert.equal((await client.fetch('/protected', { headers: HTML })).headers.get('location'), '/app_login?next=%2Fprotected');
      assert.equal((await client.fetch('/admin/protected', { headers: HTML })).headers.get('location'), '/admin/login?next=%2Fadmin%2Fprotected');
      assert.equal((await client.fetch('/api/protected', { headers: HTML })).status, 401);
    });

    it('pins the redirect host with forceHostForRedirects (1503, 1516)', async (t) => {
      const s = await setup(t, { loginView: '/login', forceHostForRedirects: 'good.com' });
      const res = await s.client().fetch('/protected', { headers: { ...HTML, host: 'bad.com' } });
      assert.equal(res.headers.get('location'), '//good.com/login?next=%2Fprotected');
    });

    it('lets OPTIONS through so CORS preflights work (206)', async (t) => {
      const s = await setup(t);
      const res = await s.client().json('/protected', { method: 'OPTIONS' });
      assert.equal(res.status, 200);
      assert.equal(res.body.message, 'preflight');
    });
  });

  describe(`${adapter}: fresh logins (flask-login 785-879, 1101; SEC-35)`, () => {
    it('anonymous: 401; fresh login: 200; restored from remember-me: 403 JSON; after confirmLogin: 200 (1101)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      assert.equal((await client.json('/fresh')).status, 401);
      await client.login('1', { remember: true });
      assert.equal((await client.json('/fresh')).status, 200);
      client.restartBrowser();
      const stale = await client.json('/fresh');
      assert.equal(stale.status, 403);
      assert.deepEqual(stale.body, { message: 'Please reauthenticate to access this page.' });
      assert.equal(s.count('needsRefresh'), 1);
      assert.equal((await client.post('/confirm')).body.ok, true);
      assert.equal(s.count('loginConfirmed'), 1);
      assert.equal((await client.json('/fresh')).status, 200);
      // Confirmed logins stay remembered (869).
      assert.equal((await client.json('/whoami')).body.remembered, true);
    });

    it('a remembered login is fresh and remembered at once (flask-login #654)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1', { remember: true });
      const { body } = await client.json('/whoami');
      assert.equal(body.fresh, true);
      assert.equal(body.remembered, true);
    });

    it('redirects browsers to the refresh view with next and the flashed message (802, 815, 840)', async (t) => {
      const s = await setup(t, { refreshView: '/reauth', localize: (m) => (m.startsWith('Please re') ? 'Aktualisieren' : m) });
      const client = s.client();
      await client.login('1', { fresh: false });
      const res = await client.fetch('/fresh', { headers: HTML });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), '/reauth?next=%2Ffresh');
      assert.deepEqual((await client.json('/flashes')).body.flashes, [{ category: 'message', message: 'Aktualisieren' }]);
    });

    it('answers 401 to browsers without a refresh view (834), and uses a custom handler (785)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1', { fresh: false });
      assert.equal((await client.fetch('/fresh', { headers: HTML })).status, 401);
      const custom = await setup(t, { needsRefreshHandler: () => new Response('Needs Refresh!', { status: 403 }) });
      const other = custom.client();
      await other.login('1', { fresh: false });
      assert.equal(await (await other.fetch('/fresh')).text(), 'Needs Refresh!');
    });

    it('keeps next in the signed cookie for the refresh view with useSessionForNext (853)', async (t) => {
      const s = await setup(t, { refreshView: '/reauth', useSessionForNext: true });
      const client = s.client();
      await client.login('1', { fresh: false });
      assert.equal((await client.fetch('/fresh', { headers: HTML })).headers.get('location'), '/reauth');
      assert.equal((await client.json('/next')).body.target, '/fresh');
    });

    it('a login stops being fresh after freshTimeout, and confirmLogin renews it (SEC-35)', async (t) => {
      const s = await setup(t, { freshTimeout: '10m' });
      const client = s.client();
      await client.login('1');
      s.advance(9 * MINUTE);
      assert.equal((await client.json('/fresh')).status, 200);
      s.advance(MINUTE);
      assert.equal((await client.json('/fresh')).status, 403);
      await client.post('/confirm');
      assert.equal((await client.json('/fresh')).status, 200);
    });

    it('confirmLogin issues a new session token and the old one stops working (SEC-23)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1', { fresh: false });
      const before = client.cookie;
      await client.post('/confirm');
      assert.notEqual(client.cookie, before);
      assert.equal((await s.client().json('/protected', { headers: { cookie: before } })).status, 401);
    });
  });

  describe(`${adapter}: remember me (flask-login 609-753, 894; SEC-36…SEC-41)`, () => {
    it('restores a non-fresh, remembered login after the browser restarts, once (609, 746, 753)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1', { remember: true });
      client.restartBrowser();
      const { body, response } = await client.json('/whoami');
      assert.deepEqual(body, { user: 'Notch', anonymous: false, fresh: false, remembered: true });
      assert.equal(s.count('loadedFromCookie'), 1);
      assert.ok(response.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=`)), 'a new session cookie');
      await client.json('/whoami');
      assert.equal(s.count('loadedFromCookie'), 1, 'the restored session carries on');
    });

    it('sets the remember cookie persistent and the session cookie not (SEC-24, SEC-36, 631)', async (t) => {
      const s = await setup(t);
      const res = await s.client().post('/login', { id: '1', remember: true });
      const cookies = res.response.headers.getSetCookie();
      const session = cookies.find((c) => c.startsWith(`${SESSION}=`)) as string;
      const remember = cookies.find((c) => c.startsWith(`${REMEMBER}=`)) as string;
      assert.doesNotMatch(session, /Max-Age|Expires/);
      assert.match(remember, /Max-Age=2592000; Expires=/);
      const expires = Date.parse(/Expires=([^;]+)/.exec(remember)?.[1] as string);
      assert.ok(Math.abs(expires - (s.clock.now + 30 * 24 * HOUR)) < 10_000);
      for (const cookie of [session, remember]) assert.match(cookie, /; Path=\/; HttpOnly; SameSite=Lax$/);
    });

    it('honours a per-login duration and a custom cookie name (620, 631, 646)', async (t) => {
      const s = await setup(t, { cookieNames: { remember: 'remember' }, rememberDuration: '2d' });
      const client = s.client();
      const res = await client.post('/login', { id: '1', remember: true, duration: '7h' });
      assert.ok(res.response.headers.getSetCookie().some((c) => c.startsWith('remember=') && c.includes('Max-Age=25200')));
      client.restartBrowser();
      assert.equal((await client.json('/whoami')).body.user, 'Notch');
    });

    it('treats a forged remember cookie as absent and clears it (894, SEC-37)', async (t) => {
      const s = await setup(t);
      const res = await s.client().json('/whoami', { headers: { cookie: `${REMEMBER}=foo` } });
      assert.equal(res.body.user, null);
      assert.ok(res.response.headers.getSetCookie().some((c) => c.startsWith(`${REMEMBER}=;`)));
    });

    it('rotates the validator on every restore: the previous cookie only works within the grace window (SEC-37, SEC-39)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1', { remember: true });
      const first = client.jar.get(REMEMBER);
      client.restartBrowser();
      await client.json('/whoami');
      const second = client.jar.get(REMEMBER);
      assert.notEqual(first, second);
      // A parallel request carrying the old cookie, within 30 s: logged in, no rotation, no cookie.
      const parallel = await s.client().json('/whoami', { headers: { cookie: `${REMEMBER}=${first}` } });
      assert.equal(parallel.body.user, 'Notch');
      assert.deepEqual(parallel.response.headers.getSetCookie(), []);
      assert.equal(s.count('rememberTheft'), 0);
    });

    it('detects a stolen remember cookie and ends every session of the user (SEC-38, attacker)', async (t) => {
      const s = await setup(t);
      const victim = s.client();
      await victim.login('1', { remember: true });
      const copied = victim.jar.get(REMEMBER);
      const laptop = s.client();
      await laptop.login('1');
      // The victim's browser restarts and rotates the validator.
      victim.restartBrowser();
      assert.equal((await victim.json('/whoami')).body.user, 'Notch');
      s.advance(31_000);
      // The attacker replays the copy after the grace window.
      const attacker = s.client();
      attacker.jar.set(REMEMBER, copied as string);
      assert.equal((await attacker.json('/protected')).status, 401);
      assert.equal(s.count('rememberTheft'), 1);
      assert.equal(s.events.find(([n]) => n === 'rememberTheft')?.[1].userId, '1');
      // Every session and series of the user is gone, the victim's and the laptop's too.
      assert.equal((await victim.json('/protected')).status, 401);
      assert.equal((await laptop.json('/protected')).status, 401);
      victim.restartBrowser();
      assert.equal((await victim.json('/protected')).status, 401);
    });

    it('detects the theft the other way round: the attacker used it first (SEC-38)', async (t) => {
      const s = await setup(t);
      const victim = s.client();
      await victim.login('1', { remember: true });
      const attacker = s.client();
      attacker.jar.set(REMEMBER, victim.jar.get(REMEMBER) as string);
      assert.equal((await attacker.json('/whoami')).body.user, 'Notch');
      s.advance(31_000);
      victim.restartBrowser();
      assert.equal((await victim.json('/whoami')).body.user, null);
      assert.equal(s.count('rememberTheft'), 1);
      assert.equal((await attacker.json('/protected')).status, 401);
    });

    it('ten parallel restores with one cookie: all logged in, one rotation, no theft (SEC-39, R-05)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1', { remember: true });
      const cookie = `${REMEMBER}=${client.jar.get(REMEMBER)}`;
      const results = await Promise.all(Array.from({ length: 10 }, () => s.client().json('/whoami', { headers: { cookie } })));
      assert.ok(results.every((r) => r.body.user === 'Notch'));
      const rotated = results.filter((r) => r.response.headers.getSetCookie().some((c) => c.startsWith(`${REMEMBER}=`)));
      assert.equal(rotated.length, 1);
      assert.equal(s.count('rememberTheft'), 0);
    });

    it('expires with its lifetime: rotation never extends it (SEC-36)', async (t) => {
      const s = await setup(t, { rememberDuration: '2d' });
      const client = s.client();
      await client.login('1', { remember: true });
      s.advance(24 * HOUR);
      client.restartBrowser();
      assert.equal((await client.json('/whoami')).body.user, 'Notch');
      s.advance(24 * HOUR);
      client.restartBrowser();
      assert.equal((await client.json('/whoami')).body.user, null);
    });
  });

  describe(`${adapter}: session protection (flask-login 909-1001, #248)`, () => {
    const ua = (name: string) => ({ 'user-agent': name });

    it('basic: the same browser stays fresh; another User-Agent makes the login non-fresh (909, 927, 936)', async (t) => {
      const s = await setup(t, { sessionProtection: 'basic' });
      const client = s.client(ua('Firefox'));
      await client.login('1');
      assert.equal((await client.json('/whoami')).body.fresh, true);
      const other = await s.client(ua('curl')).json('/whoami', { headers: { cookie: client.cookie } });
      assert.equal(other.body.user, 'Notch');
      assert.equal(other.body.fresh, false);
      assert.equal(s.count('sessionProtected'), 1);
    });

    it('strong: another User-Agent ends the session (987, 1001)', async (t) => {
      const s = await setup(t, { sessionProtection: 'strong' });
      const client = s.client(ua('Firefox'));
      await client.login('1');
      const stolen = client.cookie;
      assert.equal((await s.client(ua('curl')).json('/whoami', { headers: { cookie: stolen } })).body.user, null);
      assert.equal(s.count('sessionProtected'), 1);
      assert.equal((await client.json('/whoami')).body.user, null, 'the session is gone for everyone');
    });

    it('strong: a login restored from remember-me survives the next request (flask-login #248, 945, 957)', async (t) => {
      const s = await setup(t, { sessionProtection: 'strong' });
      const client = s.client(ua('Firefox'));
      await client.login('1', { remember: true });
      client.restartBrowser();
      assert.equal((await client.json('/whoami')).body.user, 'Notch');
      assert.equal((await client.json('/whoami')).body.user, 'Notch');
      assert.equal((await client.json('/whoami')).body.user, 'Notch');
      assert.equal(s.count('sessionProtected'), 0);
    });

    it('does not depend on the client IP, so mobile users are not logged out (flask-login #192)', async (t) => {
      const s = await setup(t, { sessionProtection: 'strong', trustProxy: true });
      const client = s.client(ua('Phone'));
      await client.login('1');
      const moved = await client.json('/whoami', { headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(moved.body.user, 'Notch');
      assert.equal(moved.body.fresh, true);
    });
  });

  describe(`${adapter}: test helper (flask-login 1565-1625, #586, #674)`, () => {
    for (const protection of [null, 'basic', 'strong'] as const) {
      it(`loginTestUser stays valid and fresh under session protection ${protection}`, async (t) => {
        const s = await setup(t, { sessionProtection: protection });
        const cookie = await loginTestUser(s.manager, USERS['1'] as TestUser);
        const { body } = await s.client().json('/whoami', { headers: { cookie } });
        assert.equal(body.user, 'Notch');
        assert.equal(body.fresh, true);
      });
    }

    it('loginTestUser honours fresh: false and a User-Agent (1577)', async (t) => {
      const s = await setup(t, { sessionProtection: 'strong' });
      const cookie = await loginTestUser(s.manager, USERS['2'] as TestUser, { fresh: false, userAgent: 'TestAgent' });
      const { body } = await s.client({ 'user-agent': 'TestAgent' }).json('/whoami', { headers: { cookie } });
      assert.equal(body.user, 'Steve');
      assert.equal(body.fresh, false);
    });
  });

  describe(`${adapter}: session tokens and cookies (SEC-19…SEC-27)`, () => {
    it('the session cookie is an opaque id.secret token and the store holds only the secret\'s SHA-256 (SEC-19, SEC-20, SEC-21)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const value = client.jar.get(SESSION) as string;
      assert.match(value, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      const [id, secret] = value.split('.') as [string, string];
      const stored = await s.store.getSession(id);
      assert.ok(stored);
      assert.notEqual(stored.secretHash, secret);
      const { createHash } = await import('node:crypto');
      assert.equal(stored.secretHash, createHash('sha256').update(secret).digest('base64url'));
      assert.ok(!value.includes('Notch') && !value.includes('1.'));
    });

    it('a random or forged cookie is anonymous and creates no record (SEC-22)', async (t) => {
      const s = await setup(t);
      const res = await s.client().json('/whoami', { headers: { cookie: `${SESSION}=${'a'.repeat(22)}.${'b'.repeat(43)}` } });
      assert.equal(res.body.user, null);
      assert.deepEqual(await s.store.listUserSessions('1'), []);
    });

    it('a token whose secret was tampered with is refused (attacker)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const [id, secret] = (client.jar.get(SESSION) as string).split('.') as [string, string];
      const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
      const res = await s.client().json('/protected', { headers: { cookie: `${SESSION}=${id}.${flipped}` } });
      assert.equal(res.status, 401);
    });

    it('login issues a new token: a planted or pre-login cookie is never authenticated (SEC-23, fixation)', async (t) => {
      const s = await setup(t);
      const attacker = s.client();
      await attacker.login('2');
      const planted = attacker.jar.get(SESSION) as string;
      // The victim's browser carries the attacker's session cookie and logs in as itself.
      const victim = s.client();
      victim.jar.set(SESSION, planted);
      await victim.login('1');
      assert.notEqual(victim.jar.get(SESSION), planted);
      assert.equal((await attacker.json('/whoami')).body.user, null, 'the planted session ended');
      assert.equal((await victim.json('/whoami')).body.user, 'Notch');
    });

    it('over HTTPS the cookies are Secure with the __Host- prefix, and un-prefixed ones are ignored (SEC-24)', async (t) => {
      const s = await setup(t, { trustProxy: true });
      const https = { 'x-forwarded-proto': 'https' };
      const client = s.client(https);
      const res = await client.post('/login', { id: '1', remember: true });
      const cookies = res.response.headers.getSetCookie();
      assert.ok(cookies.some((c) => /^__Host-session=[^;]+; Path=\/; Secure; HttpOnly; SameSite=Lax$/.test(c)));
      assert.ok(cookies.some((c) => /^__Host-remember_token=[^;]+; Max-Age=\d+; Expires=[^;]+; Path=\/; Secure; HttpOnly; SameSite=Lax$/.test(c)));
      assert.equal((await client.json('/whoami')).body.user, 'Notch');
      // The same token without the prefix, as a sibling subdomain could plant it, is not read.
      const planted = `session=${client.jar.get('__Host-session')}`;
      assert.equal((await s.client(https).json('/whoami', { headers: { cookie: planted } })).body.user, null);
    });

    it('marks authenticated responses no-store (SEC-25)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const res = await client.fetch('/protected');
      assert.equal(res.headers.get('cache-control'), 'no-store');
    });

    const hostile: Array<[string, (good: string) => string]> = [
      ['empty', () => `${SESSION}=`],
      ['one character', () => `${SESSION}=a`],
      ['4 KB', () => `${SESSION}=${'a'.repeat(4096)}`],
      ['8 KB', () => `${SESSION}=${'a'.repeat(8192)}`],
      ['base64 +/= characters', () => `${SESSION}=${'+/='.repeat(22)}`],
      ['%00', () => `${SESSION}=%00`],
      ['quotes', () => `${SESSION}="abc"`],
      ['spaces and commas', () => `${SESSION}=a b,c`],
      ['two session cookies, good first', (good) => `${SESSION}=${good}; ${SESSION}=${'x'.repeat(66)}`],
      ['two session cookies, bad first', (good) => `${SESSION}=${'x'.repeat(66)}; ${SESSION}=${good}`],
      ['lower-case __host- prefix', (good) => `__host-session=${good}`],
      ['extra dot', (good) => `${SESSION}=${good}.x`],
      ['non-UTF-8 bytes', () => `${SESSION}=\u00ff\u00fe`],
    ];
    for (const [name, cookie] of hostile) {
      it(`a hostile session cookie (${name}) is treated as absent, never a 500 (SEC-27)`, async (t) => {
        const s = await setup(t);
        const client = s.client();
        await client.login('1');
        const good = client.jar.get(SESSION) as string;
        const res = await s.client().json('/whoami', { headers: { cookie: cookie(good) } });
        assert.equal(res.status, 200);
        assert.equal(res.body.user, null);
      });
    }
  });

  describe(`${adapter}: timeouts (SEC-28…SEC-30)`, () => {
    it('an idle session ends after idleTimeout, enforced by the server (SEC-28, SEC-30)', async (t) => {
      const s = await setup(t, { idleTimeout: '30m' });
      const client = s.client();
      await client.login('1');
      s.advance(29 * MINUTE);
      assert.equal((await client.json('/protected')).status, 200);
      s.advance(29 * MINUTE);
      assert.equal((await client.json('/protected')).status, 200, 'activity slid the expiry');
      s.advance(30 * MINUTE);
      assert.equal((await client.json('/protected')).status, 401);
    });

    it('a session ends at the absolute timeout whatever the activity, exactly at the boundary (SEC-29)', async (t) => {
      const s = await setup(t, { idleTimeout: '30m', absoluteTimeout: '24h' });
      const client = s.client();
      await client.login('1');
      for (let elapsed = 0; elapsed < 24 * HOUR - 10 * MINUTE; elapsed += 10 * MINUTE) {
        s.advance(10 * MINUTE);
        assert.equal((await client.json('/protected')).status, 200, `at ${elapsed / MINUTE + 10} min`);
      }
      s.advance(10 * MINUTE - 1);
      assert.equal((await client.json('/protected')).status, 200);
      s.advance(1);
      assert.equal((await client.json('/protected')).status, 401);
    });

    it('finding 1: a short idle timeout (3 s) never logs out a user active every 0.8 s, and ends 3 s after the last request (SEC-28)', async (t) => {
      const s = await setup(t, { idleTimeout: '3s' });
      const client = s.client();
      await client.login('1');
      for (let elapsed = 800; elapsed <= 30_000; elapsed += 800) {
        s.advance(800);
        assert.equal((await client.json('/protected')).status, 200, `at ${elapsed} ms`);
      }
      s.advance(3_000 - 1);
      assert.equal((await client.json('/protected')).status, 200, '1 ms before the idle timeout');
      s.advance(3_000);
      assert.equal((await client.json('/protected')).status, 401, 'idle for 3 s');
    });

    it('finding 1: a long idle timeout (90 s): activity at 59 s keeps the request at 91 s alive, and most requests only read (SEC-28, STYLE §4)', async (t) => {
      let updates = 0;
      const s = await setup(t, { idleTimeout: '90s' }, (store) => ({
        ...bindStore(store),
        updateSession: (id, update) => { updates++; return store.updateSession(id, update); },
      }));
      const client = s.client();
      await client.login('1');
      s.advance(59_000);
      assert.equal((await client.json('/protected')).status, 200);
      s.advance(32_000);
      assert.equal((await client.json('/protected')).status, 200, 'at 91 s: the request at 59 s slid the expiry');
      // Idle but for the 0.9 × 90 s = 81 s bound: alive; 90 s after the last request: gone.
      s.advance(81_000);
      assert.equal((await client.json('/protected')).status, 200, '81 s after the last request');
      updates = 0;
      for (let i = 0; i < 90; i++) {
        s.advance(1_000);
        assert.equal((await client.json('/protected')).status, 200);
      }
      // One write per tenth of the idle timeout (9 s): 10 of the 90 requests, the rest only read.
      assert.ok(updates >= 9 && updates <= 11, `${updates} writes in 90 requests`);
      s.advance(90_000);
      assert.equal((await client.json('/protected')).status, 401, 'idle for 90 s');
    });

    it('with the default idle timeout (30 min) the sliding expiry is written at most once a minute (SEC-28, STYLE §4)', async (t) => {
      let updates = 0;
      const s = await setup(t, {}, (store) => ({
        ...bindStore(store),
        updateSession: (id, update) => { updates++; return store.updateSession(id, update); },
      }));
      const client = s.client();
      await client.login('1');
      for (let i = 0; i < 30; i++) {
        s.advance(5_000);
        await client.json('/protected');
      }
      assert.ok(updates >= 2 && updates <= 3, `${updates} writes in 150 s`);
    });
  });

  describe(`${adapter}: rotations keep the login's timers (SEC-29, SEC-35, SEC-36)`, () => {
    for (const [path, what] of [['/revoke-others', 'revoking other sessions'], ['/rotate', 'rotating the session']] as const) {
      it(`finding 2: ${what} every 9 minutes keeps a login neither fresh past freshTimeout nor alive past the 24 h absolute timeout`, async (t) => {
        const s = await setup(t); // the defaults: idle 30 min, absolute 24 h, fresh 10 min
        const client = s.client();
        await client.login('1');
        for (let elapsed = 9 * MINUTE; elapsed < 24 * HOUR; elapsed += 9 * MINUTE) {
          s.advance(9 * MINUTE);
          assert.equal((await client.json('/protected')).status, 200, `at ${elapsed / MINUTE} min`);
          assert.equal((await client.json('/fresh')).status, elapsed < 10 * MINUTE ? 200 : 403, `fresh at ${elapsed / MINUTE} min`);
          assert.equal((await client.post(path)).status, 200);
        }
        s.advance(9 * MINUTE); // 1440 min: exactly 24 h after the login
        assert.equal((await client.json('/protected')).status, 401);
      });
    }

    it('finding 2: a rotation keeps the absolute expiry to the millisecond, and keeps a stale login stale', async (t) => {
      const s = await setup(t, { idleTimeout: '30m', absoluteTimeout: '1h', freshTimeout: '10m' });
      const client = s.client();
      await client.login('1', { fresh: false });
      for (let i = 0; i < 5; i++) {
        s.advance(11 * MINUTE);
        assert.equal((await client.post(i % 2 === 0 ? '/rotate' : '/revoke-others')).status, 200);
        assert.equal((await client.json('/fresh')).status, 403);
      }
      s.advance(5 * MINUTE - 1); // 1 ms before the hour
      assert.equal((await client.json('/protected')).status, 200);
      s.advance(1);
      assert.equal((await client.json('/protected')).status, 401);
    });

    it('confirmLogin is a re-authentication: the login is fresh again and both timeouts start over (SEC-29, SEC-35)', async (t) => {
      const s = await setup(t, { idleTimeout: '30m', absoluteTimeout: '1h', freshTimeout: '10m' });
      const client = s.client();
      await client.login('1');
      s.advance(20 * MINUTE);
      assert.equal((await client.json('/fresh')).status, 403);
      s.advance(20 * MINUTE); // 40 min
      assert.equal((await client.post('/confirm')).body.ok, true);
      assert.equal((await client.json('/fresh')).status, 200);
      s.advance(20 * MINUTE); // 60 min: past the first login's hour
      assert.equal((await client.json('/protected')).status, 200);
      s.advance(20 * MINUTE - 1); // 1 ms before the confirmation's hour
      assert.equal((await client.json('/protected')).status, 200);
      s.advance(20 * MINUTE + 1);
      assert.equal((await client.json('/protected')).status, 401);
    });

    it('finding 2: logging out other sessions keeps this browser\'s remember-me series with its expiry, not a new 30-day one (SEC-36)', async (t) => {
      const s = await setup(t); // rememberDuration 30 days
      const client = s.client();
      await client.login('1', { remember: true });
      s.advance(10 * 24 * HOUR);
      assert.equal((await client.json('/protected')).status, 200, 'restored from the remember cookie');
      const { response } = await client.post('/revoke-others');
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${REMEMBER}=`));
      assert.ok(cookie, 'a new validator for the same series');
      assert.match(cookie, new RegExp(`Max-Age=${20 * 24 * 3600}\\b`));
      s.advance(20 * 24 * HOUR - MINUTE);
      client.restartBrowser();
      assert.equal((await client.json('/protected')).status, 200, 'a minute before the series ends');
      s.advance(MINUTE);
      client.restartBrowser();
      assert.equal((await client.json('/protected')).status, 401, '30 days after the login that made the series');
    });

    it('logging out other sessions makes a copy of this browser\'s remember cookie taken before it worthless (SEC-38, attacker)', async (t) => {
      const s = await setup(t);
      const victim = s.client();
      await victim.login('1', { remember: true });
      const copy = victim.jar.get(REMEMBER) as string;
      await victim.post('/revoke-others');
      assert.notEqual(victim.jar.get(REMEMBER), copy);
      s.advance(31_000); // past the grace window (SEC-39)
      const attacker = s.client();
      attacker.jar.set(REMEMBER, copy);
      assert.equal((await attacker.json('/protected')).status, 401);
    });

    it('logging out other sessions with a remember cookie that someone else used since is a theft: every session ends (SEC-38, attacker)', async (t) => {
      const s = await setup(t);
      const victim = s.client();
      await victim.login('1', { remember: true });
      const attacker = s.client();
      attacker.jar.set(REMEMBER, victim.jar.get(REMEMBER) as string);
      assert.equal((await attacker.json('/protected')).status, 200, 'the copy restored a login and rotated the validator');
      s.advance(31_000); // past the grace window (SEC-39)
      const { response } = await victim.post('/revoke-others');
      assert.equal(s.count('rememberTheft'), 1);
      assert.match(response.headers.getSetCookie().join('\n'), new RegExp(`^${REMEMBER}=;`, 'm'));
      assert.equal((await victim.json('/protected')).status, 401);
      assert.equal((await attacker.json('/protected')).status, 401);
      attacker.restartBrowser();
      assert.equal((await attacker.json('/protected')).status, 401);
    });
  });

  describe(`${adapter}: logout everywhere and session lists (SEC-32, SEC-33, SEC-34)`, () => {
    it('lists the user\'s sessions with device and marks the current one', async (t) => {
      const s = await setup(t);
      const a = s.client({ 'user-agent': 'Browser A' });
      const b = s.client({ 'user-agent': 'Browser B' });
      await a.login('1');
      await b.login('1');
      const { body } = await a.json('/sessions');
      assert.equal(body.sessions.length, 2);
      assert.deepEqual(body.sessions.map((x: any) => x.userAgent).sort(), ['Browser A', 'Browser B']);
      assert.equal(body.sessions.find((x: any) => x.current).userAgent, 'Browser A');
      assert.ok(body.sessions.every((x: any) => !('secretHash' in x)));
    });

    it('revokes one session of the user, and not someone else\'s', async (t) => {
      const s = await setup(t);
      const a = s.client();
      const b = s.client();
      const other = s.client();
      await a.login('1');
      await b.login('1');
      await other.login('2');
      const bId = (b.jar.get(SESSION) as string).split('.')[0];
      const otherId = (other.jar.get(SESSION) as string).split('.')[0];
      assert.equal((await a.post('/revoke', { id: otherId })).body.ok, false);
      assert.equal((await other.json('/protected')).status, 200);
      assert.equal((await a.post('/revoke', { id: bId })).body.ok, true);
      assert.equal((await b.json('/protected')).status, 401);
      assert.equal((await a.json('/protected')).status, 200);
    });

    it('revokes every other session and remember-me series, keeping this browser logged in (SEC-32, SEC-33)', async (t) => {
      const s = await setup(t);
      const here = s.client();
      const there = s.client();
      await here.login('1', { remember: true });
      await there.login('1', { remember: true });
      const before = here.cookie;
      assert.equal((await here.post('/revoke-others')).body.ended, 1);
      assert.notEqual(here.cookie, before, 'this browser got new tokens');
      assert.equal((await here.json('/protected')).status, 200);
      assert.equal((await there.json('/protected')).status, 401);
      there.restartBrowser();
      assert.equal((await there.json('/protected')).status, 401, 'their remember-me ended too');
      here.restartBrowser();
      assert.equal((await here.json('/protected')).status, 200, 'ours was renewed');
    });

    it('manager.revokeUserSessions ends everything of a user, e.g. on a password change', async (t) => {
      const s = await setup(t);
      const a = s.client();
      await a.login('1', { remember: true });
      const result = await s.manager.revokeUserSessions('1');
      assert.deepEqual(result, { sessions: 1, rememberTokens: 1 });
      assert.equal((await a.json('/protected')).status, 401);
      a.restartBrowser();
      assert.equal((await a.json('/protected')).status, 401);
    });
  });

  describe(`${adapter}: CSRF (SEC-42…SEC-47)`, () => {
    async function formToken(client: TestClient): Promise<string> {
      return (await client.json('/csrf')).body.token;
    }
    const form = (token: string | null, headers: Record<string, string> = {}) => ({
      method: 'POST',
      headers: { ...FORM, ...headers },
      body: token === null ? 'x=1' : `_csrf=${encodeURIComponent(token)}`,
    });

    it('accepts a same-origin form with its token, before and after login (SEC-43, SEC-44)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      const anon = await formToken(client);
      assert.equal((await client.fetch('/form', form(anon, { origin: s.harness.origin }))).status, 200);
      await client.login('1');
      const authed = await formToken(client);
      assert.notEqual(authed, anon, 'the token changes with the session');
      assert.equal((await client.fetch('/form', form(authed, { origin: s.harness.origin }))).status, 200);
      assert.equal((await client.fetch('/form', form(anon))).status, 403, 'the pre-login token died at login');
    });

    it('refuses a form without a token with 403 (SEC-43)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const res = await client.fetch('/form', form(null));
      assert.equal(res.status, 403);
    });

    it('SEC-43: a form refused for a missing or wrong token tells the developer the fix in development, and the end user only "reload" in production', async (t) => {
      const dev = await setup(t, { explainCsrfFailures: true });
      const client = dev.client();
      await client.login('1');
      const token = await formToken(client);
      /** The 403's message, from a text body or a JSON `message`, whichever the adapter chose for this client. */
      const messageOf = async (res: Response) => {
        const text = await res.text();
        return res.headers.get('content-type')?.startsWith('application/json') ? String(JSON.parse(text).message) : text;
      };
      const missing = await client.fetch('/form', form(null));
      assert.equal(missing.status, 403);
      const explained = await messageOf(missing);
      for (const fix of [/CSRF token missing/, /name="_csrf"/, /auth\.csrfToken\(\)/, /X-CSRF-Token/]) assert.match(explained, fix);
      assert.ok(!explained.includes(token), 'the explanation never shows the expected token (attacker)');
      const wrong = await client.fetch('/form', form('A'.repeat(43)));
      assert.equal(wrong.status, 403);
      assert.match(await messageOf(wrong), /CSRF token wrong/);

      const prod = await setup(t, { explainCsrfFailures: false });
      const user = prod.client();
      await user.login('1');
      const refused = await user.fetch('/form', form(null));
      assert.equal(refused.status, 403);
      const text = await messageOf(refused);
      assert.match(text, /Reload the page/);
      assert.doesNotMatch(text, /csrfToken|X-CSRF-Token|_csrf/);
    });

    it('refuses a cross-site form POST even with a valid token (SEC-45, attacker)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const token = await formToken(client);
      const refused: Array<Record<string, string>> = [
        { origin: 'https://evil.example' },
        { origin: 'null' },
        { origin: `${s.harness.origin}.evil.com` },
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
      ];
      for (const headers of refused) {
        const res = await client.fetch('/form', form(token, headers));
        assert.equal(res.status, 403, JSON.stringify(headers));
      }
    });

    it('refuses a JSON write from another origin, and allows one with no Origin (curl) (SEC-46)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      assert.equal((await client.post('/flash', { message: 'x' }, { origin: 'https://evil.example' })).status, 403);
      assert.equal((await client.post('/flash', { message: 'x' }, { 'sec-fetch-site': 'cross-site' })).status, 403);
      assert.equal((await client.post('/flash', { message: 'x' })).status, 200);
      assert.equal((await client.post('/flash', { message: 'x' }, { origin: s.harness.origin })).status, 200);
    });

    it('refuses the token of another session, a truncated or mutated token, and a token in the query (SEC-43)', async (t) => {
      const s = await setup(t);
      const alice = s.client();
      const mallory = s.client();
      await alice.login('1');
      await mallory.login('2');
      const own = await formToken(alice);
      const theirs = await formToken(mallory);
      assert.equal((await alice.fetch('/form', form(theirs))).status, 403);
      assert.equal((await alice.fetch('/form', form(own.slice(0, -1)))).status, 403);
      assert.equal((await alice.fetch('/form', form(own.toUpperCase()))).status, 403);
      assert.equal((await alice.fetch(`/form?_csrf=${own}`, form(null))).status, 403);
      assert.equal((await alice.fetch('/form', form(own))).status, 200);
    });

    it('binds the pre-login token to its own browser: a token from browser X fails in browser Y (SEC-44)', async (t) => {
      const s = await setup(t);
      const x = s.client();
      const y = s.client();
      const tokenX = await formToken(x);
      await formToken(y);
      assert.equal((await y.fetch('/form', form(tokenX))).status, 403);
      assert.equal((await x.fetch('/form', form(tokenX))).status, 200);
    });

    it('finding 10: a token minted before login is refused after login and after logout, and so is one minted before logout (SEC-44, SEC-23, attacker)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      const preLogin = await formToken(client); // what the previous user of a shared browser saw
      await client.login('1');
      assert.equal((await client.fetch('/form', form(preLogin))).status, 403, 'after login');
      const loggedIn = await formToken(client);
      await client.post('/logout');
      assert.equal((await client.fetch('/form', form(preLogin))).status, 403, 'the pre-login token after logout');
      assert.equal((await client.fetch('/form', form(loggedIn))).status, 403, 'the token of the ended session after logout');
      const fresh = await formToken(client);
      assert.notEqual(fresh, preLogin);
      assert.equal((await client.fetch('/form', form(fresh))).status, 200, 'a token minted after logout works');
    });

    it('lets a POST without Content-Type through on the origin check alone, as curl -X POST sends it (SEC-45)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      assert.equal((await client.fetch('/form', { method: 'POST' })).status, 200);
      assert.equal((await client.fetch('/form', { method: 'POST', headers: { origin: 'https://evil.example' } })).status, 403);
    });

    it('accepts the token in the X-CSRF-Token header', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const token = await formToken(client);
      const res = await client.fetch('/form', { method: 'POST', headers: { ...FORM, 'x-csrf-token': token }, body: 'x=1' });
      assert.equal(res.status, 200);
    });
  });

  describe(`${adapter}: flash messages (SEC-50)`, () => {
    it('shows a message once, with its category', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.post('/flash', { message: '<img src=x onerror=alert(1)>', category: 'error' });
      assert.deepEqual((await client.json('/flashes')).body.flashes, [{ category: 'error', message: '<img src=x onerror=alert(1)>' }]);
      assert.deepEqual((await client.json('/flashes')).body.flashes, []);
    });

    it('keeps messages across a login, and drops them at logout', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.post('/flash', { message: 'before login' });
      await client.login('1');
      assert.equal((await client.json('/flashes')).body.flashes.length, 1);
      await client.post('/flash', { message: 'for Notch only' });
      await client.post('/logout');
      await client.login('2');
      assert.deepEqual((await client.json('/flashes')).body.flashes, []);
    });

    it('ignores a flash cookie not signed by the app (attacker)', async (t) => {
      const s = await setup(t);
      const payload = Buffer.from(JSON.stringify([['message', 'Your account is locked, call +1 555']])).toString('base64url');
      const res = await s.client().json('/flashes', { headers: { cookie: `lk-flash=${payload}.${'A'.repeat(43)}` } });
      assert.deepEqual(res.body.flashes, []);
    });
  });

  describe(`${adapter}: next targets (SEC-49)`, () => {
    for (const [next, expected] of [
      ['/account?tab=2', '/account?tab=2'],
      ['https://evil.com', '/dashboard'],
      ['//evil.com', '/dashboard'],
      ['/\\evil.com', '/dashboard'],
      ['javascript:alert(1)', '/dashboard'],
    ] as const) {
      it(`nextTarget turns ${JSON.stringify(next)} into ${expected}`, async (t) => {
        const s = await setup(t);
        const { body } = await s.client().json(`/next?next=${encodeURIComponent(next)}`);
        assert.equal(body.target, expected);
      });
    }

    it('nextTarget never sends the user back to the page resolving it, such as a per-route login view (a loop), but to pages under it', async (t) => {
      const s = await setup(t);
      for (const [next, expected] of [['/next', '/dashboard'], ['/NEXT/?a=1', '/dashboard'], ['/next/deeper', '/next/deeper']] as const) {
        const { body } = await s.client().json(`/next?next=${encodeURIComponent(next)}`);
        assert.equal(body.target, expected, next);
      }
    });

    it('nextTarget refuses a next given twice (parameter pollution)', async (t) => {
      const s = await setup(t);
      const { body } = await s.client().json('/next?next=/a&next=//evil.com');
      assert.equal(body.target, '/dashboard');
    });
  });

  describe(`${adapter}: fail closed (SEC-67)`, () => {
    /**
     * A logged-in browser's guarded requests once `fault` is on: an API call, a page, a fresh-only
     * page, a loginView-less API route and a same-origin form with its token. None may reach its
     * handler, and each must answer `status`, never a 200 or a 500. Then the fault ends and the
     * same browser gets through, so `handled` is seen to record a handler that runs.
     */
    async function assertFailsClosed(
      t: { after(fn: () => unknown): void },
      status: number,
      inject: { options?: Options; wrapStore?: (store: Store) => Store; remember?: boolean; before?: (s: Setup) => void },
      fault: { on: boolean },
    ): Promise<void> {
      const s = await setup(t, inject.options, inject.wrapStore);
      const client = s.client();
      await client.login('1', { remember: inject.remember });
      const token = (await client.json('/csrf')).body.token as string;
      inject.before?.(s);
      if (inject.remember) client.restartBrowser();
      fault.on = true;
      const requests: Array<[string, string, RequestInit]> = [
        ['API call', '/protected', {}],
        ['page', '/protected', { headers: HTML }],
        ['fresh-only page', '/fresh', { headers: HTML }],
        ['API route without a login view', '/api/protected', {}],
        ['form with its token', '/form', { method: 'POST', headers: { ...FORM, origin: s.harness.origin }, body: `_csrf=${encodeURIComponent(token)}` }],
      ];
      for (const [what, path, init] of requests) {
        const res = await client.fetch(path, init);
        await res.arrayBuffer();
        assert.equal(res.status, status, `${what}: ${res.status}`);
      }
      assert.deepEqual(s.harness.handled, [], 'no guarded handler ran');
      fault.on = false;
      assert.equal((await client.json('/protected')).status, 200, 'once the fault is gone, the same browser gets through');
      assert.deepEqual(s.harness.handled, ['/protected']);
    }

    it('SEC-67: the session store\'s getSession rejects: 503, no guarded handler runs', async (t) => {
      const fault = { on: false };
      await assertFailsClosed(t, 503, { wrapStore: (store) => failWhen(store, () => fault.on, ['getSession']) }, fault);
    });

    it('SEC-67: the session store\'s getSession hangs past storeTimeout: 503, no guarded handler runs', async (t) => {
      const fault = { on: false };
      await assertFailsClosed(t, 503, { options: { storeTimeout: 50 }, wrapStore: (store) => hangWhen(store, () => fault.on, ['getSession']) }, fault);
    });

    it('SEC-67: the session store\'s updateSession (the sliding-expiry write) rejects: 503, no guarded handler runs', async (t) => {
      const fault = { on: false };
      // Five idle minutes, well inside the 30-minute idle timeout: the next request writes the new expiry.
      await assertFailsClosed(t, 503, { wrapStore: (store) => failWhen(store, () => fault.on, ['updateSession']), before: (s) => s.advance(5 * MINUTE) }, fault);
    });

    it('SEC-67: the remember-me store rejects while a remembered login is restored: 503, no guarded handler runs', async (t) => {
      const fault = { on: false };
      await assertFailsClosed(t, 503, { remember: true, wrapStore: (store) => failWhen(store, () => fault.on, ['useRememberToken']) }, fault);
    });

    it('SEC-67: loadUser rejects: 503, no guarded handler runs', async (t) => {
      const fault = { on: false };
      const loadUser = async (id: string) => {
        if (fault.on) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:27017'), { code: 'ECONNREFUSED' });
        return USERS[id] ?? null;
      };
      await assertFailsClosed(t, 503, { options: { loadUser } }, fault);
    });

    it('SEC-67: loadUser throws synchronously: 503, no guarded handler runs', async (t) => {
      const fault = { on: false };
      const loadUser = (id: string) => {
        if (fault.on) throw new Error('users table is locked');
        return USERS[id] ?? null;
      };
      await assertFailsClosed(t, 503, { options: { loadUser } }, fault);
    });

    it('SEC-67: the request loader throws: 503, never anonymous and never a 500', async (t) => {
      const s = await setup(t, {
        requestLoader: (request) => {
          if (request.headers.get('x-api-key') !== null) throw new Error('key service down');
          return null;
        },
      });
      for (const path of ['/protected', '/api/protected', '/fresh']) {
        const res = await s.client().json(path, { headers: { 'x-api-key': 'steve-key' } });
        assert.equal(res.status, 503, path);
      }
      assert.deepEqual(s.harness.handled, []);
    });

    it('SEC-67: the CSRF check cannot read the form\'s body: 403, the form handler does not run (attacker)', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('1');
      const res = await client.fetch('/form', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=zz', origin: s.harness.origin }, body: '--zz\r\ngarbage' });
      assert.equal(res.status, 403);
      assert.deepEqual(s.harness.handled, []);
    });
  });

  describe(`${adapter}: the pending second step (SEC-80, SEC-84, SEC-23)`, () => {
    const PENDING = 'lk-2fa';
    /** A browser that typed user `id`'s correct password, for a user with a second factor. */
    async function passwordStep(s: Setup, id = '1', options: { remember?: boolean; next?: string | null } = {}, client = s.client()) {
      const { body } = await client.post('/begin-second-step', { id, ...options });
      assert.equal(body.ok, true);
      return client;
    }
    const pending = async (client: TestClient) => (await client.json('/pending-second-step')).body.pending;
    const complete = async (client: TestClient, id = '1') => (await client.post('/complete-second-step', { id })).body.ok;
    /** A browser holding exactly `cookie` (the attacker's, or a copy of the victim's). */
    const holding = (s: Setup, cookie: string) => {
      const client = s.client();
      client.jar.set(PENDING, cookie);
      return client;
    };

    it('SEC-80: the pending state is not a login: anonymous, and every guard refuses it (401 JSON, redirect)', async (t) => {
      const s = await setup(t, { loginView: '/login' });
      const client = await passwordStep(s);
      assert.ok(client.jar.has(PENDING));
      assert.deepEqual((await client.json('/whoami')).body, { user: null, anonymous: true, fresh: false, remembered: false });
      const api = await client.json('/protected', { headers: { accept: '*/*' } });
      assert.equal(api.status, 401);
      assert.deepEqual(api.body, { message: 'Please log in to access this page.' });
      const page = await client.fetch('/protected', { headers: HTML });
      assert.equal(page.status, 302);
      assert.equal(page.headers.get('location'), '/login?next=%2Fprotected');
      assert.equal((await client.json('/api/protected', { headers: { accept: '*/*' } })).status, 401);
      assert.equal((await client.fetch('/fresh', { headers: HTML })).status, 302);
      assert.deepEqual(s.harness.handled, [], 'no guarded handler ran');
      assert.deepEqual(await s.store.listUserSessions('1'), [], 'no session of the user exists yet');
      assert.equal((await pending(client)).userId, '1');
    });

    it('SEC-80, SEC-23: the password step ends the session this browser held, and its remember-me series', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('2', { remember: true });
      const oldSession = client.jar.get(SESSION) as string;
      const oldRemember = client.jar.get(REMEMBER) as string;
      await passwordStep(s, '1', {}, client);
      assert.equal(client.jar.has(SESSION), false, 'the session cookie was cleared');
      assert.equal(client.jar.has(REMEMBER), false, 'the remember cookie was cleared');
      assert.deepEqual(await s.store.listUserSessions('2'), []);
      assert.deepEqual(await s.store.listUserSessions('1'), []);
      assert.equal((await client.json('/whoami')).body.user, null);
      // Replaying the cookies the browser had before the password step logs nobody in.
      const replay = s.client();
      replay.jar.set(SESSION, oldSession);
      replay.jar.set(REMEMBER, oldRemember);
      assert.equal((await replay.json('/whoami')).body.user, null);
    });

    it('SEC-84: completion logs in fresh with the carried remember, under a new session, and clears the pending cookie', async (t) => {
      const s = await setup(t);
      const started: string[] = [];
      const completed: string[] = [];
      s.manager.on('secondStepStarted', ({ userId }) => started.push(userId));
      s.manager.on('secondStepCompleted', ({ userId }) => completed.push(userId));
      const client = await passwordStep(s, '1', { remember: true, next: '/dashboard' });
      assert.deepEqual(await pending(client), { userId: '1', remember: true, next: '/dashboard' });
      assert.equal(await complete(client), true);
      assert.equal(client.jar.has(PENDING), false, 'the pending cookie was cleared');
      assert.ok(client.jar.has(REMEMBER), 'remember: true carried a remember-me cookie');
      assert.deepEqual((await client.json('/whoami')).body, { user: 'Notch', anonymous: false, fresh: true, remembered: true });
      assert.equal((await s.store.listUserSessions('1')).length, 1);
      assert.equal((await client.json('/fresh')).status, 200);
      assert.deepEqual([started, completed], [['1'], ['1']]);
      assert.equal(await pending(client), null);
    });

    it('SEC-84: completion without remember sets no remember-me cookie; the login is still fresh', async (t) => {
      const s = await setup(t);
      const client = await passwordStep(s, '2');
      assert.deepEqual(await pending(client), { userId: '2', remember: false, next: null });
      assert.equal(await complete(client, '2'), true);
      assert.equal(client.jar.has(REMEMBER), false);
      assert.deepEqual((await client.json('/whoami')).body, { user: 'Steve', anonymous: false, fresh: true, remembered: false });
    });

    it('SEC-80 as the attacker: a copied pending cookie completes once; a second completion fails', async (t) => {
      const s = await setup(t);
      const victim = await passwordStep(s);
      const copy = victim.jar.get(PENDING) as string;
      assert.equal(await complete(victim), true);
      const attacker = holding(s, copy);
      assert.equal(await complete(attacker), false);
      assert.equal((await attacker.json('/whoami')).body.user, null);
      assert.equal(await pending(attacker), null);
      assert.equal((await s.store.listUserSessions('1')).length, 1, 'only the victim logged in');
    });

    it('SEC-80: of two parallel completions with the same cookie exactly one logs in', async (t) => {
      const s = await setup(t);
      const cookie = (await passwordStep(s)).jar.get(PENDING) as string;
      const results = await Promise.all([complete(holding(s, cookie)), complete(holding(s, cookie))]);
      assert.deepEqual(results.sort(), [false, true]);
      assert.equal((await s.store.listUserSessions('1')).length, 1);
    });

    for (const [label, timeout, ms] of [['default 5m', undefined, 5 * MINUTE], ['15m', '15m', 15 * MINUTE], ['1s', '1s', 1000]] as const) {
      it(`SEC-80: the pending step ends at exactly secondStepTimeout (${label}) on the store's clock`, async (t) => {
        const s = await setup(t, timeout === undefined ? {} : { secondStepTimeout: timeout });
        const early = await passwordStep(s);
        const late = holding(s, early.jar.get(PENDING) as string);
        s.advance(ms - 1);
        assert.equal((await pending(early)).userId, '1', 'live 1 ms before the limit');
        s.advance(1);
        assert.equal(await pending(early), null, 'gone at the limit');
        assert.equal(early.jar.has(PENDING), false, 'and its cookie cleared');
        assert.equal(await complete(late), false);
        assert.equal((await late.json('/whoami')).body.user, null);
      });
    }

    it('SEC-80 as the attacker: a tampered cookie (remember, next, another step\'s signature, garbage) is refused and cleared', async (t) => {
      const s = await setup(t);
      const mine = (await passwordStep(s, '1', { remember: false, next: '/a' })).jar.get(PENDING) as string;
      const other = (await passwordStep(s, '1', { remember: true, next: '/b' })).jar.get(PENDING) as string;
      const token = mine.slice(0, 43);
      const [payload, mac] = mine.slice(44).split('.') as [string, string];
      const carried = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forge = (value: unknown) => `${token}.${Buffer.from(JSON.stringify(value)).toString('base64url')}.${mac}`;
      const tampered = [
        forge({ ...carried, r: true }),
        forge({ ...carried, n: 'https://evil.example/' }),
        `${token}.${other.slice(44)}`, // a genuine signature, of another pending step
        token,
        `${token}.`,
        'garbage',
        '',
        'x'.repeat(4000),
        `${mine}.x`,
      ];
      for (const cookie of tampered) {
        const client = holding(s, cookie);
        const res = await client.json('/pending-second-step');
        assert.equal(res.status, 200, cookie);
        assert.equal(res.body.pending, null, cookie);
        assert.equal(client.jar.has(PENDING), false, `cleared: ${cookie}`);
        assert.equal(await complete(holding(s, cookie)), false, cookie);
      }
      assert.deepEqual(await s.store.listUserSessions('1'), []);
      assert.deepEqual(await pending(holding(s, mine)), { userId: '1', remember: false, next: '/a' }, 'the genuine cookie still works');
    });

    it('SEC-80 as the attacker: user A\'s pending cookie cannot complete a login as user B, and is left intact', async (t) => {
      const s = await setup(t);
      const client = await passwordStep(s, '2'); // the attacker's own account, password known
      assert.equal(await complete(client, '1'), false);
      assert.equal((await client.json('/whoami')).body.user, null);
      assert.deepEqual(await s.store.listUserSessions('1'), []);
      assert.equal(await complete(client, '2'), true, 'nothing changed: the step is still its own user\'s');
    });

    it('SEC-80: a later password step in the same browser replaces the earlier one', async (t) => {
      const s = await setup(t);
      const client = await passwordStep(s, '1');
      const first = client.jar.get(PENDING) as string;
      await passwordStep(s, '2', {}, client);
      assert.notEqual(client.jar.get(PENDING), first);
      assert.equal(await complete(holding(s, first)), false, 'the earlier step ended');
      assert.equal((await pending(client)).userId, '2');
    });

    it('SEC-80: cancel and logout end the pending step, in the store and in the browser', async (t) => {
      const s = await setup(t);
      for (const path of ['/cancel-second-step', '/logout']) {
        const client = await passwordStep(s);
        const copy = client.jar.get(PENDING) as string;
        await client.post(path);
        assert.equal(client.jar.has(PENDING), false, path);
        assert.equal(await pending(holding(s, copy)), null, path);
        assert.equal(await complete(holding(s, copy)), false, path);
      }
    });

    it('SEC-80: an inactive user gets no pending step, and the browser\'s login is untouched', async (t) => {
      const s = await setup(t);
      const client = s.client();
      await client.login('2');
      assert.equal((await client.post('/begin-second-step', { id: '3' })).body.ok, false);
      assert.equal(client.jar.has(PENDING), false);
      assert.equal((await client.json('/whoami')).body.user, 'Steve');
    });

    it('SEC-80, SEC-24: the pending cookie is HttpOnly, SameSite=Lax, a browser-session cookie, __Host- over HTTPS', async (t) => {
      const s = await setup(t, { trustProxy: true });
      const plain = (await s.client().post('/begin-second-step', { id: '1' })).response.headers.getSetCookie();
      assert.ok(plain.some((c) => /^lk-2fa=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/.test(c)), plain.join('\n'));
      const https = s.client({ 'x-forwarded-proto': 'https' });
      const cookies = (await https.post('/begin-second-step', { id: '1' })).response.headers.getSetCookie();
      assert.ok(cookies.some((c) => /^__Host-lk-2fa=[^;]+; Path=\/; Secure; HttpOnly; SameSite=Lax$/.test(c)), cookies.join('\n'));
      assert.equal(await complete(https), true);
      assert.equal(https.jar.has('__Host-lk-2fa'), false, 'cleared at completion');
    });
  });

  describe(`${adapter}: how the user authenticated (SEC-84)`, () => {
    /** The methods the session list shows for this browser's session. */
    const methodsOf = async (client: TestClient) => {
      const { body } = await client.json('/sessions');
      return body.sessions.find((x: any) => x.current)?.methods;
    };

    it('SEC-84: a password login records pwd; a login with fresh: false records none; given methods are recorded as given', async (t) => {
      const s = await setup(t);
      const password = s.client();
      const stale = s.client();
      const passkey = s.client();
      await password.login('1');
      await stale.login('1', { fresh: false });
      await passkey.login('1', { methods: ['hwk', 'user'] });
      assert.deepEqual(await methodsOf(password), ['pwd']);
      assert.deepEqual(await methodsOf(stale), []);
      assert.deepEqual(await methodsOf(passkey), ['hwk', 'user']);
      const listed = (await password.json('/sessions')).body.sessions.map((x: any) => x.methods);
      assert.deepEqual(listed.map((m: string[]) => m.join('+')).sort(), ['', 'hwk+user', 'pwd']);
    });

    it('SEC-84: a completed second step records pwd + the method verified: otp by default, recovery, hwk', async (t) => {
      const s = await setup(t);
      for (const [method, expected] of [[undefined, ['pwd', 'otp']], ['recovery', ['pwd', 'recovery']], ['hwk', ['pwd', 'hwk']]] as const) {
        const client = s.client();
        assert.equal((await client.post('/begin-second-step', { id: '1' })).body.ok, true);
        assert.equal((await client.post('/complete-second-step', { id: '1', method })).body.ok, true);
        assert.deepEqual(await methodsOf(client), expected, `method ${method}`);
      }
    });

    it('SEC-84: every rotation keeps the methods (rotateSession, revokeOtherSessions), and a remembered browser keeps its own', async (t) => {
      const s = await setup(t);
      const client = s.client();
      const other = s.client();
      assert.equal((await client.post('/begin-second-step', { id: '1', remember: true })).body.ok, true);
      assert.equal((await client.post('/complete-second-step', { id: '1' })).body.ok, true);
      await other.login('1');
      for (const path of ['/rotate', '/revoke-others', '/rotate'] as const) {
        const before = client.cookie;
        assert.equal((await client.post(path)).status, 200);
        assert.notEqual(client.cookie, before, `${path} issued a new token`);
        assert.deepEqual(await methodsOf(client), ['pwd', 'otp'], `after ${path}`);
      }
      assert.equal((await s.store.listUserSessions('1')).length, 1, 'the other session ended');
    });

    it('SEC-84, as the attacker: a remember-me cookie alone records no method, a rotation does not add one, confirmLogin adds pwd', async (t) => {
      const s = await setup(t);
      const victim = s.client();
      await victim.login('1', { remember: true, methods: ['pwd', 'otp'] });
      const attacker = s.client();
      attacker.jar.set(REMEMBER, victim.jar.get(REMEMBER) as string); // a copied cookie: the login it restores proved nothing
      assert.equal((await attacker.json('/protected')).status, 200);
      assert.deepEqual(await methodsOf(attacker), []);
      assert.equal((await attacker.post('/rotate')).status, 200);
      assert.deepEqual(await methodsOf(attacker), [], 'a rotation records nothing new');
      assert.equal((await attacker.json('/fresh')).status, 403);
      assert.equal((await attacker.post('/confirm')).body.ok, true); // the app calls it only after the password was re-entered
      assert.deepEqual(await methodsOf(attacker), ['pwd']);
      assert.equal((await victim.post('/confirm')).body.ok, true);
      assert.deepEqual(await methodsOf(victim), ['pwd', 'otp'], 'pwd is not added twice');
    });
  });

  describe(`${adapter}: store failures (R-01, R-03, the security requirements §5.6)`, () => {
    it('answers 503 with Retry-After when the store fails, never anonymous, and public routes keep working', async (t) => {
      let broken = false;
      const s = await setup(t, {}, (store) => failWhen(store, () => broken));
      const client = s.client();
      await client.login('1');
      broken = true;
      const res = await client.json('/protected');
      assert.equal(res.status, 503);
      assert.equal(res.response.headers.get('retry-after'), '5');
      assert.ok(!res.response.headers.getSetCookie().some((c) => c.includes('Max-Age=0')), 'a 503 does not log anyone out');
      assert.equal((await client.fetch('/')).status, 200);
      broken = false;
      assert.equal((await client.json('/protected')).status, 200, 'service resumes');
    });

    it('answers 503 within storeTimeout when the store hangs', async (t) => {
      let hang = false;
      const s = await setup(t, { storeTimeout: 100 }, (store) => hangWhen(store, () => hang));
      const client = s.client();
      await client.login('1');
      hang = true;
      const started = performance.now();
      const res = await client.json('/protected');
      assert.equal(res.status, 503);
      assert.ok(performance.now() - started < 2_000);
    });

    it('logout while the store is down answers 503 and still clears this browser\'s cookies (§5.6)', async (t) => {
      let broken = false;
      const s = await setup(t, {}, (store) => failWhen(store, () => broken));
      const client = s.client();
      await client.login('1', { remember: true });
      broken = true;
      const res = await client.post('/logout');
      assert.equal(res.status, 503);
      const cleared = res.response.headers.getSetCookie();
      assert.ok(cleared.some((c) => c.startsWith(`${SESSION}=;`)));
      assert.ok(cleared.some((c) => c.startsWith(`${REMEMBER}=;`)));
    });
  });

  describe(`${adapter}: skipped cases`, () => {
    it('every skipped case names a case of this suite, with a reason', async () => {
      assert.deepEqual([...unmatched], []);
      for (const [name, reason] of Object.entries(skip)) assert.ok(reason.trim().length > 0, name);
    });
  });
}

/** The store's methods bound to it, so a spread copy keeps working. */
function bindStore(store: Store): Store {
  const bound: Record<string, unknown> = {};
  for (const key of ['createSession', 'getSession', 'updateSession', 'deleteSession', 'listUserSessions', 'deleteUserSessions',
    'createRememberToken', 'useRememberToken', 'deleteRememberToken', 'deleteUserRememberTokens', 'ping'] as const) {
    const method = store[key] as ((...args: unknown[]) => unknown) | undefined;
    if (method) bound[key] = method.bind(store);
  }
  return bound as unknown as Store;
}

/** Fault injection: the real store, except that its calls (or only those named in `only`) reject while `broken()` says so. */
function failWhen(store: Store, broken: () => boolean, only?: readonly string[]): Store {
  const bound = bindStore(store) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const faulty: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(bound)) {
    const target = only === undefined || only.includes(key);
    faulty[key] = (...args: unknown[]) => (target && broken() ? Promise.reject(new Error('ECONNREFUSED (injected)')) : method(...args));
  }
  return faulty as unknown as Store;
}

/** Fault injection: the real store, except that its calls (or only those named in `only`) never settle while `hang()` says so. */
function hangWhen(store: Store, hang: () => boolean, only?: readonly string[]): Store {
  const bound = bindStore(store) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const faulty: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(bound)) {
    const target = only === undefined || only.includes(key);
    faulty[key] = (...args: unknown[]) => (target && hang() ? new Promise(() => {}) : method(...args));
  }
  return faulty as unknown as Store;
}
