/**
 * Benchmark: one batch of session reads on PostgreSQL, as PostgresStore makes it on a busy server
 * (BATCH ids read in one turn of the event loop, lib/read-batch), and who pays for it: this
 * process's CPU (the driver's decoding, the store's, the socket) and the database backend's CPU
 * (from /proc), per batch, in alternating rounds: the statement and decoding the store used before
 * 2026-12-06 (fourteen columns per row decoded by pg into an object, the ids as a text[] literal),
 * today's alone, and today's through the whole store (getSession per id, lib/read-batch).
 *
 *   npm run bench:pg-read
 *
 * The store reads a session as a row of text values (postgres/prepared's text rows, read by
 * position by session-record): pg no longer builds an object and runs a type parser per column.
 * The bench shows what that saves the app and what it costs the database, which bench:scale,
 * measuring the app, cannot show. A JSON record built by the database (`json_build_array`) saved
 * the app about as much and cost the database a third more per batch: it was not kept.
 *
 * It needs PostgreSQL at PG_URL (default postgres://postgres@127.0.0.1:5432/test) and makes a
 * database of its own, dropped at the end. The pool has one connection, so one backend serves
 * both targets. SESSIONS sessions are created through the store, then each batch reads BATCH of
 * them, picked in turn.
 *
 * Knobs (env): REPS=6 (alternating rounds), OPS=4000 (batches per measured run), BATCH=14, SESSIONS=2000.
 * Exits 0 whatever the figures; non-zero when a read does not return its sessions.
 *
 * @module bench/pg-read
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseAuthMethods } from '../src/auth-methods.ts';
import { PostgresStore } from '../src/postgres/index.ts';
import { toMs } from '../src/postgres/pool.ts';
import { execute, prepared } from '../src/postgres/prepared.ts';
import { statements, tableNames, toBatchRow } from '../src/postgres/schema.ts';
import type { Session } from '../src/store.ts';
import { finish, median, positiveInt } from './lib.ts';
import { createDatabase, runBench } from './scale/infra.ts';
import { processSeconds, usage } from './scale/procfs.ts';

const REPS = positiveInt('REPS', 6);
const OPS = positiveInt('OPS', 4000);
const BATCH = positiveInt('BATCH', 14);
const SESSIONS = positiveInt('SESSIONS', 2000);

/** The statement and decoding the store used until cffb71c (2026-12-06), as the baseline. */
const BEFORE_SQL = `WITH clock AS (SELECT coalesce($1::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now)
  SELECT id, secret_hash, user_id, fresh, remember_series, identifier, user_agent, ip_address, created_at, authenticated_at,
    last_seen_at, expires_at, absolute_expires_at, array_to_json(methods)::text AS methods, s.expires_at > clock.now AS live
  FROM "public"."latchkey_sessions" s, clock WHERE s.id = ANY($2::text[])`;

/** The store's own statement, run alone, as the store runs it (with text rows). */
const NOW = prepared(statements(tableNames('public', 'latchkey_')).selectSessions, true);

function sessionBefore(row: Record<string, unknown>): Session {
  return Object.freeze({
    id: row.id as string,
    secretHash: row.secret_hash as string,
    userId: row.user_id as string,
    fresh: row.fresh === true,
    rememberSeries: (row.remember_series as string | null) ?? null,
    identifier: (row.identifier as string | null) ?? null,
    userAgent: (row.user_agent as string | null) ?? null,
    ipAddress: (row.ip_address as string | null) ?? null,
    createdAt: toMs(row.created_at),
    authenticatedAt: toMs(row.authenticated_at),
    lastSeenAt: toMs(row.last_seen_at),
    expiresAt: toMs(row.expires_at),
    absoluteExpiresAt: toMs(row.absolute_expires_at),
    methods: parseAuthMethods(row.methods as string | null),
  });
}

interface Target {
  readonly label: string;
  /** Reads one batch; resolves with how many sessions it found. */
  readonly read: (ids: readonly string[]) => Promise<number>;
}

async function main(): Promise<number> {
  const database = `latchkey_bench_pgread_${randomBytes(4).toString('hex')}`;
  const url = await createDatabase(database);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const store = new PostgresStore({ pool, sweepInterval: 0 });
  try {
    await store.migrate();
    const ids: string[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const id = randomBytes(16).toString('base64url');
      await store.createSession({
        id, secretHash: randomBytes(32).toString('base64url'), userId: String(1 + (i % 50)), fresh: true, rememberSeries: null,
        identifier: randomBytes(32).toString('base64url'), userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0',
        ipAddress: '203.0.113.7', idleTimeout: 3_600_000, absoluteTimeout: 86_400_000, methods: ['pwd'],
      });
      ids.push(id);
    }
    const backend = Number((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
    const targets: Target[] = [
      {
        label: 'before: 14 columns, text[] ids',
        read: async (batch) => {
          const { rows } = await pool.query({ name: 'bench_before', text: BEFORE_SQL, values: [null, batch] });
          return rows.filter((row) => row.live === true).map(sessionBefore).length;
        },
      },
      {
        label: 'now: text rows, JSON ids',
        read: async (batch) => {
          const { rows } = await execute(pool, NOW, [null, JSON.stringify(batch)]);
          return rows.map(toBatchRow).filter((row) => row.live).length;
        },
      },
      // The whole store path: getSession per id, coalesced by lib/read-batch, behind the store's error handling.
      { label: 'now, through PostgresStore.getSession', read: async (batch) => (await Promise.all(batch.map((id) => store.getSession(id)))).filter((s) => s !== null).length },
    ];
    let next = 0;
    const batchOf = () => Array.from({ length: BATCH }, () => ids[next++ % ids.length] as string);
    const problems: string[] = [];
    const run = async (target: Target, ops: number) => {
      for (let i = 0; i < ops; i++) {
        const found = await target.read(batchOf());
        if (found !== BATCH && problems.length === 0) problems.push(`${target.label}: a batch of ${BATCH} found ${found}`);
      }
    };
    const results = targets.map(() => ({ app: [] as number[], db: [] as number[] }));
    const order = targets.map((_, i) => i);
    for (const target of targets) await run(target, 300); // warm-up: plans, JIT
    for (let round = 0; round < REPS; round++) {
      for (const i of round % 2 === 0 ? order : [...order].reverse()) {
        // usage() reads every process in /proc: outside the window this process's CPU is read in.
        const db0 = usage(database); // counts the backends of `database` (bench/scale/procfs)
        const app0 = process.cpuUsage();
        await run(targets[i] as Target, OPS);
        const app = process.cpuUsage(app0);
        results[i]?.app.push((app.user + app.system) / OPS);
        results[i]?.db.push((processSeconds(db0, usage(database), backend) * 1e6) / OPS);
      }
    }
    const fmt = (xs: number[]) => `${median(xs).toFixed(1).padStart(6)} [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]`;
    console.log(`=== ${BATCH} session reads per batch, ${REPS} alternating rounds of ${OPS} batches, one connection, Node ${process.versions.node}`);
    console.log(`${'target'.padEnd(40)} ${'app CPU µs/batch'.padEnd(22)} database backend CPU µs/batch (in /proc's 10 ms ticks: ${1e4 / OPS} µs resolution)`);
    targets.forEach((t, i) => console.log(`${t.label.padEnd(40)} ${fmt(results[i]!.app).padEnd(22)} ${fmt(results[i]!.db)}`));
    return finish(problems, console.log);
  } finally {
    await store.close();
    await pool.end();
  }
}

runBench(main);
