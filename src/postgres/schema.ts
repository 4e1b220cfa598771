/**
 * The tables of `latchkey/postgres`, their migrations, and every statement `PostgresStore` runs.
 * Times are BIGINT ms since the epoch, stamped and compared by the database's clock unless
 * a test injects one; only SHA-256 digests of secrets are stored (SEC-21, SEC-36), and throttle
 * counters are keyed by keyed hashes, never an email or IP (SEC-69). Keys are `COLLATE "C"`: they
 * are opaque byte strings, compared byte for byte, and "C" is the cheapest collation to index.
 *
 * Every statement starts with {@link CLOCK}, so `$1` is always the clock and `clock.now` the one
 * time the statement decides with. Only names checked at construction are spliced in; every value
 * is a parameter (SEC-73).
 *
 * @module postgres/schema
 */
import { sessionFromRecord } from '../session-record.ts';
import type { Session } from '../store.ts';
import { applyMigrations } from './migrations.ts';
import { CLOCK } from './pool.ts';
import type { PostgresPool, Row } from './pool.ts';
import type { PreparedStatement } from './prepared.ts';

/** The quoted names of one store's tables, and its migration lock key. */
export interface Tables {
  readonly meta: string;
  readonly sessions: string;
  readonly remember: string;
  readonly counters: string;
  readonly tokens: string;
  /** Unqualified prefix for index names (an index lives in its table's schema). */
  readonly prefix: string;
  readonly lockKey: string;
}

/** Names for `schema` and `prefix`, both checked identifiers. */
export function tableNames(schema: string, prefix: string): Tables {
  const table = (name: string) => `"${schema}"."${prefix}${name}"`;
  return Object.freeze({
    meta: table('meta'),
    sessions: table('sessions'),
    remember: table('remember_tokens'),
    counters: table('counters'),
    tokens: table('tokens'),
    prefix,
    lockKey: `latchkey:migrate:${schema}.${prefix}`,
  });
}

/**
 * Migration `n` takes the schema from version `n` to `n + 1`. Append new ones; never edit one that
 * has shipped. The schema version of a database is the number of migrations applied to it.
 */
const MIGRATIONS: ReadonlyArray<(t: Tables) => string> = [
  // Version 1: sessions, remember-me series and the throttle's counters, each swept by expires_at.
  (t) => `
    CREATE TABLE IF NOT EXISTS ${t.sessions} (
      id text COLLATE "C" PRIMARY KEY,
      secret_hash text NOT NULL,
      user_id text COLLATE "C" NOT NULL,
      fresh boolean NOT NULL,
      remember_series text,
      identifier text,
      user_agent text,
      ip_address text,
      created_at bigint NOT NULL,
      last_seen_at bigint NOT NULL,
      expires_at bigint NOT NULL,
      absolute_expires_at bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS "${t.prefix}sessions_user_id" ON ${t.sessions} (user_id, created_at);
    CREATE INDEX IF NOT EXISTS "${t.prefix}sessions_expires_at" ON ${t.sessions} (expires_at);
    CREATE TABLE IF NOT EXISTS ${t.remember} (
      series text COLLATE "C" PRIMARY KEY,
      validator_hash text NOT NULL,
      previous_hash text,
      rotated_at bigint,
      user_id text COLLATE "C" NOT NULL,
      created_at bigint NOT NULL,
      expires_at bigint NOT NULL,
      last_used_at bigint
    );
    CREATE INDEX IF NOT EXISTS "${t.prefix}remember_tokens_user_id" ON ${t.remember} (user_id);
    CREATE INDEX IF NOT EXISTS "${t.prefix}remember_tokens_expires_at" ON ${t.remember} (expires_at);
    CREATE TABLE IF NOT EXISTS ${t.counters} (
      key text COLLATE "C" PRIMARY KEY,
      count integer NOT NULL,
      first_at bigint NOT NULL,
      last_at bigint NOT NULL,
      expires_at bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS "${t.prefix}counters_expires_at" ON ${t.counters} (expires_at);
  `,
  // Version 2: when the user last authenticated for a session's login, kept across rotations, so
  // that freshness counts from it (SEC-35, issue 10 finding 2). A session made before it was a login
  // of its own: its creation is the best value there is.
  (t) => `
    ALTER TABLE ${t.sessions} ADD COLUMN IF NOT EXISTS authenticated_at bigint;
    UPDATE ${t.sessions} SET authenticated_at = created_at WHERE authenticated_at IS NULL;
    ALTER TABLE ${t.sessions} ALTER COLUMN authenticated_at SET NOT NULL;
  `,
  // Version 3: one-time tokens (reset, verification and email-change links; SEC-57, SEC-61): the
  // SHA-256 of the token as the key, never the token; by user for deleteUserTokens, by expiry for
  // the sweep.
  (t) => `
    CREATE TABLE IF NOT EXISTS ${t.tokens} (
      hash text COLLATE "C" PRIMARY KEY,
      user_id text COLLATE "C" NOT NULL,
      purpose text COLLATE "C" NOT NULL,
      email text,
      created_at bigint NOT NULL,
      expires_at bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS "${t.prefix}tokens_user_id" ON ${t.tokens} (user_id, purpose);
    CREATE INDEX IF NOT EXISTS "${t.prefix}tokens_expires_at" ON ${t.tokens} (expires_at);
  `,
  // Version 4: how the user authenticated for a session (SEC-84); a session made before it
  // recorded none and reads as [].
  (t) => `ALTER TABLE ${t.sessions} ADD COLUMN IF NOT EXISTS methods text[] NOT NULL DEFAULT '{}';`,
];

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Creates or upgrades the tables of `t`, as postgres/migrations says. */
export async function migrate(pool: PostgresPool, t: Tables): Promise<void> {
  await applyMigrations(pool, t, MIGRATIONS.map((migration) => migration(t)));
}

