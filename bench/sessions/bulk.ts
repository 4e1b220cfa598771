/**
 * Sessions in bulk for `bench/sessions.ts`: N live sessions written straight into a store's
 * tables or keys, as the store's own `createSession` lays them out (src/sqlite/schema.ts,
 * src/postgres/schema.ts, src/redis/session-scripts.ts), but in one statement or a few scripts
 * instead of N round trips: SQLite `INSERT … SELECT` over a recursive CTE in one transaction,
 * PostgreSQL `INSERT … SELECT … generate_series` and then `VACUUM ANALYZE` (so that autovacuum
 * does not start on the new rows in the middle of a measurement), Redis a Lua loop per chunk of 5,000 that
 * writes each session hash, its PEXPIRE and its user's index entry.
 *
 * Every bulk session is live for the whole bench (expiry 20–30 min ahead, within a 23 h absolute
 * limit), so no expired-session sweep has anything to delete. Ids and secret hashes are random
 * and as long as the real ones (22 and 43 characters); two sessions per user, as a site where
 * people log in from a phone and a laptop. After writing, one bulk session is read back through
 * the library's own store (`SqliteStore`, `PostgresStore`, `RedisStore`), which proves the rows
 * are what the store reads.
 *
 * @module bench/sessions/bulk
 */
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { createClient } from 'redis';
import { PostgresStore } from '../../src/postgres/index.ts';
import { tableNames } from '../../src/postgres/schema.ts';
import { RedisStore } from '../../src/redis/index.ts';
import { SqliteStore } from '../../src/sqlite/index.ts';
import type { Session } from '../../src/store.ts';

/** The stores' default names, which the reference app keeps. */
const SQLITE_TABLE = 'latchkey_sessions';
const PG_TABLE = tableNames('public', 'latchkey_').sessions;
const REDIS_PREFIX = 'latchkey:';

/** A browser's User-Agent and its session-protection fingerprint's length (SHA-256, base64url). */
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const IDENTIFIER = 'q1Jd0m8xS2bAq6pWcT3nV9eYk4LzR7uH5oFgE1iMx0s';
const MIN = 60_000;

export type BulkTarget =
  | { readonly store: 'sqlite'; readonly path: string }
  | { readonly store: 'postgres'; readonly url: string }
  | { readonly store: 'redis'; readonly url: string };

export interface BulkResult {
  /** Seconds the writing took (and, for PostgreSQL, the VACUUM ANALYZE). */
  readonly seconds: number;
  /** One bulk session as the library's store read it back. */
  readonly sample: Session;
}

/** Writes `count` live sessions into the store of `target` (whose schema the app has made); `now` in ms. */
export async function fillSessions(target: BulkTarget, count: number, now: number): Promise<BulkResult> {
  const t0 = performance.now();
  let sampleId: string;
  if (target.store === 'sqlite') sampleId = fillSqlite(target.path, count, now);
  else if (target.store === 'postgres') sampleId = await fillPostgres(target.url, count, now);
  else sampleId = await fillRedis(target.url, count, now);
  const seconds = (performance.now() - t0) / 1000;
  const sample = await readBack(target, sampleId);
  if (sample === null || !sample.userId.startsWith('bulk-') || sample.expiresAt <= Date.now()) {
    throw new Error(`${target.store}: a bulk session (${sampleId}) does not read back as a live session through the store: ${JSON.stringify(sample)}`);
  }
  return { seconds, sample };
}

