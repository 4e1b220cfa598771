/**
 * The opt-in per-instance session cache (`sessionCache: { ttl, maxEntries? }`, src/session-cache.ts):
 * option validation (the 5 s bound of R-07), hits and the ttl on an injected clock, the
 * secret still checked on a hit, immediate invalidation by writes made through the same manager,
 * the bounded lag of writes made by another instance (two managers on one SQLite file), no
 * resurrection by a read that overlapped a logout (R-06, SEC-34), the maxEntries bound, and the
 * user cached with a session being dropped with it.
 *
 * @module test/session-cache
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLoginManager, type LoginManager } from '../src/manager.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';
import { SessionCache } from '../src/session-cache.ts';
import { SqliteStore } from '../src/sqlite/index.ts';
import type { NewRememberToken, NewSession, Session, SessionUpdate, Store } from '../src/store.ts';
import { loginTestUser } from '../src/testing/index.ts';
import { createTestClock, type TestClock } from '../src/testing/index.ts';

interface User {
  readonly id: string;
  readonly name: string;
  readonly active?: boolean;
}

type CacheOption = { ttl: number | string; maxEntries?: number } | null | undefined;

const SECRET = 's'.repeat(32);
const START = Date.UTC(2030, 0, 1);
const TTL = 5_000;
const ALICE: User = { id: 'alice', name: 'Alice' };
const BOB: User = { id: 'bob', name: 'Bob' };

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

/** A promise that settles when `resolve` is called. */
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A call held open by {@link ProbeStore}: `reached` resolves when it gets there, `release` lets it go on. */
interface Hold {
  readonly reached: Promise<void>;
  readonly release: () => void;
}

type HeldCall = 'getSession' | 'deleteSession' | 'deleteUserSessions';

/**
 * A store in front of another that counts `getSession` calls and can hold one call open, as a
 * slow network round trip would: a held `getSession` reads the row from the inner store at once
 * but hands it back only when released; a held delete reaches the inner store only when released
 * (it is "in flight" meanwhile).
 */
class ProbeStore implements Store {
  reads = 0;
  readonly #inner: Store;
  readonly #holds = new Map<HeldCall, { reached: Deferred; release: Deferred }>();

  constructor(inner: Store) {
    this.#inner = inner;
  }

  /** Holds the next call of `method`. */
  holdNext(method: HeldCall): Hold {
    const hold = { reached: deferred(), release: deferred() };
    this.#holds.set(method, hold);
    return { reached: hold.reached.promise, release: hold.release.resolve };
  }

  async #held(method: HeldCall): Promise<void> {
    const hold = this.#holds.get(method);
    if (hold === undefined) return;
    this.#holds.delete(method);
    hold.reached.resolve();
    await hold.release.promise;
  }

  async getSession(id: string): Promise<Session | null> {
    this.reads++;
    const row = await this.#inner.getSession(id);
    await this.#held('getSession');
    return row;
  }

  async deleteSession(id: string): Promise<boolean> {
    await this.#held('deleteSession');
    return this.#inner.deleteSession(id);
  }

  async deleteUserSessions(userId: string, exceptId?: string): Promise<number> {
    await this.#held('deleteUserSessions');
    return this.#inner.deleteUserSessions(userId, exceptId);
  }

  createSession(session: NewSession): Promise<Session> {
    return this.#inner.createSession(session);
  }
  updateSession(id: string, update: SessionUpdate): Promise<Session | null> {
    return this.#inner.updateSession(id, update);
  }
  listUserSessions(userId: string): Promise<Session[]> {
    return this.#inner.listUserSessions(userId);
  }
  createRememberToken(token: NewRememberToken): Promise<{ expiresAt: number }> {
    return this.#inner.createRememberToken(token);
  }
  useRememberToken(series: string, validatorHash: string, nextValidatorHash: string, grace: number) {
    return this.#inner.useRememberToken(series, validatorHash, nextValidatorHash, grace);
  }
  deleteRememberToken(series: string): Promise<boolean> {
    return this.#inner.deleteRememberToken(series);
  }
  deleteUserRememberTokens(userId: string, exceptSeries?: string): Promise<number> {
    return this.#inner.deleteUserRememberTokens(userId, exceptSeries);
  }
}