const SESSION = `id, secret_hash, user_id, fresh, remember_series, identifier, user_agent, ip_address,
  created_at, authenticated_at, last_seen_at, expires_at, absolute_expires_at, methods`;
/**
 * A session's columns in session-record's order, as text (`fresh` as 1 or 0, `methods` as the
 * text of a JSON array): the statements that return sessions run with text rows
 * (postgres/prepared), and {@link toSession} reads them by position. pg's own decoding built an
 * object with fourteen properties per row and ran a type parser per column, on every
 * authenticated request (`npm run bench:pg-read`, bench/README.md).
 */
const SESSION_RECORD = `s.id, s.secret_hash, s.user_id, s.fresh::int, s.remember_series, s.identifier, s.user_agent, s.ip_address,
  s.created_at, s.authenticated_at, s.last_seen_at, s.expires_at, s.absolute_expires_at, array_to_json(s.methods)::text`;

/** The statements whose rows are session records, run with text rows (postgres/prepared). */
export const SESSION_STATEMENTS = Object.freeze(['insertSession', 'selectSessions', 'updateSession', 'listUserSessions'] as const);

/** A text row of {@link SESSION_RECORD} as a frozen {@link Session}: a snapshot that later writes do not change. */
export function toSession(row: Row): Session {
  return sessionFromRecord(row as unknown as readonly unknown[]);
}

/** A text row of selectSessions: `live` ('1' or '0') first, then the session's record. */
export function toBatchRow(row: Row): { live: boolean; session: Session } {
  const values = row as unknown as readonly unknown[];
  return { live: values[0] === '1', session: sessionFromRecord(values, 1) };
}

const TOKEN = 'hash, user_id, purpose, email, created_at, expires_at';

