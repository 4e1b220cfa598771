/**
 * How the PostgreSQL stores (`PostgresStore`, `PostgresUserStore`) create and upgrade their tables:
 * migration `n` takes a set of tables from version `n` to `n + 1`, and the version is kept in a
 * meta table of the set. Already current: one SELECT, no lock, and no CREATE privilege needed (so
 * the app may run as a role that cannot create tables, once a deploy has migrated). Otherwise one
 * transaction under a transaction-scoped advisory lock keyed by the set, so two instances starting
 * at once take turns (concurrent `CREATE TABLE IF NOT EXISTS` can otherwise fail on pg_type's
 * unique index), and a failure leaves nothing half-made. A version above what the code knows is
 * refused with a {@link SchemaVersionError}: a newer latchkey migrated the database, and retrying
 * cannot help, so it is no 503.
 *
 * @module postgres/migrations
 */
import { SchemaVersionError } from '../errors.ts';
import { withTransaction } from './pool.ts';
import type { PostgresPool, PostgresQueryable } from './pool.ts';

/** A set of versioned tables: the quoted name of the table holding its version, and its migration lock key. */
export interface Versioned {
  readonly meta: string;
  readonly lockKey: string;
}

/** The recorded version; throws on a version this code does not know (a newer latchkey's). */
async function readVersion(db: PostgresQueryable, meta: string, known: number): Promise<number> {
  const { rows } = await db.query(`SELECT value FROM ${meta} WHERE key = 'schema_version'`);
  const value = rows[0]?.value;
  const version = value === undefined ? 0 : Number(value);
  if (!Number.isSafeInteger(version) || version < 0 || version > known) {
    throw new SchemaVersionError(meta, String(value), known);
  }
  return version;
}

/** Brings the tables versioned in `target.meta` to version `migrations.length`, as the module doc says. */
export async function applyMigrations(pool: PostgresPool, target: Versioned, migrations: readonly string[]): Promise<void> {
  try {
    if ((await readVersion(pool, target.meta, migrations.length)) === migrations.length) return;
  } catch (error) {
    if ((error as { code?: unknown }).code !== '42P01') throw error; // 42P01: no meta table yet
  }
  await withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [target.lockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${target.meta} (key text PRIMARY KEY, value text NOT NULL)`);
    const version = await readVersion(client, target.meta, migrations.length);
    for (const migration of migrations.slice(version)) await client.query(migration);
    await client.query(
      `INSERT INTO ${target.meta} (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [String(migrations.length)],
    );
  });
}

/**
 * A store's migration, run on its first call (or by its `migrate()`) and then never again; after a
 * failure the next call tries again, without a restart. Concurrent first calls share one run.
 */
export class Migration {
  readonly #apply: () => Promise<void>;
  #ready: Promise<void> | null = null;
  #done = false;

  constructor(apply: () => Promise<void>) {
    this.#apply = apply;
  }

  /** True once the tables are current: calls skip the migration without an `await`. */
  get done(): boolean {
    return this.#done;
  }

  /** Runs the migration unless it ran or is running; a failure rejects with `failure(cause)`. */
  run(failure: (cause: unknown) => Error): Promise<void> {
    this.#ready ??= this.#apply().then(
      () => {
        this.#done = true;
      },
      (cause: unknown) => {
        this.#ready = null; // the next call tries again
        throw failure(cause);
      },
    );
    return this.#ready;
  }
}