function fillSqlite(path: string, count: number, now: number): string {
  if (count === 0) return '';
  const db = new DatabaseSync(path, { timeout: 30_000 });
  try {
    // Random keys land all over the B-trees: a page cache that holds them keeps the insert in memory.
    db.exec('PRAGMA cache_size = -524288');
    db.exec('BEGIN IMMEDIATE');
    db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
      INSERT INTO ${SQLITE_TABLE} (id, secret_hash, user_id, fresh, remember_series, identifier, user_agent, ip_address,
        created_at, authenticated_at, last_seen_at, expires_at, absolute_expires_at, methods)
      SELECT lower(hex(randomblob(11))), substr(lower(hex(randomblob(22))), 1, 43), 'bulk-' || (i / 2), 1, NULL, :identifier, :ua,
        '10.' || (i % 250) || '.' || ((i / 250) % 250) || '.' || ((i / 62500) % 250), :now - 3600000 + (i % 3600000), :now - 3600000 + (i % 3600000),
        :now - (i % 60000), :now + 20 * ${MIN} + (i % (10 * ${MIN})), :now + 23 * 60 * ${MIN}, '["password"]'
      FROM n`).run({ count, identifier: IDENTIFIER, ua: USER_AGENT, now });
    db.exec('COMMIT');
    // The app reads through the WAL otherwise: fold it into the database file.
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return String((db.prepare(`SELECT id FROM ${SQLITE_TABLE} WHERE user_id LIKE 'bulk-%' LIMIT 1`).get() as { id: string }).id);
  } finally {
    if (db.isTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

async function fillPostgres(url: string, count: number, now: number): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (count === 0) return '';
    // md5 gives 16 random bytes: base64url without padding is 22 characters, two of them 43.
    const b64url = (bytes: string) => `translate(encode(${bytes}, 'base64'), '+/=', '-_')`;
    await client.query(
      `INSERT INTO ${PG_TABLE} (id, secret_hash, user_id, fresh, remember_series, identifier, user_agent, ip_address,
        created_at, authenticated_at, last_seen_at, expires_at, absolute_expires_at, methods)
      SELECT ${b64url(`decode(md5(random()::text || i), 'hex')`)},
        ${b64url(`decode(md5(random()::text || i) || md5(i::text || random()::text), 'hex')`)},
        'bulk-' || (i / 2), true, NULL, $2, $3, '10.' || (i % 250) || '.' || ((i / 250) % 250) || '.' || ((i / 62500) % 250),
        $4::bigint - 3600000 + (i % 3600000), $4::bigint - 3600000 + (i % 3600000), $4::bigint - (i % 60000),
        $4::bigint + ${20 * MIN} + (i % ${10 * MIN}), $4::bigint + ${23 * 60 * MIN}, '{password}'
      FROM generate_series(1, $1::int) AS i`,
      [count, IDENTIFIER, USER_AGENT, now],
    );
    // Autovacuum and autoanalyze would otherwise start on a million new rows during the load.
    await client.query(`VACUUM ANALYZE ${PG_TABLE}`);
    return (await client.query<{ id: string }>(`SELECT id FROM ${PG_TABLE} WHERE user_id LIKE 'bulk-%' LIMIT 1`)).rows[0]?.id ?? '';
  } finally {
    await client.end();
  }
}

/**
 * One chunk of sessions per call, written as the createSession script writes one: the hash
 * (`sessionFields` and the times), its PEXPIRE, and the member in the user's index (a sorted set
 * by expiry) whose own expiry follows its latest member. Ids and secret hashes come from SHA-1 of
 * a per-run tag and the number: random enough for a hash table, and reproducible. Like real ones,
 * the hashes hold a User-Agent longer than 64 bytes, so Redis keeps them as hash tables, not
 * listpacks: about 1.3 KiB a session.
 */
const FILL_SCRIPT = `
local prefix, from, to, now, tag = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local function int(x) return string.format('%.0f', x) end
local function expiry(i) return now + ${20 * MIN} + (i % ${10 * MIN}) end
for i = from, to do
  local h = redis.sha1hex(tag .. i)
  local id = string.sub(h, 1, 22)
  local u = math.floor(i / 2)
  local user = 'bulk-' .. u
  local since = now - 3600000 + (i % 3600000)
  local expires = expiry(i)
  local key = prefix .. 's:' .. id
  redis.call('HSET', key, 'createdAt', int(since), 'authenticatedAt', int(since), 'lastSeenAt', int(now - (i % 60000)),
    'expiresAt', int(expires), 'absoluteExpiresAt', int(now + ${23 * 60 * MIN}),
    'id', id, 'secretHash', h .. string.sub(h, 1, 3), 'userId', user, 'fresh', '1', 'methods', '["password"]',
    'identifier', ARGV[6], 'userAgent', ARGV[7], 'ipAddress', '10.' .. (i % 250) .. '.' .. (math.floor(i / 250) % 250) .. '.1')
  redis.call('PEXPIRE', key, int(expires - now))
  local index = prefix .. 'u:' .. user
  redis.call('ZADD', index, int(expires), id)
  -- The index lives as long as its latest member: the later of the user's two sessions.
  redis.call('PEXPIRE', index, int(math.max(expiry(2 * u), expiry(2 * u + 1)) - now))
end
return to - from + 1
`;

async function fillRedis(url: string, count: number, now: number): Promise<string> {
  const client = createClient({ url });
  await client.connect();
  try {
    const tag = `${now}:`;
    // Small chunks: a script that runs for seconds makes Redis answer BUSY to the apps meanwhile.
    const chunk = 5_000;
    for (let from = 1; from <= count; from += chunk) {
      const to = Math.min(count, from + chunk - 1);
      await client.sendCommand(['EVAL', FILL_SCRIPT, '0', REDIS_PREFIX, String(from), String(to), String(now), tag, IDENTIFIER, USER_AGENT]);
    }
    if (count === 0) return '';
    return String(await client.sendCommand(['EVAL', 'return string.sub(redis.sha1hex(ARGV[1]), 1, 22)', '0', `${tag}1`]));
  } finally {
    client.destroy();
  }
}

/** A session read through the library's store on the same database, or null. */
async function readBack(target: BulkTarget, id: string): Promise<Session | null> {
  if (id === '') return null;
  if (target.store === 'sqlite') {
    const store = new SqliteStore({ path: target.path, sweepInterval: 0 });
    try {
      return await store.getSession(id);
    } finally {
      await store.close();
    }
  }
  if (target.store === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.url, max: 1 });
    const store = new PostgresStore({ pool, sweepInterval: 0 });
    try {
      return await store.getSession(id);
    } finally {
      await store.close();
      await pool.end();
    }
  }
  const client = createClient({ url: target.url });
  await client.connect();
  const store = new RedisStore({ client });
  try {
    return await store.getSession(id);
  } finally {
    await store.close();
    client.destroy();
  }
}
