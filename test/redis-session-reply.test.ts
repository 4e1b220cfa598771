/**
 * redis/commands `toSession`: how a session hash that a script returned becomes a Session. Every
 * session read of RedisStore goes through it, so it must take each field by its name only, give
 * old sessions their defaults, and refuse a reply it cannot read as a coded failure (R-03: never a
 * half-read session). The store tests run it against a real server; these give it the replies a
 * server or a client could send that those tests cannot produce.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toSession } from '../src/redis/commands.ts';

const FIELDS: Record<string, string> = {
  id: 'sid1',
  secretHash: 'h'.repeat(64),
  userId: '42',
  fresh: '1',
  rememberSeries: 'series1',
  identifier: 'fp',
  userAgent: 'Firefox',
  ipAddress: '203.0.113.9',
  createdAt: '1000',
  authenticatedAt: '1500',
  lastSeenAt: '2000',
  expiresAt: '3000',
  absoluteExpiresAt: '4000',
  methods: '["pwd","otp"]',
};
const pairs = (fields: Record<string, string>): string[] => Object.entries(fields).flat();
const without = (...names: string[]) => Object.fromEntries(Object.entries(FIELDS).filter(([name]) => !names.includes(name)));

describe('toSession (a session hash from a Redis script)', () => {
  it('reads every field by its name, from the array HGETALL gives and from its JSON form', () => {
    const expected = {
      id: 'sid1', secretHash: 'h'.repeat(64), userId: '42', fresh: true, rememberSeries: 'series1', identifier: 'fp', userAgent: 'Firefox',
      ipAddress: '203.0.113.9', createdAt: 1000, authenticatedAt: 1500, lastSeenAt: 2000, expiresAt: 3000, absoluteExpiresAt: 4000, methods: ['pwd', 'otp'],
    };
    const reversed = Object.entries(FIELDS).reverse().flat(); // the fields in another order
    for (const reply of [pairs(FIELDS), JSON.stringify(pairs(FIELDS)), reversed]) {
      const session = toSession(reply);
      assert.deepEqual(session, expected);
      assert.ok(Object.isFrozen(session));
    }
  });

  it('reads values a client returns as bytes or numbers', () => {
    const reply = pairs(FIELDS).map((value, i) => (i === 1 ? Buffer.from(value) : value === '1000' ? 1000 : value));
    assert.equal(toSession(reply).id, 'sid1');
    assert.equal(toSession(reply).createdAt, 1000);
  });

  it('gives a session written before authenticatedAt and methods existed its login time and no methods, and absent optional fields null', () => {
    const session = toSession(pairs(without('authenticatedAt', 'methods', 'rememberSeries', 'identifier', 'userAgent', 'ipAddress')));
    assert.equal(session.authenticatedAt, 1000);
    assert.deepEqual(session.methods, []);
    assert.deepEqual([session.rememberSeries, session.identifier, session.userAgent, session.ipAddress], [null, null, null, null]);
    assert.equal(toSession(pairs({ ...FIELDS, fresh: '0' })).fresh, false);
  });

  it('refuses a reply missing any required field, or with a time that is not an integer, instead of reading half a session (R-03)', () => {
    for (const name of ['id', 'secretHash', 'userId', 'fresh', 'createdAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt']) {
      assert.throws(() => toSession(pairs(without(name))), /unexpected reply from Redis/, name);
    }
    for (const name of ['createdAt', 'authenticatedAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt']) {
      assert.throws(() => toSession(pairs({ ...FIELDS, [name]: 'soon' })), /unexpected reply from Redis/, name);
    }
    for (const reply of [null, 42, 'not json', '{"id":"x"}', [{ id: 'x' }], [null, 'x']]) {
      assert.throws(() => toSession(reply), /unexpected reply from Redis/, JSON.stringify(reply));
    }
  });

  it('as the attacker: a value that spells a field name is only a value, and unknown fields are ignored', () => {
    // A user agent is the client's to choose: it must never be read as another field.
    const session = toSession([...pairs({ ...FIELDS, userAgent: 'userId' }), 'isAdmin', '1', 'userId2', '1']);
    assert.equal(session.userAgent, 'userId');
    assert.equal(session.userId, '42');
    assert.ok(!('isAdmin' in session));
  });
});