/** Every statement of the store. `$1` is the clock in all of them. */
export function statements(t: Tables) {
  const { sessions: s, remember: r, counters: c, tokens: k } = t;
  return Object.freeze({
    // $12 and $13: a rotation's inherited authenticated_at and absolute_expires_at, else null (a login);
    // $14 the methods.
    insertSession: `${CLOCK}, times AS (
        SELECT now, coalesce($12::bigint, now) AS authenticated,
          least(now + $11::bigint, coalesce($13::bigint, now + $11::bigint)) AS absolute FROM clock)
      INSERT INTO ${s} AS s (${SESSION})
      SELECT $2::text, $3::text, $4::text, $5::boolean, $6::text, $7::text, $8::text, $9::text,
        now, authenticated, now, least(now + $10::bigint, absolute), absolute, $14::text[] FROM times
      RETURNING ${SESSION_RECORD}`,
    // The sessions of a batch of reads (lib/read-batch): one statement for all of them, the ids in
    // as one JSON array (pg built a text[] literal element by element). `live` (1 or 0) is decided
    // by the database's clock; the caller deletes the row when it is 0.
    selectSessions: `${CLOCK} SELECT (s.expires_at > clock.now)::int AS live, ${SESSION_RECORD}
      FROM ${s} s, clock WHERE s.id = ANY(ARRAY(SELECT json_array_elements_text($2::json)))`,
    deleteSessionIfExpired: `${CLOCK} DELETE FROM ${s} s USING clock WHERE s.id = $2 AND s.expires_at <= clock.now`,
    // One conditional statement: the row lock makes it atomic, and a deleted or expired row matches
    // nothing, so nothing is recreated (SEC-34). The touch is monotonic and capped.
    updateSession: `${CLOCK} UPDATE ${s} s SET
        fresh = coalesce($3::boolean, s.fresh),
        identifier = CASE WHEN $4::boolean THEN $5::text ELSE s.identifier END,
        last_seen_at = CASE WHEN $6::bigint IS NULL THEN s.last_seen_at ELSE greatest(s.last_seen_at, clock.now) END,
        expires_at = CASE WHEN $6::bigint IS NULL THEN s.expires_at
          ELSE greatest(s.expires_at, least(clock.now + $6::bigint, s.absolute_expires_at)) END
      FROM clock WHERE s.id = $2 AND s.expires_at > clock.now
      RETURNING ${SESSION_RECORD}`,
    // `live` tells whether the row was still a session or already expired garbage.
    deleteSession: `${CLOCK} DELETE FROM ${s} s USING clock WHERE s.id = $2 RETURNING s.expires_at > clock.now AS live`,
    listUserSessions: `${CLOCK} SELECT ${SESSION_RECORD} FROM ${s} s, clock
      WHERE s.user_id = $2 AND s.expires_at > clock.now ORDER BY s.created_at DESC`,
    deleteUserSessions: `${CLOCK}, gone AS (
        DELETE FROM ${s} s USING clock WHERE s.user_id = $2 AND s.id IS DISTINCT FROM $3::text
        RETURNING s.expires_at > clock.now AS live)
      SELECT count(*) FILTER (WHERE live) AS n FROM gone`,

    insertToken: `${CLOCK} INSERT INTO ${r} (series, validator_hash, user_id, created_at, expires_at)
      SELECT $2::text, $3::text, $4::text, now, now + $5::bigint FROM clock RETURNING expires_at`,
    // Run inside a transaction: FOR UPDATE holds the row until the rotation commits, and
    // `now` comes back so that the statements after it decide with the same time.
    lockToken: `${CLOCK} SELECT r.validator_hash, r.previous_hash, r.rotated_at, r.user_id, r.expires_at, clock.now
      FROM ${r} r, clock WHERE r.series = $2 FOR UPDATE OF r`,
    rotateToken: `${CLOCK} UPDATE ${r} r SET previous_hash = r.validator_hash, validator_hash = $3,
        rotated_at = clock.now, last_used_at = clock.now
      FROM clock WHERE r.series = $2`,
    deleteToken: `${CLOCK} DELETE FROM ${r} r USING clock WHERE r.series = $2 RETURNING r.expires_at > clock.now AS live`,
    deleteUserTokens: `${CLOCK}, gone AS (
        DELETE FROM ${r} r USING clock WHERE r.user_id = $2 AND r.series IS DISTINCT FROM $3::text
        RETURNING r.expires_at > clock.now AS live)
      SELECT count(*) FILTER (WHERE live) AS n FROM gone`,

    // One statement: INSERT … ON CONFLICT DO UPDATE takes the row lock (or inserts) atomically, so
    // concurrent increments from any number of instances are never lost. `excluded`
    // holds the row the INSERT proposed: its first_at is `now`, its expires_at `now + ttl`. A live
    // row counts on, an expired one starts again at 1; last_at and the expiry never move backwards.
    // A row whose count forgiveFailure took to 0 is absent (see below): it starts again at 1 too.
    recordFailure: `${CLOCK} INSERT INTO ${c} AS c (key, count, first_at, last_at, expires_at)
      SELECT $2::text, 1, now, now, now + $3::bigint FROM clock
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN c.expires_at > excluded.first_at AND c.count > 0 THEN c.count + 1 ELSE 1 END,
        first_at = CASE WHEN c.expires_at > excluded.first_at AND c.count > 0 THEN c.first_at ELSE excluded.first_at END,
        last_at = CASE WHEN c.expires_at > excluded.first_at AND c.count > 0 THEN greatest(c.last_at, excluded.last_at)
          ELSE excluded.last_at END,
        expires_at = CASE WHEN c.expires_at > excluded.first_at AND c.count > 0 THEN greatest(c.expires_at, excluded.expires_at)
          ELSE excluded.expires_at END
      RETURNING c.count, c.first_at, c.last_at`,
    // One UPDATE takes the row lock, so concurrent forgiveness and failures are never lost and the
    // count never goes below 0. A row left at 0 reads as absent everywhere; the store deletes it
    // right after (deleteForgivenCounter), and whatever happens in between reads the same.
    forgiveFailure: `${CLOCK} UPDATE ${c} c SET count = c.count - 1 FROM clock
      WHERE c.key = $2 AND c.expires_at > clock.now AND c.count > 0
      RETURNING c.count, c.first_at, c.last_at`,
    deleteForgivenCounter: `${CLOCK} DELETE FROM ${c} WHERE key = $2 AND count <= 0`,
    selectCounter: `${CLOCK} SELECT c.count, c.first_at, c.last_at, c.expires_at > clock.now AND c.count > 0 AS live
      FROM ${c} c, clock WHERE c.key = $2`,
    deleteCounterIfExpired: `${CLOCK} DELETE FROM ${c} c USING clock WHERE c.key = $2 AND c.expires_at <= clock.now`,
    deleteCounter: `${CLOCK} DELETE FROM ${c} WHERE key = $2`,

    // A hash held by an expired token is taken over; one held by a live token returns no row and
    // the store rejects: 256-bit hashes do not collide, so it is a bug, never a rebinding (SEC-57).
    insertOneTimeToken: `${CLOCK} INSERT INTO ${k} AS k (${TOKEN})
      SELECT $2::text, $3::text, $4::text, $5::text, now, now + $6::bigint FROM clock
      ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, purpose = excluded.purpose, email = excluded.email,
        created_at = excluded.created_at, expires_at = excluded.expires_at
      WHERE k.expires_at <= excluded.created_at
      RETURNING ${TOKEN}`,
    selectOneTimeToken: `${CLOCK} SELECT ${TOKEN}, k.expires_at > clock.now AS live FROM ${k} k, clock WHERE k.hash = $2`,
    deleteOneTimeTokenIfExpired: `${CLOCK} DELETE FROM ${k} k USING clock WHERE k.hash = $2 AND k.expires_at <= clock.now`,
    // One statement: a parallel DELETE waits for the row lock, then finds the row gone (R-05, SEC-57).
    consumeOneTimeToken: `${CLOCK} DELETE FROM ${k} k USING clock
      WHERE k.hash = $2 AND k.purpose = $3 AND k.expires_at > clock.now RETURNING ${TOKEN}`,
    deleteUserOneTimeTokens: `${CLOCK}, gone AS (
        DELETE FROM ${k} k USING clock WHERE k.user_id = $2 AND ($3::text IS NULL OR k.purpose = $3::text)
        RETURNING k.expires_at > clock.now AS live)
      SELECT count(*) FILTER (WHERE live) AS n FROM gone`,

    // One statement, one time for all four tables.
    deleteExpired: `${CLOCK},
      gone_sessions AS (DELETE FROM ${s} s USING clock WHERE s.expires_at <= clock.now RETURNING 1),
      gone_tokens AS (DELETE FROM ${r} r USING clock WHERE r.expires_at <= clock.now RETURNING 1),
      gone_counters AS (DELETE FROM ${c} c USING clock WHERE c.expires_at <= clock.now RETURNING 1),
      gone_one_time AS (DELETE FROM ${k} k USING clock WHERE k.expires_at <= clock.now RETURNING 1)
      SELECT (SELECT count(*) FROM gone_sessions) + (SELECT count(*) FROM gone_tokens)
        + (SELECT count(*) FROM gone_counters) + (SELECT count(*) FROM gone_one_time) AS n`,

    ping: `${CLOCK} SELECT 1`,
  });
}

export type Statements = ReturnType<typeof statements>;

/** The statements as a store prepares them (postgres/prepared), by name. */
export type Sql = Readonly<Record<keyof Statements, PreparedStatement>>;
