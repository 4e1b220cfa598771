/**
 * The login throttle (SEC-17, SEC-51, SEC-53, SEC-55, SEC-69) on real stores, SQLite in memory and
 * the in-memory test store, with one injected clock shared by the store and the throttle. Each
 * test builds its own store and throttle. The tests play the attacker: guessing one account,
 * spraying accounts from one IP, rotating through an IPv6 /64, probing which accounts exist.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import type { CounterStore } from '../src/counter-store.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';
import { SqliteStore } from '../src/sqlite/index.ts';
import { createLoginThrottle } from '../src/throttle.ts';
import type { LoginThrottle, ThrottleVerdict } from '../src/login-throttle.ts';
import type { LoginThrottleOptions } from '../src/throttle-options.ts';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const SECRET = 'throttle-test-secret-of-at-least-32-bytes';

type ClosableStore = CounterStore & { close(): Promise<void> };

const STORES: ReadonlyArray<readonly [string, (now: () => number) => ClosableStore]> = [
  ['SqliteStore(:memory:)', (now) => new SqliteStore({ path: ':memory:', now, sweepInterval: 0 })],
  ['MemoryStore', (now) => new MemoryStore({ now })],
];

interface Setup {
  readonly throttle: LoginThrottle;
  readonly store: ClosableStore;
  readonly clock: { time: number; advance(ms: number): void };
}

function refused(retryAfter: number, reason: 'account' | 'ip' | 'locked'): ThrottleVerdict {
  return { ok: false, retryAfter, reason };
}

for (const [storeName, makeStore] of STORES) {
  describe(`createLoginThrottle on ${storeName}`, () => {
    async function withThrottle(test: (setup: Setup) => Promise<void>, options: Partial<LoginThrottleOptions> = {}): Promise<void> {
      const clock = {
        time: T0,
        advance(ms: number) {
          clock.time += ms;
        },
      };
      const store = makeStore(() => clock.time);
      const throttle = createLoginThrottle({ store, secret: SECRET, now: () => clock.time, ...options });
      try {
        await test({ throttle, store, clock });
      } finally {
        await store.close();
      }
    }

    async function fail(throttle: LoginThrottle, account: string, ip: string | null, times: number): Promise<void> {
      for (let i = 0; i < times; i++) await throttle.recordFailure({ account, ip });
    }

    describe('per account (SEC-51)', () => {
      it('lets five failures through, then makes the next attempt wait 1 s, then 2 s, then 4 s after the latest failure (SEC-51)', () =>
        withThrottle(async ({ throttle, clock }) => {
          const attempt = { account: 'alice@example.com', ip: null };
          for (let i = 0; i < 5; i++) {
            assert.deepEqual(await throttle.check(attempt), { ok: true }, `attempt ${i + 1}`);
            await throttle.recordFailure(attempt);
          }
          assert.deepEqual(await throttle.check(attempt), refused(1, 'account'));
          clock.advance(SECOND - 1);
          assert.deepEqual(await throttle.check(attempt), refused(1, 'account'));
          clock.advance(1);
          assert.deepEqual(await throttle.check(attempt), { ok: true });
          await throttle.recordFailure(attempt); // 6th
          assert.deepEqual(await throttle.check(attempt), refused(2, 'account'));
          clock.advance(2 * SECOND);
          assert.deepEqual(await throttle.check(attempt), { ok: true });
          await throttle.recordFailure(attempt); // 7th
          assert.deepEqual(await throttle.check(attempt), refused(4, 'account'));
          clock.advance(4 * SECOND - 1);
          assert.equal((await throttle.check(attempt)).ok, false);
          clock.advance(1);
          assert.deepEqual(await throttle.check(attempt), { ok: true });
        }));

      it('doubles the delay with each failure and caps it at 15 minutes (SEC-51, §0.1)', () =>
        withThrottle(async ({ throttle }) => {
          const attempt = { account: 'alice@example.com', ip: null };
          await fail(throttle, attempt.account, null, 4);
          const waits: number[] = [];
          for (let failures = 5; failures <= 20; failures++) {
            await throttle.recordFailure(attempt);
            const verdict = await throttle.check(attempt);
            assert.equal(verdict.ok, false);
            if (!verdict.ok) waits.push(verdict.retryAfter);
          }
          assert.deepEqual(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900, 900, 900]);
        }));

      it('a success resets the count: five failures are free again (SEC-51)', () =>
        withThrottle(async ({ throttle }) => {
          const attempt = { account: 'alice@example.com', ip: null };
          await fail(throttle, attempt.account, null, 8);
          assert.equal((await throttle.check(attempt)).ok, false);
          await throttle.recordSuccess(attempt);
          assert.deepEqual(await throttle.check(attempt), { ok: true });
          await fail(throttle, attempt.account, null, 4);
          assert.deepEqual(await throttle.check(attempt), { ok: true });
          assert.equal((await throttle.recordFailure(attempt)).accountFailures, 5);
        }));

      it('stops at 100 consecutive failures: attempt 101 without a trusted device is refused even once every wait has passed, until a reset clears it (SEC-51)', () =>
        withThrottle(async ({ throttle, clock }) => {
          const attempt = { account: 'alice@example.com', ip: null };
          await fail(throttle, attempt.account, null, 99);
          clock.advance(15 * MINUTE);
          assert.deepEqual(await throttle.check(attempt), { ok: true }, 'attempt 100 may still try');
          assert.equal((await throttle.recordFailure(attempt)).accountFailures, 100);
          assert.deepEqual(await throttle.check(attempt), refused(900, 'locked'));
          clock.advance(16 * MINUTE);
          assert.deepEqual(await throttle.reserve(attempt), refused(900, 'locked'), 'attempt 101, the wait long over');
          await throttle.recordSuccess(attempt); // what a password reset and the unlock command call
          assert.deepEqual(await throttle.check(attempt), { ok: true });
        }));

      it('finding 8, the hard stop is no DoS: an attacker exhausts the account, and the owner presenting the device token of an earlier login gets through at once (SEC-52)', () =>
        withThrottle(async ({ throttle }) => {
          const owner = await throttle.reserve({ account: 'id:7', ip: '198.51.100.1' });
          assert.ok(owner.ok && !owner.trusted);
          const { device } = await owner.succeed();
          for (let i = 0; i < 100; i++) await throttle.recordFailure({ account: 'id:7', ip: `203.0.113.${i}` }); // the attacker
          assert.deepEqual(await throttle.reserve({ account: 'id:7', ip: '198.51.100.1' }), refused(900, 'locked'), 'without the token');
          assert.deepEqual(await throttle.reserve({ account: 'id:7', ip: '198.51.100.1', device: `${device}x` }), refused(900, 'locked'), 'a tampered token');
          assert.deepEqual(await throttle.reserve({ account: 'id:8', ip: '198.51.100.1', device }).then((r) => r.ok && r.trusted), false, 'another account');
          const trusted = await throttle.reserve({ account: 'id:7', ip: '198.51.100.1', device });
          assert.ok(trusted.ok && trusted.trusted, 'the owner is not refused');
          const next = await trusted.succeed();
          assert.notEqual(next.device, device, 'a new token at each login');
          assert.deepEqual(await throttle.check({ account: 'id:7', ip: null }), { ok: true }, 'the success reset the counter (SEC-51)');
        }));

      it('finding 8: a device token has its own small limit: after 10 failures with it, the account limits apply to it again (SEC-52)', () =>
        withThrottle(async ({ throttle }) => {
          const first = await throttle.reserve({ account: 'id:7', ip: null });
          assert.ok(first.ok);
          const { device } = await first.succeed();
          for (let i = 1; i <= 10; i++) {
            const attempt = await throttle.reserve({ account: 'id:7', ip: null, device });
            assert.ok(attempt.ok && attempt.trusted, `attempt ${i}`);
            assert.deepEqual({ ...(await attempt.fail()) }, { accountFailures: null, ipFailures: null, deviceFailures: i });
          }
          assert.deepEqual(await throttle.check({ account: 'id:7', ip: null }), { ok: true }, 'the token failures did not count against the account');
          const eleventh = await throttle.reserve({ account: 'id:7', ip: null, device });
          assert.ok(eleventh.ok && !eleventh.trusted);
          assert.equal((await eleventh.fail()).accountFailures, 1);
        }));

      it('finding 8: a device token exempts for device.lifetime after its login, not 1 ms more (SEC-52)', () =>
        withThrottle(
          async ({ throttle, clock }) => {
            const first = await throttle.reserve({ account: 'id:7', ip: null });
            assert.ok(first.ok);
            const { device } = await first.succeed();
            await fail(throttle, 'id:7', null, 100);
            clock.advance(DAY - 1);
            assert.equal((await throttle.check({ account: 'id:7', ip: null, device })).ok, true);
            clock.advance(1);
            assert.deepEqual(await throttle.check({ account: 'id:7', ip: null, device }), refused(900, 'locked'));
          },
          { device: { lifetime: '1d' } },
        ));

      it('never under-counts: 200 parallel failures on one account get the counts 1..200, and the account is locked (SEC-51, R-05)', () =>
        withThrottle(async ({ throttle }) => {
          const attempt = { account: 'alice@example.com', ip: '198.51.100.7' };
          const results = await Promise.all(Array.from({ length: 200 }, () => throttle.recordFailure(attempt)));
          const expected = Array.from({ length: 200 }, (_, i) => i + 1);
          assert.deepEqual(results.map((r) => r.accountFailures as number).sort((a, b) => a - b), expected);
          assert.deepEqual(results.map((r) => r.ipFailures as number).sort((a, b) => a - b), expected);
          assert.deepEqual(await throttle.check({ account: attempt.account, ip: null }), refused(900, 'locked'));
        }));

      it("forgets an account's failures 30 days after the latest one (account.ttl)", () =>
        withThrottle(async ({ throttle, clock }) => {
          await fail(throttle, 'alice@example.com', null, 4);
          clock.advance(30 * DAY - 1);
          assert.equal((await throttle.recordFailure({ account: 'alice@example.com', ip: null })).accountFailures, 5);
          clock.advance(30 * DAY);
          assert.equal((await throttle.recordFailure({ account: 'alice@example.com', ip: null })).accountFailures, 1);
        }));

      it('follows custom limits: 3 free failures, 10 s doubling to 1 min, locked at 10', () =>
        withThrottle(
          async ({ throttle }) => {
            const attempt = { account: 'alice@example.com', ip: null };
            await fail(throttle, attempt.account, null, 2);
            assert.deepEqual(await throttle.check(attempt), { ok: true });
            const verdicts: ThrottleVerdict[] = [];
            for (let failures = 3; failures <= 10; failures++) {
              await throttle.recordFailure(attempt);
              verdicts.push(await throttle.check(attempt));
            }
            assert.deepEqual(verdicts, [
              refused(10, 'account'),
              refused(20, 'account'),
              refused(40, 'account'),
              refused(60, 'account'),
              refused(60, 'account'),
              refused(60, 'account'),
              refused(60, 'account'),
              refused(60, 'locked'),
            ]);
          },
          { account: { freeFailures: 3, baseDelay: '10s', maxDelay: '1m', hardLimit: 10 } },
        ));
    });

    describe('per IP (SEC-53)', () => {
      it('refuses every account from an IP at its 50th failure, until 15 minutes after the last one (SEC-53)', () =>
        withThrottle(async ({ throttle, clock }) => {
          const ip = '203.0.113.9';
          for (let i = 1; i <= 49; i++) {
            await throttle.recordFailure({ account: `user${i}@example.com`, ip }); // password spraying
            clock.advance(10 * SECOND);
          }
          assert.deepEqual(await throttle.check({ account: 'next@example.com', ip }), { ok: true });
          assert.equal((await throttle.recordFailure({ account: 'user50@example.com', ip })).ipFailures, 50);
          assert.deepEqual(await throttle.check({ account: 'next@example.com', ip }), refused(900, 'ip'));
          assert.deepEqual(await throttle.check({ account: 'next@example.com', ip: '203.0.113.10' }), { ok: true });
          clock.advance(15 * MINUTE - SECOND);
          assert.deepEqual(await throttle.check({ account: 'next@example.com', ip }), refused(1, 'ip'));
          clock.advance(SECOND);
          assert.deepEqual(await throttle.check({ account: 'next@example.com', ip }), { ok: true });
          assert.equal((await throttle.recordFailure({ account: 'next@example.com', ip })).ipFailures, 1);
        }));

      it('groups IPv6 clients by /64: rotating addresses inside one /64 shares a counter, another /64 has its own (SEC-53)', () =>
        withThrottle(async ({ throttle }) => {
          const forms = [
            (i: number) => `2001:db8:1:2::${i.toString(16)}`,
            (i: number) => `2001:0DB8:0001:0002:${i.toString(16)}:0:0:1`,
            (i: number) => `2001:db8:1:2:ffff:${i.toString(16)}::`,
            (i: number) => `2001:db8:1:2::${i.toString(16)}%eth0`,
            (i: number) => `2001:db8:1:2::192.0.2.${i}`,
          ];
          for (let i = 1; i <= 50; i++) {
            const ip = (forms[i % forms.length] as (i: number) => string)(i);
            await throttle.recordFailure({ account: `user${i}@example.com`, ip });
          }
          const account = 'next@example.com';
          assert.deepEqual(await throttle.check({ account, ip: '2001:db8:1:2:dead:beef:cafe:1' }), refused(900, 'ip'));
          assert.deepEqual(await throttle.check({ account, ip: '2001:db8:1:2::' }), refused(900, 'ip'));
          assert.deepEqual(await throttle.check({ account, ip: '2001:db8:1:3::1' }), { ok: true });
          assert.deepEqual(await throttle.check({ account, ip: '2001:db8:1::1' }), { ok: true });
        }));

      it('counts an IPv4-mapped IPv6 address as the IPv4 address it carries (SEC-53)', () =>
        withThrottle(async ({ throttle }) => {
          for (let i = 1; i <= 50; i++) {
            const ip = i % 2 === 0 ? '192.0.2.1' : '::ffff:192.0.2.1';
            await throttle.recordFailure({ account: `user${i}@example.com`, ip });
          }
          const account = 'next@example.com';
          assert.deepEqual(await throttle.check({ account, ip: '192.0.2.1' }), refused(900, 'ip'));
          assert.deepEqual(await throttle.check({ account, ip: '::FFFF:c000:201' }), refused(900, 'ip'));
          assert.deepEqual(await throttle.check({ account, ip: '0:0:0:0:0:ffff:192.0.2.1' }), refused(900, 'ip'));
          assert.deepEqual(await throttle.check({ account, ip: '192.0.2.2' }), { ok: true });
          assert.deepEqual(await throttle.check({ account, ip: '::192.0.2.1' }), { ok: true }, 'IPv4-compatible is IPv6');
        }));

      it('answers with the longer wait when both the account and the IP are refused (SEC-51, SEC-53)', () =>
        withThrottle(async ({ throttle }) => {
          const ip = '203.0.113.9';
          for (let i = 1; i <= 45; i++) await throttle.recordFailure({ account: `user${i}@example.com`, ip });
          await fail(throttle, 'alice@example.com', ip, 5);
          assert.deepEqual(await throttle.check({ account: 'alice@example.com', ip }), refused(900, 'ip'));
          assert.deepEqual(await throttle.check({ account: 'alice@example.com', ip: null }), refused(1, 'account'));
        }));

      it('counts a failure from an unknown IP (null) against the account only', () =>
        withThrottle(async ({ throttle }) => {
          for (let i = 1; i <= 60; i++) {
            assert.equal((await throttle.recordFailure({ account: `user${i}@example.com`, ip: null })).ipFailures, null);
          }
          assert.deepEqual(await throttle.check({ account: 'next@example.com', ip: null }), { ok: true });
        }));

      it('a success clears the account counter but not the IP counter (SEC-53)', () =>
        withThrottle(async ({ throttle }) => {
          const ip = '203.0.113.9';
          for (let i = 1; i <= 50; i++) await throttle.recordFailure({ account: 'alice@example.com', ip });
          await throttle.recordSuccess({ account: 'alice@example.com' });
          assert.deepEqual(await throttle.check({ account: 'alice@example.com', ip: null }), { ok: true });
          assert.deepEqual(await throttle.check({ account: 'alice@example.com', ip }), refused(900, 'ip'));
        }));

      it('rejects an IP that is not one address with TypeError: it must come from the trusted-proxy configuration (SEC-53)', () =>
        withThrottle(async ({ throttle }) => {
          for (const ip of ['not-an-ip', '', '203.0.113.9, 198.51.100.1', '[::1]', '01.2.3.4', ' 203.0.113.9', '1:2:3:4:5:6:7:8:9']) {
            await assert.rejects(throttle.check({ account: 'a@example.com', ip }), TypeError, ip);
            await assert.rejects(throttle.recordFailure({ account: 'a@example.com', ip }), TypeError, ip);
          }
          const missing = { account: 'a@example.com' } as unknown as { account: string; ip: null };
          await assert.rejects(throttle.check(missing), TypeError);
        }));
    });

    describe('reservations (finding 4)', () => {
      it('finding 4, a per-IP burst never overshoots the cap: 60 concurrent attempts from one IP with a cap of 50 get at most 50 reservations, across two throttles on one store (SEC-12, SEC-53)', () =>
        withThrottle(async ({ throttle, store, clock }) => {
          const other = createLoginThrottle({ store, secret: SECRET, now: () => clock.time }); // a second instance
          const ip = '203.0.113.9';
          const answers = await Promise.all(
            Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? throttle : other).reserve({ account: `user${i}@example.com`, ip })),
          );
          const admitted = answers.filter((answer) => answer.ok);
          assert.ok(admitted.length <= 50, `${admitted.length} reservations`);
          assert.ok(admitted.length >= 1);
          for (const answer of answers) if (!answer.ok) assert.deepEqual(answer, refused(900, 'ip'));
          for (const answer of admitted) if (answer.ok) await answer.fail();
          assert.deepEqual(await throttle.reserve({ account: 'late@example.com', ip }), refused(900, 'ip'));
        }));

      it('finding 4: successes give their reservation back, so 60 users logging in behind one address are never refused; failures keep theirs (SEC-53)', () =>
        withThrottle(async ({ throttle }) => {
          const ip = '198.51.100.20';
          for (let i = 0; i < 60; i++) {
            const attempt = await throttle.reserve({ account: `user${i}@example.com`, ip });
            assert.ok(attempt.ok, `login ${i}`);
            await attempt.succeed();
          }
          for (let i = 0; i < 50; i++) {
            const attempt = await throttle.reserve({ account: `user${i}@example.com`, ip });
            assert.ok(attempt.ok, `failure ${i}`);
            assert.equal((await attempt.fail()).ipFailures, i + 1);
          }
          assert.deepEqual(await throttle.reserve({ account: 'user0@example.com', ip }), refused(900, 'ip'));
        }));

      it('a reservation is settled once: a second fail() or succeed() throws TypeError', () =>
        withThrottle(async ({ throttle }) => {
          const attempt = await throttle.reserve({ account: 'alice@example.com', ip: null });
          assert.ok(attempt.ok);
          await attempt.fail();
          await assert.rejects(attempt.fail(), TypeError);
          await assert.rejects(attempt.succeed(), TypeError);
        }));

      it('finding 3: countRequest counts every request from an IP and refuses past the cap until the window after the last counted one (SEC-53)', () =>
        withThrottle(
          async ({ throttle, clock }) => {
            const ip = '203.0.113.9';
            const verdicts = await Promise.all(Array.from({ length: 25 }, () => throttle.countRequest({ ip })));
            assert.equal(verdicts.filter((v) => v.ok).length, 20);
            assert.deepEqual(await throttle.countRequest({ ip }), refused(3600, 'ip'));
            assert.deepEqual(await throttle.countRequest({ ip: '203.0.113.10' }), { ok: true }, 'another client');
            assert.deepEqual(await throttle.countRequest({ ip: null }), { ok: true }, 'no known IP: no limit');
            clock.advance(60 * MINUTE - 1);
            assert.deepEqual(await throttle.countRequest({ ip }), refused(1, 'ip'));
            clock.advance(1);
            assert.deepEqual(await throttle.countRequest({ ip }), { ok: true });
          },
          { scope: 'register', ip: { maxFailures: 20, window: '1h' } },
        ));
    });

    describe('enumeration (SEC-17)', () => {
      it('throttles a known and an unknown identifier at the same attempt with identical results: the throttle only ever sees the canonical identifier (SEC-17)', () =>
        withThrottle(async ({ throttle, clock }) => {
          const registered = new Set(['alice@example.com']); // the app's users; the throttle never sees this
          const transcripts = new Map<string, unknown[]>([
            ['alice@example.com', []],
            ['nobody@example.com', []],
          ]);
          for (let attempt = 1; attempt <= 12; attempt++) {
            for (const [account, transcript] of transcripts) {
              const verdict = await throttle.check({ account, ip: null });
              transcript.push(verdict);
              if (verdict.ok) {
                // A wrong password for alice, an unknown user for nobody: both are one failure.
                assert.equal(registered.has(account), account === 'alice@example.com');
                transcript.push(await throttle.recordFailure({ account, ip: null }));
              }
            }
            clock.advance(700);
          }
          const [alice, nobody] = [...transcripts.values()];
          assert.deepEqual(alice, nobody);
          assert.equal(alice?.findIndex((entry) => (entry as ThrottleVerdict).ok === false), 10, 'the 6th check refuses');
        }));
    });

    describe('store failure (SEC-55)', () => {
      it('fails closed when its store is down: check, recordFailure and recordSuccess reject with ERR_LATCHKEY_STORE_UNAVAILABLE (SEC-55)', () =>
        withThrottle(async ({ throttle, store }) => {
          const attempt = { account: 'alice@example.com', ip: '203.0.113.9' };
          await throttle.recordFailure(attempt);
          await store.close();
          const unavailable = { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' };
          await assert.rejects(throttle.check(attempt), unavailable);
          await assert.rejects(throttle.recordFailure(attempt), unavailable);
          await assert.rejects(throttle.recordSuccess(attempt), unavailable);
        }));

      it('refuses at once and never sleeps: a 15-minute refusal answers in well under a second', () =>
        withThrottle(async ({ throttle }) => {
          await fail(throttle, 'alice@example.com', null, 20);
          const started = performance.now();
          assert.deepEqual(await throttle.check({ account: 'alice@example.com', ip: null }), refused(900, 'account'));
          assert.ok(performance.now() - started < 500);
        }));
    });
  });
}

describe('createLoginThrottle on a failing database (SEC-55)', () => {
  it('rejects with ERR_LATCHKEY_STORE_UNAVAILABLE and the driver error as cause when the connection dies under a SqliteStore (SEC-55, R-01)', async () => {
    const db = new DatabaseSync(':memory:');
    const store = new SqliteStore({ database: db, sweepInterval: 0 });
    const throttle = createLoginThrottle({ store, secret: SECRET });
    await throttle.recordFailure({ account: 'alice@example.com', ip: null });
    db.close();
    await assert.rejects(throttle.check({ account: 'alice@example.com', ip: null }), (error: Error & { code: string; cause: unknown }) => {
      assert.equal(error.code, 'ERR_LATCHKEY_STORE_UNAVAILABLE');
      assert.ok(error.cause instanceof Error);
      return true;
    });
    await store.close();
  });

  it('codes a plain rejection from a third-party CounterStore as ERR_LATCHKEY_STORE_UNAVAILABLE, keeping it as cause (SEC-55)', async () => {
    const refusedConnection = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    const down: CounterStore = {
      recordFailure: () => Promise.reject(refusedConnection),
      forgiveFailure: () => Promise.reject(refusedConnection),
      getCounter: () => Promise.reject(refusedConnection),
      clearCounter: () => Promise.reject(refusedConnection),
    };
    const throttle = createLoginThrottle({ store: down, secret: SECRET });
    const attempt = { account: 'alice@example.com', ip: '203.0.113.9' };
    for (const call of [() => throttle.check(attempt), () => throttle.recordFailure(attempt), () => throttle.recordSuccess(attempt)]) {
      await assert.rejects(call(), (error: Error & { code: string; cause: unknown }) => {
        assert.equal(error.code, 'ERR_LATCHKEY_STORE_UNAVAILABLE');
        assert.equal(error.cause, refusedConnection);
        return true;
      });
    }
  });
});

describe('createLoginThrottle keys (SEC-69)', () => {
  it('stores no raw identifier or IP: every counter key is a keyed hash under a purpose prefix (SEC-69)', async () => {
    const db = new DatabaseSync(':memory:');
    const store = new SqliteStore({ database: db, sweepInterval: 0 });
    const other = createLoginThrottle({ store, secret: `${SECRET}-other` });
    const throttle = createLoginThrottle({ store, secret: SECRET });
    try {
      const email = 'victim@example.com';
      await throttle.recordFailure({ account: email, ip: '203.0.113.9' });
      await throttle.recordFailure({ account: email, ip: '2001:db8:abcd:12::1' });
      const keys = db.prepare('SELECT key FROM latchkey_counters ORDER BY key').all().map((row) => row.key as string);
      assert.equal(keys.length, 3); // one account, two IP groups
      const unkeyed = [createHash('sha256').update(email).digest('hex'), createHash('sha256').update(email).digest('base64url')];
      for (const key of keys) {
        assert.match(key, /^throttle:login:(account|ip):[A-Za-z0-9_-]{43}$/);
        for (const raw of ['victim', 'example', '203.0.113', '2001:db8', 'abcd', ...unkeyed]) {
          assert.ok(!key.toLowerCase().includes(raw), `${key} contains ${raw}`);
        }
      }
      // Keyed: another secret gives other keys for the same identifier.
      await other.recordFailure({ account: email, ip: null });
      assert.equal(db.prepare('SELECT count(*) AS n FROM latchkey_counters').get()?.n, 4);
    } finally {
      await store.close();
      db.close();
    }
  });

  it('keeps scopes apart: failures on the reset endpoint do not count against logins (SEC-53, SEC-54)', async () => {
    const store = new MemoryStore();
    const login = createLoginThrottle({ store, secret: SECRET });
    const reset = createLoginThrottle({ store, secret: SECRET, scope: 'reset' });
    for (let i = 0; i < 10; i++) await reset.recordFailure({ account: 'alice@example.com', ip: null });
    assert.deepEqual(await login.check({ account: 'alice@example.com', ip: null }), { ok: true });
    assert.equal((await reset.check({ account: 'alice@example.com', ip: null })).ok, false);
  });
});

describe('createLoginThrottle options', () => {
  const store = new MemoryStore();

  it('rejects misused options with TypeError at construction', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { secret: SECRET },
      { store: {}, secret: SECRET },
      { store, secret: 'x'.repeat(31) },
      { store, secret: new Uint8Array(31) },
      { store, secret: 42 },
      { store, secret: SECRET, now: 5 },
      { store, secret: SECRET, scope: 'log in' },
      { store, secret: SECRET, scope: '' },
      { store, secret: SECRET, account: 5 },
      { store, secret: SECRET, account: { freeFailures: -1 } },
      { store, secret: SECRET, account: { freeFailures: 1.5 } },
      { store, secret: SECRET, account: { freeFailures: 101 } },
      { store, secret: SECRET, account: { baseDelay: '1.5s' } },
      { store, secret: SECRET, account: { baseDelay: 0 } },
      { store, secret: SECRET, account: { baseDelay: '1m', maxDelay: '30s' } },
      { store, secret: SECRET, account: { hardLimit: 0 } },
      { store, secret: SECRET, account: { hardLimit: 101 } },
      { store, secret: SECRET, account: { hardLimit: Number.POSITIVE_INFINITY } },
      { store, secret: SECRET, account: { ttl: '10m' } },
      { store, secret: SECRET, account: { hardlimit: 10 } },
      { store, secret: SECRET, ip: { maxFailures: 0 } },
      { store, secret: SECRET, ip: { window: 'soon' } },
      { store, secret: SECRET, ip: { window: 999 } },
      { store, secret: SECRET, ip: { max: 10 } },
      { store, secret: SECRET, device: { lifetime: '1s' } },
      { store, secret: SECRET, device: { maxFailures: 0 } },
      { store, secret: SECRET, device: { maxFailures: 101 } },
      { store, secret: SECRET, device: { max: 3 } },
    ];
    for (const options of bad) {
      assert.throws(() => createLoginThrottle(options as LoginThrottleOptions), TypeError, JSON.stringify(options));
    }
  });

  it('returns a frozen throttle that later changes to the options or the secret do not reach', async () => {
    const secret = new Uint8Array(32).fill(7);
    const options = { store: new MemoryStore(), secret, account: { freeFailures: 1 } };
    const throttle = createLoginThrottle(options);
    assert.ok(Object.isFrozen(throttle));
    await throttle.recordFailure({ account: 'a@example.com', ip: null });
    options.account.freeFailures = 50;
    secret.fill(0);
    assert.equal((await throttle.check({ account: 'a@example.com', ip: null })).ok, false);
  });

  it('rejects an attempt without a string account with TypeError', async () => {
    const throttle = createLoginThrottle({ store, secret: SECRET });
    await assert.rejects(throttle.check({ account: 42, ip: null } as unknown as { account: string; ip: null }), TypeError);
    await assert.rejects(throttle.recordSuccess(null as unknown as { account: string }), TypeError);
  });
});

describe('throttle deadline (R-03)', () => {
  it('a counter store that never answers fails with ERR_LATCHKEY_STORE_TIMEOUT within storeTimeout, never hangs a login', async () => {
    // Fault injection: a store that accepts the call and never answers, as a blackholed port does.
    const silent = { recordFailure: () => new Promise<never>(() => {}), forgiveFailure: () => new Promise<never>(() => {}), getCounter: () => new Promise<never>(() => {}), clearCounter: () => new Promise<never>(() => {}) };
    const throttle = createLoginThrottle({ store: silent, secret: 's'.repeat(32), storeTimeout: 100 });
    const started = performance.now();
    await assert.rejects(throttle.check({ account: 'a@example.com', ip: null }), { code: 'ERR_LATCHKEY_STORE_TIMEOUT' });
    assert.ok(performance.now() - started < 1000);
  });
});