/** One app instance: a manager on a probed store, a user table, and a counting `loadUser`. */
interface Instance {
  readonly manager: LoginManager<User>;
  readonly store: ProbeStore;
  readonly clock: TestClock;
  readonly users: Map<string, User>;
  /** How many times `loadUser` ran. */
  loads: number;
  /** When set, `loadUser` reads the user, then waits for it before answering (a slow round trip). */
  loadGate: Promise<void> | null;
}

function instance(sessionCache: CacheOption, options: { inner?: Store; clock?: TestClock } = {}): Instance {
  const clock = options.clock ?? createTestClock(START);
  const store = new ProbeStore(options.inner ?? new MemoryStore({ now: clock.now }));
  const users = new Map([ALICE, BOB].map((u) => [u.id, u]));
  const self: Instance = {
    store,
    clock,
    users,
    loads: 0,
    loadGate: null,
    manager: createLoginManager<User>({
      store,
      secret: SECRET,
      now: clock.now,
      sessionCache,
      loadUser: async (id) => {
        self.loads++;
        const user = users.get(id) ?? null;
        if (self.loadGate !== null) await self.loadGate;
        return user;
      },
    }),
  };
  return self;
}

/** Logs `user` in on `manager` and returns the Cookie header value (`session=id.secret`). */
async function login(manager: LoginManager<User>, user: User): Promise<string> {
  const cookie = await loginTestUser(manager, user, { userAgent: 'ua' });
  assert.match(cookie, /^session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  return cookie.split(';')[0] as string;
}

/** The session id inside a `session=id.secret` cookie. */
function sessionId(cookie: string): string {
  return cookie.slice('session='.length, 'session='.length + 22);
}

function request(cookie: string): Request {
  return new Request('http://localhost/x', { headers: { cookie, 'user-agent': 'ua' } });
}

/** Who a request with `cookie` is, and the cookies its answer would set. */
async function visit(manager: LoginManager<User>, cookie: string): Promise<{ user: User | null; setCookies: string[] }> {
  const auth = manager.forRequest(request(cookie));
  const user = await auth.user();
  return { user, setCookies: auth.setCookies() };
}

async function whoIs(manager: LoginManager<User>, cookie: string): Promise<string | null> {
  return (await visit(manager, cookie)).user?.id ?? null;
}

/** True when the answer clears the session cookie. */
function clearsSession(setCookies: string[]): boolean {
  return setCookies.some((c) => c.startsWith('session=;') && /Max-Age=0/i.test(c));
}

/** The latest session cookie a request set, as a Cookie header value. */
function newSessionCookie(setCookies: string[]): string {
  const set = setCookies.find((c) => c.startsWith('session=') && !c.startsWith('session=;'));
  assert.ok(set, `no new session cookie in ${JSON.stringify(setCookies)}`);
  return set.slice(0, set.indexOf(';'));
}

function sessionRow(id: string, userId: string): Session {
  return Object.freeze({
    id,
    secretHash: 'h'.repeat(43),
    userId,
    fresh: true,
    rememberSeries: null,
    identifier: null,
    userAgent: null,
    ipAddress: null,
    createdAt: START,
    authenticatedAt: START,
    lastSeenAt: START,
    expiresAt: START + 1_800_000,
    absoluteExpiresAt: START + 86_400_000,
    methods: [],
  });
}

describe('sessionCache option (R-07: per-instance cache ttl ≤ 5 s, documented)', () => {
  const base = () => ({ store: new MemoryStore(), secret: SECRET, loadUser: () => null });

  it('R-07: a ttl over 5 s, of 0 or not a duration, and a maxEntries that is not a positive integer throw TypeError at createLoginManager', () => {
    const bad: unknown[] = [
      { ttl: '6s' },
      { ttl: 5_001 },
      { ttl: '5001ms' },
      { ttl: 0 },
      { ttl: '0s' },
      { ttl: 'x' },
      { ttl: -1 },
      { ttl: 1.5 },
      {},
      { ttl: '1s', maxEntries: 0 },
      { ttl: '1s', maxEntries: 1.5 },
      { ttl: '1s', maxEntries: -1 },
      { ttl: '1s', maxEntries: Infinity },
      { ttl: '1s', maxEntries: '10' },
      '5s',
      5_000,
      true,
    ];
    for (const sessionCache of bad) {
      assert.throws(() => createLoginManager({ ...base(), sessionCache } as never), TypeError, JSON.stringify(sessionCache));
    }
    assert.throws(() => createLoginManager({ ...base(), sessionCache: { ttl: '6s' } }), /R-07/);
  });

  it('R-07: 5 s (the bound itself), 1 ms, null and absent are accepted; the resolved option is frozen, in ms, and not the caller\'s object', () => {
    const option = { ttl: '5s', maxEntries: 3 };
    const manager = createLoginManager({ ...base(), sessionCache: option });
    assert.deepEqual(manager.options.sessionCache, { ttl: 5_000, maxEntries: 3 });
    assert.ok(Object.isFrozen(manager.options.sessionCache));
    option.ttl = '1s';
    assert.equal(manager.options.sessionCache?.ttl, 5_000);

    assert.deepEqual(createLoginManager({ ...base(), sessionCache: { ttl: 5_000 } }).options.sessionCache, { ttl: 5_000, maxEntries: 10_000 });
    assert.deepEqual(createLoginManager({ ...base(), sessionCache: { ttl: '5000ms' } }).options.sessionCache, { ttl: 5_000, maxEntries: 10_000 });
    assert.deepEqual(createLoginManager({ ...base(), sessionCache: { ttl: 1 } }).options.sessionCache, { ttl: 1, maxEntries: 10_000 });
    assert.equal(createLoginManager({ ...base(), sessionCache: null }).options.sessionCache, null);
    assert.equal(createLoginManager(base()).options.sessionCache, null);
  });
});

describe('session cache hits and ttl', () => {
  const N = 5;

  it('with a cache, N requests for one session read the store once and call loadUser once within the ttl', async () => {
    const app = instance({ ttl: TTL });
    const cookie = await login(app.manager, ALICE);
    for (let i = 0; i < N; i++) {
      assert.equal(await whoIs(app.manager, cookie), 'alice');
      app.clock.advance(100);
    }
    assert.equal(app.store.reads, 1);
    assert.equal(app.loads, 1);
  });

  it('without a cache (the default), each of N requests reads the store and calls loadUser', async () => {
    for (const option of [null, undefined]) {
      const app = instance(option);
      const cookie = await login(app.manager, ALICE);
      for (let i = 0; i < N; i++) assert.equal(await whoIs(app.manager, cookie), 'alice');
      assert.equal(app.store.reads, N);
      assert.equal(app.loads, N);
    }
  });

  it('R-07: an entry serves until ttl ms have passed on the manager\'s clock; at ttl the next request reads the store and calls loadUser again', async () => {
    const app = instance({ ttl: TTL });
    const cookie = await login(app.manager, ALICE);
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    app.clock.advance(TTL - 1);
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.deepEqual([app.store.reads, app.loads], [1, 1]);
    app.clock.advance(1);
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.deepEqual([app.store.reads, app.loads], [2, 2]);
    // and the re-read is cached again for another ttl
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.deepEqual([app.store.reads, app.loads], [2, 2]);
  });

  it('a wrong secret with a cached session id is refused on a cache hit (the secret is compared every request) and the cookie is cleared', async () => {
    const app = instance({ ttl: TTL });
    const cookie = await login(app.manager, ALICE);
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    const forged = `session=${sessionId(cookie)}.${randomBytes(32).toString('base64url')}`; // same id, another secret
    const refused = await visit(app.manager, forged);
    assert.equal(refused.user, null);
    assert.ok(clearsSession(refused.setCookies), JSON.stringify(refused.setCookies));
    assert.equal(app.store.reads, 1, 'the forged cookie was answered from the cache');
    // the cached entry still serves the real cookie
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.deepEqual([app.store.reads, app.loads], [1, 1]);
  });
});

describe('writes through the same manager take effect on it at once (R-06, SEC-34)', () => {
  /** An instance with a cache and a warmed-up session of Alice's. */
  async function warm(): Promise<{ app: Instance; cookie: string }> {
    const app = instance({ ttl: TTL });
    const cookie = await login(app.manager, ALICE);
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.equal(app.store.reads, 1, 'the session is cached');
    return { app, cookie };
  }

  it('SEC-34: logout → the same cookie is anonymous on the very next request, and cleared', async () => {
    const { app, cookie } = await warm();
    await app.manager.forRequest(request(cookie)).logout();
    const after = await visit(app.manager, cookie);
    assert.equal(after.user, null);
    assert.ok(clearsSession(after.setCookies));
  });

  it('SEC-34: manager.revokeSession → anonymous on the very next request', async () => {
    const { app, cookie } = await warm();
    assert.equal(await app.manager.revokeSession('alice', sessionId(cookie)), true);
    assert.equal(await whoIs(app.manager, cookie), null);
  });

  it('SEC-34: manager.revokeUserSessions (log out everywhere) → every session of the user is anonymous on the very next request', async () => {
    const { app, cookie } = await warm();
    const other = await login(app.manager, ALICE);
    const bob = await login(app.manager, BOB);
    assert.equal(await whoIs(app.manager, other), 'alice');
    assert.equal(await whoIs(app.manager, bob), 'bob');
    assert.equal((await app.manager.revokeUserSessions('alice')).sessions, 2);
    assert.equal(await whoIs(app.manager, cookie), null);
    assert.equal(await whoIs(app.manager, other), null);
    assert.equal(await whoIs(app.manager, bob), 'bob', 'another user\'s session is untouched');
  });

  it('SEC-34: auth.revokeOtherSessions → the other session is anonymous at once; this browser keeps its login under a new token', async () => {
    const { app, cookie } = await warm();
    const other = await login(app.manager, ALICE);
    assert.equal(await whoIs(app.manager, other), 'alice');
    const auth = app.manager.forRequest(request(cookie));
    assert.equal(await auth.revokeOtherSessions(), 1);
    const rotated = newSessionCookie(auth.setCookies());
    assert.equal(await whoIs(app.manager, other), null);
    assert.equal(await whoIs(app.manager, cookie), null, 'the replaced token is refused too');
    assert.equal(await whoIs(app.manager, rotated), 'alice');
  });

  it('SEC-34: auth.rotateSession → the old token is anonymous at once', async () => {
    const { app, cookie } = await warm();
    const auth = app.manager.forRequest(request(cookie));
    assert.equal(await auth.rotateSession(), true);
    const rotated = newSessionCookie(auth.setCookies());
    assert.equal(await whoIs(app.manager, cookie), null);
    assert.equal(await whoIs(app.manager, rotated), 'alice');
  });
});

describe('two instances on one SQLite file: the cross-instance lag is bounded by the ttl (R-07)', () => {
  /** Two managers A and B, each on its own SqliteStore connection to one temp file, on one clock. */
  async function withTwoInstances(cacheB: CacheOption, test: (a: Instance, b: Instance) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-session-cache-'));
    const clock = createTestClock(START);
    const file = join(dir, 'sessions.db');
    const storeA = new SqliteStore({ path: file, now: clock.now, sweepInterval: 0 });
    const storeB = new SqliteStore({ path: file, now: clock.now, sweepInterval: 0 });
    try {
      await test(instance({ ttl: TTL }, { inner: storeA, clock }), instance(cacheB, { inner: storeB, clock }));
    } finally {
      await storeA.close();
      await storeB.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('R-07: B, with a cache, keeps accepting a session logged out on A for less than ttl (the documented lag), and refuses it once ttl has passed', () =>
    withTwoInstances({ ttl: TTL }, async (a, b) => {
      const cookie = await login(a.manager, ALICE);
      assert.equal(await whoIs(b.manager, cookie), 'alice'); // cached on B
      await a.manager.forRequest(request(cookie)).logout();
      assert.equal(await whoIs(a.manager, cookie), null, 'A refuses at once');
      assert.equal(await whoIs(b.manager, cookie), 'alice', 'documented lag: B still serves its cached entry');
      b.clock.advance(TTL - 1);
      assert.equal(await whoIs(b.manager, cookie), 'alice', 'documented lag: up to ttl');
      b.clock.advance(1);
      const after = await visit(b.manager, cookie);
      assert.equal(after.user, null, 'B refuses once ttl has passed');
      assert.ok(clearsSession(after.setCookies));
      assert.equal(b.store.reads, 2);
    }));

  it('R-07: the same lag applies to "log out everywhere" on A, and ends at ttl', () =>
    withTwoInstances({ ttl: TTL }, async (a, b) => {
      const cookie = await login(a.manager, ALICE);
      assert.equal(await whoIs(b.manager, cookie), 'alice');
      await a.manager.revokeUserSessions('alice');
      assert.equal(await whoIs(b.manager, cookie), 'alice', 'documented lag');
      b.clock.advance(TTL);
      assert.equal(await whoIs(b.manager, cookie), null);
    }));

  it('R-07: B without a cache (the default) refuses a session logged out on A at the very next request', () =>
    withTwoInstances(null, async (a, b) => {
      const cookie = await login(a.manager, ALICE);
      assert.equal(await whoIs(b.manager, cookie), 'alice');
      assert.equal(await whoIs(b.manager, cookie), 'alice');
      await a.manager.forRequest(request(cookie)).logout();
      assert.equal(await whoIs(b.manager, cookie), null);
    }));
});

describe('no resurrection by a read that overlapped an invalidation (R-06, SEC-34)', () => {
  const invalidations: Array<[string, HeldCall, (app: Instance, cookie: string) => Promise<unknown>]> = [
    ['logout', 'deleteSession', (app, cookie) => app.manager.forRequest(request(cookie)).logout()],
    ['manager.revokeSession', 'deleteSession', (app, cookie) => app.manager.revokeSession('alice', sessionId(cookie))],
    ['manager.revokeUserSessions', 'deleteUserSessions', (app) => app.manager.revokeUserSessions('alice')],
  ];

  for (const [name, , invalidate] of invalidations) {
    it(`R-06 / SEC-34: a getSession read that started before ${name} on the same instance does not fill the cache after it`, async () => {
      const app = instance({ ttl: TTL });
      const cookie = await login(app.manager, ALICE);
      const held = app.store.holdNext('getSession');
      const slow = whoIs(app.manager, cookie); // reads the row, then waits
      await held.reached;
      await invalidate(app, cookie); // the row is gone from the store
      held.release();
      await slow; // it began before the invalidation: whatever it answers, it must not be remembered
      assert.equal(await whoIs(app.manager, cookie), null, 'the next request is anonymous');
      assert.equal(app.clock.now(), START, 'within the ttl, so only the cache could have answered otherwise');
    });
  }

  for (const [name, write, invalidate] of invalidations) {
    it(`R-06 / SEC-34: a read that starts and ends while ${name}'s ${write} is in flight does not outlive it in the cache`, async () => {
      const app = instance({ ttl: TTL });
      const cookie = await login(app.manager, ALICE);
      assert.equal(await whoIs(app.manager, cookie), 'alice'); // cached
      const held = app.store.holdNext(write);
      const ending = invalidate(app, cookie);
      await held.reached; // the entry was dropped, the row is still in the store
      assert.equal(await whoIs(app.manager, cookie), 'alice', 'a read during the write still sees the row');
      held.release();
      await ending;
      assert.equal(await whoIs(app.manager, cookie), null, 'the next request is anonymous');
    });
  }
});

describe('the user cached with a session', () => {
  it('is dropped with it: after revokeUserSessions keeping this session, the next request calls loadUser again', async () => {
    const app = instance({ ttl: TTL });
    const cookie = await login(app.manager, ALICE);
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.equal(app.loads, 1);
    await app.manager.revokeUserSessions('alice', { exceptSessionId: sessionId(cookie) });
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    assert.equal(app.loads, 2);
  });

  it('SEC-32: a user deactivated, then logged out everywhere but this session, is refused at the next request, not served from the cache', async () => {
    const app = instance({ ttl: TTL });
    const cookie = await login(app.manager, ALICE);
    assert.equal(await whoIs(app.manager, cookie), 'alice');
    app.users.set('alice', { ...ALICE, active: false });
    assert.equal(await whoIs(app.manager, cookie), 'alice', 'a change behind latchkey\'s back lags by up to ttl (documented)');
    await app.manager.revokeUserSessions('alice', { exceptSessionId: sessionId(cookie) });
    assert.equal(await whoIs(app.manager, cookie), null);
  });

  it('SEC-32: a loadUser that read the user before a deactivation and answers after it does not put the stale user into the new entry', async () => {
    const app = instance({ ttl: TTL });
    const cookie = await login(app.manager, ALICE);
    const gate = deferred();
    app.loadGate = gate.promise;
    const slow = whoIs(app.manager, cookie); // session cached, loadUser read the active user and waits
    while (app.loads === 0) await new Promise((r) => setImmediate(r));
    app.loadGate = null;
    app.users.set('alice', { ...ALICE, active: false });
    await app.manager.revokeUserSessions('alice', { exceptSessionId: sessionId(cookie) });
    assert.equal(await whoIs(app.manager, cookie), null, 'a new entry, with the inactive user');
    gate.resolve();
    assert.equal(await slow, 'alice', 'the slow request began before the deactivation');
    assert.equal(await whoIs(app.manager, cookie), null, 'the stale user went to the dropped entry, not the new one');
    assert.equal(app.loads, 2);
  });
});

describe('SessionCache', () => {
  it('holds at most maxEntries, dropping the oldest first', () => {
    const clock = createTestClock(START);
    const cache = new SessionCache<User>(TTL, 2, clock.now);
    const [s1, s2, s3] = ['s1', 's2', 's3'].map((id) => sessionRow(id, 'alice')) as [Session, Session, Session];
    cache.put(s1, cache.begin());
    cache.put(s2, cache.begin());
    assert.equal(cache.size, 2);
    cache.put(s3, cache.begin());
    assert.equal(cache.size, 2);
    assert.equal(cache.get('s1'), undefined);
    assert.equal(cache.get('s2')?.session, s2);
    assert.equal(cache.get('s3')?.session, s3);
    // a put of a held id moves it last: s2 is now the oldest
    cache.put(s2, cache.begin());
    cache.put(s1, cache.begin());
    assert.equal(cache.size, 2);
    assert.equal(cache.get('s3'), undefined);
    assert.ok(cache.get('s1') && cache.get('s2'));
  });

  it('R-07: an entry expires at exactly ttl after it was put, and is then removed', () => {
    const clock = createTestClock(START);
    const cache = new SessionCache<User>(TTL, 10, clock.now);
    cache.put(sessionRow('s1', 'alice'), cache.begin());
    clock.advance(TTL - 1);
    assert.ok(cache.get('s1'));
    clock.advance(1);
    assert.equal(cache.get('s1'), undefined);
    assert.equal(cache.size, 0);
  });

  it('R-06: a put from a read that started before a drop or dropUser is ignored; drop and dropUser remove only what they name', () => {
    const cache = new SessionCache<User>(TTL, 10, createTestClock(START).now);
    const before = cache.begin();
    cache.drop('unrelated');
    cache.put(sessionRow('s1', 'alice'), before);
    assert.equal(cache.size, 0);
    const before2 = cache.begin();
    cache.dropUser('nobody');
    cache.put(sessionRow('s1', 'alice'), before2);
    assert.equal(cache.size, 0);

    for (const [id, user] of [['a1', 'alice'], ['a2', 'alice'], ['b1', 'bob']] as const) cache.put(sessionRow(id, user), cache.begin());
    cache.drop('a1');
    assert.deepEqual([cache.get('a1'), !!cache.get('a2'), !!cache.get('b1')], [undefined, true, true]);
    cache.dropUser('alice');
    assert.deepEqual([cache.get('a2'), !!cache.get('b1')], [undefined, true]);
  });
});

describe('known issue: the cross-instance bound counts from the end of the read, not its start', () => {
  // src/session-cache.ts puts an entry with `until = now() + ttl` taken when the store's answer
  // arrives. A read that started before a logout on another instance, and took d ms to answer,
  // keeps the logged-out session accepted until ttl + d after the logout; d is bounded only by
  // storeTimeout (2 s by default, no upper limit), so the R-07 bound of 5 s can be exceeded.
  // Counting from the start of the read (`until = startedAt + ttl`) makes this pass.
  it('R-07: a slow read on B that overlapped a logout on A is accepted no later than ttl after the logout', async () => {
    const clock = createTestClock(START);
    const shared = new MemoryStore({ now: clock.now });
    const a = instance({ ttl: TTL }, { inner: shared, clock });
    const b = instance({ ttl: TTL }, { inner: shared, clock });
    const cookie = await login(a.manager, ALICE);
    const held = b.store.holdNext('getSession');
    const slow = whoIs(b.manager, cookie);
    await held.reached; // B has read the row, at START
    await a.manager.forRequest(request(cookie)).logout(); // A logs out, at START
    clock.advance(1_000); // B's answer arrives 1 s later
    held.release();
    assert.equal(await slow, 'alice', 'the slow request began before the logout');
    clock.advance(TTL - 1_000); // ttl after the logout
    assert.equal(await whoIs(b.manager, cookie), null);
  });
});
