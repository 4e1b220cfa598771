/**
 * redis/commands `toSessions` and `toSessionOrNull`: how the session scripts' replies become Sessions.
 * getSessions and listUserSessions answer with one JSON array (cjson) of records, `false` for a
 * session not found; updateSession with the JSON of one record (session-record reads each).
 * A reply that cannot be read must become a coded failure, never a null that reads as "logged out"
 * nor half a session (R-03). The store tests run them against a real server; these give them the
 * replies a server or a client could send that those tests cannot produce.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedSessionError, SESSION_FIELDS } from '../src/session-record.ts';
import { toSessionOrNull, toSessions } from '../src/redis/commands.ts';

const VALUES: Record<string, string | false> = {
  id: 'sid1',
  secretHash: 'h'.repeat(43),
  userId: '42',
  fresh: '1',
  rememberSeries: 'series1',
  identifier: false,
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
  ipAddress: '203.0.113.9',
  createdAt: '1000',
  authenticatedAt: '1500',
  lastSeenAt: '2000',
  expiresAt: '3000',
  absoluteExpiresAt: '4000',
  methods: '["pwd"]',
};
const record = (over: Record<string, string | false> = {}) => SESSION_FIELDS.map((name) => (name in over ? over[name] : VALUES[name]));
/** What cjson writes: it escapes `/`, which JSON allows. */
const cjson = (value: unknown) => JSON.stringify(value).replaceAll('/', '\\/');

describe('toSessions and toSessionOrNull (session replies of the Redis scripts)', () => {
  it('reads a batch reply in order, a session not found as null, whether the client returns text or bytes', () => {
    const reply = cjson([record(), false, record({ id: 'sid2', fresh: '0' })]);
    for (const form of [reply, Buffer.from(reply)]) {
      const [first, missing, second] = toSessions(form, 3);
      assert.equal(first?.id, 'sid1');
      assert.equal(first?.userAgent, 'Mozilla/5.0 (X11; Linux x86_64)');
      assert.equal(first?.identifier, null);
      assert.deepEqual(first?.methods, ['pwd']);
      assert.equal(missing, null);
      assert.equal(second?.id, 'sid2');
      assert.equal(second?.fresh, false);
    }
    assert.deepEqual(toSessions('[]'), []);
  });

  it('reads the record updateSession returns, as text or bytes', () => {
    assert.equal(toSessionOrNull(Buffer.from(cjson(record())))?.id, 'sid1');
    assert.equal(toSessionOrNull(null), null);
    const session = toSessionOrNull(cjson(record()));
    assert.equal(session?.lastSeenAt, 2000);
    assert.ok(Object.isFrozen(session));
  });

  it('refuses a batch of another length, a reply that is not JSON, and a record that is not a session, as an unexpected reply (R-03)', () => {
    assert.throws(() => toSessions(cjson([record()]), 2), /unexpected reply from Redis/);
    for (const reply of [null, 42, 'not json', '{}', '{"id":"sid1"}', cjson([record().slice(1)]), cjson([record({ expiresAt: false })]), cjson([null])]) {
      assert.throws(() => toSessions(reply), /unexpected reply from Redis/, String(reply));
    }
    const error = (() => {
      try {
        toSessionOrNull(cjson(record({ createdAt: 'soon' })));
      } catch (caught) {
        return caught as Error;
      }
      return null;
    })();
    assert.match(String(error?.message), /unexpected reply from Redis/);
    assert.ok(error?.cause instanceof MalformedSessionError, 'the record’s fault is kept as the cause');
  });
});
