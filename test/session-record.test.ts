/**
 * session-record: how a session that PostgreSQL or a Redis script sent back as one JSON array
 * of values becomes a Session. Every session read of both network stores goes through it, so it
 * must read both servers' encodings alike, give sessions written by older versions their defaults,
 * and refuse a record it cannot read instead of returning half a session (R-03). The store tests
 * run it against the real servers; these give it the records a server could send that those tests
 * cannot produce.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedSessionError, SESSION_FIELDS, sessionFromRecord } from '../src/session-record.ts';

const EXPECTED = Object.freeze({
  id: 'sid1',
  secretHash: 'h'.repeat(43),
  userId: '42',
  fresh: true,
  rememberSeries: 'series1',
  identifier: 'fp',
  userAgent: 'Firefox',
  ipAddress: '203.0.113.9',
  createdAt: 1000,
  authenticatedAt: 1500,
  lastSeenAt: 2000,
  expiresAt: 3000,
  absoluteExpiresAt: 4000,
  methods: ['pwd', 'otp'],
});

/** As PostgreSQL's text rows give it: every value as text, NULL as null. */
const postgres = (over: Record<string, unknown> = {}): unknown[] =>
  SESSION_FIELDS.map((name) =>
    name in over ? over[name] : name === 'fresh' ? '1' : name === 'methods' ? JSON.stringify(EXPECTED.methods) : String(EXPECTED[name]),
  );
/** As a Redis script's HMGET under cjson gives it: the same text, a missing field as false. */
const redis = (over: Record<string, unknown> = {}): unknown[] => postgres(over).map((value) => (value === null ? false : value));

describe('sessionFromRecord (a session record from PostgreSQL or Redis)', () => {
  it('reads both servers’ records, and one that starts further into a row, to the same frozen session', () => {
    for (const session of [sessionFromRecord(postgres()), sessionFromRecord(JSON.parse(JSON.stringify(redis()))), sessionFromRecord(['1', ...postgres()], 1)]) {
      assert.deepEqual(session, EXPECTED);
      assert.ok(Object.isFrozen(session));
    }
    assert.equal(sessionFromRecord(postgres({ fresh: '0' })).fresh, false);
    assert.equal(sessionFromRecord(redis({ fresh: '0' })).fresh, false);
  });

  it('reads absent optional values as null, and gives a session written before authenticatedAt and methods existed its login time and no methods', () => {
    const absent = { rememberSeries: null, identifier: null, userAgent: null, ipAddress: null, authenticatedAt: null, methods: null };
    for (const record of [postgres(absent), redis(absent)]) {
      const session = sessionFromRecord(record);
      assert.deepEqual([session.rememberSeries, session.identifier, session.userAgent, session.ipAddress], [null, null, null, null]);
      assert.equal(session.authenticatedAt, 1000);
      assert.deepEqual(session.methods, []);
    }
  });

  it('refuses a record missing a required value, or with a time that is not integer ms, instead of reading half a session (R-03)', () => {
    for (const name of ['id', 'secretHash', 'userId', 'fresh', 'createdAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt']) {
      for (const record of [postgres({ [name]: null }), redis({ [name]: null })]) {
        assert.throws(() => sessionFromRecord(record), MalformedSessionError, name);
      }
    }
    for (const name of ['createdAt', 'authenticatedAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt']) {
      for (const bad of ['soon', '', '1.5', '1e400', String(2 ** 53), 1000, true, {}]) {
        assert.throws(() => sessionFromRecord(redis({ [name]: bad })), MalformedSessionError, `${name}: ${String(bad)}`);
      }
    }
    for (const bad of [true, false, 1, 0, '2', 'yes', '', 't']) {
      assert.throws(() => sessionFromRecord(redis({ fresh: bad })), MalformedSessionError, `fresh: ${String(bad)}`);
    }
    for (const bad of [42, true, ['x'], {}]) {
      assert.throws(() => sessionFromRecord(postgres({ userAgent: bad })), MalformedSessionError, `userAgent: ${JSON.stringify(bad)}`);
    }
  });

  it('refuses anything that is not an array of exactly its values', () => {
    for (const record of [null, undefined, 42, 'sid1', { ...EXPECTED }, [], postgres().slice(0, -1), [...postgres(), 'extra']]) {
      assert.throws(() => sessionFromRecord(record), MalformedSessionError, JSON.stringify(record));
    }
    assert.throws(() => sessionFromRecord(postgres(), 1), MalformedSessionError, 'a record one value short of its offset');
  });

  it('as the attacker: a value that spells a field name, or JSON, stays the value of its position', () => {
    // The User-Agent is the client's to choose; in a positional record it can never become another field.
    const userAgent = '","userId":"1","fresh":1,"x":"';
    const session = sessionFromRecord(JSON.parse(JSON.stringify(redis({ userAgent, identifier: 'userId', ipAddress: '{"id":"other"}' }))));
    assert.equal(session.userAgent, userAgent);
    assert.equal(session.identifier, 'userId');
    assert.equal(session.ipAddress, '{"id":"other"}');
    assert.equal(session.id, 'sid1');
    assert.equal(session.userId, '42');
  });
});
