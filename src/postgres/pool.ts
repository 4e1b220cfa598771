/**
 * What latchkey's PostgreSQL stores need of the app's connection pool, and what they share: the
 * structural pool type (a `pg.Pool` fits it, and so does any pool with the same two methods that
 * honours node-postgres's `rowMode: 'array'` and per-query `types`, so the package never needs
 * `pg` or `@types/pg` itself), identifier and pool checks, the database
 * clock as SQL, BIGINT conversion and transactions that survive a connection dying under them.
 *
 * @module postgres/pool
 */

/** A row as node-postgres returns it: column names to values (or, with `rowMode: 'array'`, the values in order). */
export type Row = Record<string, unknown>;

/**
 * node-postgres's query config for a named statement: the first time `name` runs on a connection,
 * the driver has PostgreSQL parse and plan `text` under it, and later runs only bind and execute
 * (postgres/prepared). A name must always come with the same text.
 */
export interface PostgresQueryConfig {
  readonly name: string;
  readonly text: string;
  readonly values?: unknown[];
  /** `'array'`: each row as an array of its values, in column order (node-postgres's `rowMode`). */
  readonly rowMode?: 'array';
  /** The type parsers of this query alone (node-postgres's per-query `types`). */
  readonly types?: { getTypeParser(oid: number, format?: string): (text: string) => unknown };
}

/** Anything that runs a parameterised query, as text or as a named statement: a pool, or a client checked out of one. */
export interface PostgresQueryable {
  query(text: string | PostgresQueryConfig, values?: unknown[]): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/** A client checked out of the pool (`pg.PoolClient`). */
export interface PostgresPoolClient extends PostgresQueryable {
  /** Returns the client; with an error or `true`, destroys its connection instead. */
  release(error?: Error | boolean): void;
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
}

/** The app's pool: `pg.Pool`, or anything with its `query` (text or named config) and `connect`. */
export interface PostgresPool extends PostgresQueryable {
  connect(): Promise<PostgresPoolClient>;
}

/**
 * A schema, table or prefix name. It is spliced into SQL (always double-quoted), so it is checked,
 * never escaped (SEC-73). Lower case only: PostgreSQL folds unquoted names to lower case, so a
 * mixed-case name would be a table the operator cannot type in psql without quotes.
 */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Checks an identifier of at most `max` bytes (PostgreSQL's limit is 63). */
export function requireIdentifier(owner: string, name: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > max) {
    throw new TypeError(`${owner}: ${name} must match ${IDENTIFIER} and have at most ${max} characters`);
  }
  return value;
}

/** Checks that `pool` looks like a `pg.Pool`. */
export function requirePool(owner: string, pool: unknown): PostgresPool {
  const candidate = pool as Partial<PostgresPool> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.query !== 'function' || typeof candidate.connect !== 'function') {
    throw new TypeError(`${owner}: pool must be a pg.Pool (an object with query() and connect())`);
  }
  return candidate as PostgresPool;
}

/**
 * The first part of every statement: `clock.now`, the time every decision of the statement uses,
 * evaluated once. `$1` is the injected test clock; when it is null (always, in production) the
 * database's own clock decides, in ms since the epoch, rounded down so that
 * `now` is never ahead of the real time. A CTE with a volatile function is never inlined, so
 * `clock_timestamp()` is read once per statement.
 */
export const CLOCK = 'WITH clock AS (SELECT coalesce($1::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now)';

/**
 * ms from a BIGINT column. node-postgres returns int8 as a string by default (an app may have set
 * another type parser: numbers and bigints are accepted too); ms since the epoch stay far below
 * 2^53, and anything else is a broken row, not a time.
 */
export function toMs(value: unknown): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' || typeof value === 'bigint' ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(ms)) throw new Error(`PostgreSQL returned ${typeof value} where integer ms were expected`);
  return ms;
}

/** SQLSTATE of an error from PostgreSQL, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Runs `work` in `BEGIN … COMMIT` on one client of the pool; rolls back on error. node-postgres
 * emits `error` on a checked-out client whose connection dies (the pool only listens while the
 * client is idle), and an unhandled `error` event would end the process. So the
 * client gets a listener for as long as it is checked out, and a client whose connection failed,
 * or whose rollback failed, is destroyed rather than returned to the pool.
 */
export async function withTransaction<T>(pool: PostgresPool, work: (client: PostgresQueryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error): void => {
    broken = error;
  };
  client.on?.('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (broken === undefined) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error('ROLLBACK failed');
      }
    }
    throw error;
  } finally {
    client.removeListener?.('error', onError);
    client.release(broken);
  }
}
