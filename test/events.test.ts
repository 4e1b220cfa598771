/**
 * Finding 9 of issue 10, at the library's depth: the events an audit log needs that latchkey did
 * not emit (SEC-68): `sessionCreated`, `sessionRevoked`, `sessionInvalid`, `csrfRefused`. The app's
 * log lines built on them are tested in test/app/logging.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoginEventName, LoginEvents } from '../src/events.ts';
import { createLoginManager } from '../src/manager.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';

type User = { id: string };

function setup() {
  const manager = createLoginManager<User>({ store: new MemoryStore(), secret: 's'.repeat(32), loadUser: (id) => ({ id }), sessionProtection: null });
  const events: Array<[LoginEventName, any]> = [];
  for (const name of ['sessionCreated', 'sessionRevoked', 'sessionInvalid', 'csrfRefused'] as const) {
    manager.on(name, (payload: LoginEvents<User>[typeof name]) => events.push([name, payload]));
  }
  const request = (cookie?: string, init: RequestInit & { path?: string } = {}) =>
    new Request(`http://localhost${init.path ?? '/'}`, { ...init, headers: { ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) } });
  /** Logs user `id` in on a new device; its cookie and session id. */
  const device = async (id = '1') => {
    const auth = manager.forRequest(request());
    await auth.login({ id });
    const value = auth.setCookies()[0]!.split(';')[0]!;
    return { cookie: value, sessionId: value.slice('session='.length).split('.')[0]! };
  };
  const take = () => events.splice(0);
  return { manager, events, request, device, take };
}

describe('finding 9: session life-cycle events for the audit log (SEC-68)', () => {
  it('emits sessionCreated at login and whenever a session is replaced, naming the new session', async () => {
    const s = setup();
    const laptop = await s.device();
    assert.deepEqual(s.take().map(([name, p]) => [name, p.userId, p.sessionId, p.fresh, p.remembered]), [['sessionCreated', '1', laptop.sessionId, true, false]]);
    const auth = s.manager.forRequest(s.request(laptop.cookie));
    assert.equal(await auth.confirmLogin(), true);
    const [[name, payload]] = s.take() as [[LoginEventName, LoginEvents<User>['sessionCreated']]];
    assert.equal(name, 'sessionCreated');
    assert.notEqual(payload.sessionId, laptop.sessionId);
    assert.equal(payload.sessionId, (await auth.session())!.id);
    assert.equal(payload.request, auth.request);
  });

  it('emits sessionRevoked for each revocation: with the request from RequestAuth, null from the manager', async () => {
    const s = setup();
    const laptop = await s.device();
    const phone = await s.device();
    const tablet = await s.device();
    await s.device('2');
    s.take();
    const auth = s.manager.forRequest(s.request(laptop.cookie));
    assert.equal(await auth.revokeSession(tablet.sessionId), true);
    assert.deepEqual(s.take(), [['sessionRevoked', { request: auth.request, userId: '1', scope: 'one', sessionId: tablet.sessionId, sessions: 1 }]]);
    assert.equal(await auth.revokeSession(tablet.sessionId), false); // already gone: nothing ended, no event
    assert.deepEqual(s.take(), []);
    assert.equal(await auth.revokeOtherSessions(), 1);
    const others = s.take();
    assert.deepEqual(others.map(([name]) => name), ['sessionCreated', 'sessionRevoked']);
    assert.deepEqual(others[1]![1], { request: auth.request, userId: '1', scope: 'others', sessionId: null, sessions: 1 });
    assert.equal((await s.manager.listUserSessions('1')).some((x) => x.id === phone.sessionId), false);

    const current = (await auth.session())!.id;
    assert.equal(await s.manager.revokeSession('2', current), false); // not user 2's session
    assert.deepEqual(s.take(), []);
    const second = await s.device();
    s.take();
    assert.equal(await s.manager.revokeSession('1', second.sessionId), true);
    assert.deepEqual(s.take(), [['sessionRevoked', { request: null, userId: '1', scope: 'one', sessionId: second.sessionId, sessions: 1 }]]);
    await s.device();
    s.take();
    await s.manager.revokeUserSessions('1', { exceptSessionId: current });
    assert.deepEqual(s.take(), [['sessionRevoked', { request: null, userId: '1', scope: 'others', sessionId: null, sessions: 1 }]]);
    await s.manager.revokeUserSessions('1');
    assert.deepEqual(s.take(), [['sessionRevoked', { request: null, userId: '1', scope: 'all', sessionId: null, sessions: 1 }]]);
  });

  it('emits sessionInvalid when a session cookie names no valid session, saying why (attacker: a guessed secret)', async () => {
    const s = setup();
    const laptop = await s.device();
    s.take();
    const cases: Array<[string, string, string | null]> = [
      ['session=not-a-token', 'malformed', null],
      [`session=${laptop.sessionId}.${'A'.repeat(43)}`, 'mismatch', laptop.sessionId],
      [`session=${'B'.repeat(22)}.${'A'.repeat(43)}`, 'unknown', 'B'.repeat(22)],
    ];
    for (const [cookie, reason, sessionId] of cases) {
      const auth = s.manager.forRequest(s.request(cookie));
      assert.equal(await auth.user(), null);
      assert.deepEqual(s.take(), [['sessionInvalid', { request: auth.request, reason, sessionId }]], cookie);
    }
    // After logout the old cookie names an ended session: unknown.
    await s.manager.forRequest(s.request(laptop.cookie, { method: 'POST', path: '/logout' })).logout();
    const replay = s.manager.forRequest(s.request(laptop.cookie));
    assert.equal(await replay.user(), null);
    assert.deepEqual(s.take().map(([, p]) => [p.reason, p.sessionId]), [['unknown', laptop.sessionId]]);
    // No session cookie, or a valid one: nothing.
    assert.equal(await s.manager.forRequest(s.request()).user(), null);
    const phone = await s.device();
    s.take();
    assert.deepEqual(await s.manager.forRequest(s.request(phone.cookie)).user(), { id: '1' });
    assert.deepEqual(s.take(), []);
  });

  it('emits csrfRefused with the reason of each refused unsafe request, and nothing for the ones that pass (SEC-43, SEC-45)', async () => {
    const s = setup();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const crossSite = s.manager.forRequest(s.request(undefined, { method: 'POST', headers: { ...form, origin: 'https://evil.example' } }));
    assert.equal((await crossSite.checkCsrf(() => null)).ok, false);
    const noToken = s.manager.forRequest(s.request(undefined, { method: 'POST', headers: { ...form, origin: 'http://localhost' } }));
    assert.equal((await noToken.checkCsrf(() => 'x'.repeat(43))).ok, false);
    const refused = s.take();
    assert.deepEqual(refused.map(([name, p]) => [name, p.request]), [['csrfRefused', crossSite.request], ['csrfRefused', noToken.request]]);
    assert.match(refused[0]![1].reason, /cross-site request refused \(Origin https:\/\/evil\.example\)/);
    assert.match(refused[1]![1].reason, /CSRF token/);

    const laptop = await s.device();
    const page = s.manager.forRequest(s.request(laptop.cookie));
    const token = await page.csrfToken();
    s.take();
    const good = s.manager.forRequest(s.request(laptop.cookie, { method: 'POST', headers: { ...form, origin: 'http://localhost' } }));
    assert.deepEqual(await good.checkCsrf(() => token), { ok: true });
    assert.deepEqual(await s.manager.forRequest(s.request()).checkCsrf(() => null), { ok: true }); // GET
    assert.deepEqual(s.take(), []);
  });
});
