/**
 * Named prepared statements for the PostgreSQL stores. Every statement a store runs again and
 * again is sent as node-postgres's `{ name, text, values }`, so each connection has PostgreSQL
 * parse and plan it once and then only binds and executes it: an unnamed statement is parsed and
 * planned on every call, which measured ~360 µs of database CPU per protected request (two
 * SELECTs). One-off statements (migrations, advisory locks, BEGIN/COMMIT/ROLLBACK, schema checks)
 * stay unnamed: a name would only keep them in the connection's memory.
 *
 * The name is `lk_` and the first 16 hex digits of the SHA-256 of the full text, computed once when
 * a store builds its statements. node-postgres refuses a name that comes with another text, so the
 * name follows the text: two stores with other schemas, prefixes or tables in one pool name their
 * statements differently, and two stores with the same tables share them.
 *
 * A prepared statement lives as long as its connection. PostgreSQL re-plans it when a table it
 * reads changes, but refuses to change the columns it returns: "cached plan must not change result
 * type" (SQLSTATE 0A000). The migrations of this code cannot cause that: a store prepares nothing
 * before its own `migrate()` has finished, and the migrations only create tables and indexes,
 * which re-plans a statement but changes no result (the statements name their columns, none says
 * `SELECT *`). A future migration that changed the type of a returned column in place, run by a
 * newer instance while older ones still serve, would: a failed `pool.query` costs only its
 * connection (pg.Pool destroys the connection of any failed query, stale statements with it), but
 * the remember-me transaction returns its client after ROLLBACK, and that connection would fail
 * every rotation until it closed. Such a migration must add a column instead, or every instance be
 * restarted; no retry is built in for a case no migration creates.
 *
 * A pooler in transaction mode that does not track protocol-level prepared statements (PgBouncer
 * before 1.21, or with `max_prepared_statements = 0`) hands the names to connections that never
 * prepared them; put the stores behind session pooling or a pooler that does.
 *
 * @module postgres/prepared
 */
import { hash } from 'node:crypto';
import type { PostgresQueryable, Row } from './pool.ts';

/** A statement and the name PostgreSQL prepares it under. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
  /** Rows come back as arrays of PostgreSQL's text for each column (NULL as null), no type parser applied. */
  readonly textRows: boolean;
}

/**
 * node-postgres's per-query type parsers, for {@link PreparedStatement.textRows}: every column as
 * the text PostgreSQL sent. The statement decides the text (`fresh::int`, bigint ms), and the store
 * reads it by position (session-record): no row object with fourteen properties, no parser per
 * column, and nothing an app's global `pg.types` setting could change.
 */
const AS_TEXT = Object.freeze({ getTypeParser: () => (text: string) => text });

/** Runs one named statement bound to a store's clock: `$1` is the clock, `values` the rest. */
export type Query = (sql: PreparedStatement, values: unknown[]) => Promise<Row[]>;

/** The prefix of every name, so that `pg_prepared_statements` shows which are latchkey's. */
export const STATEMENT_PREFIX = 'lk_';

/** `text` under its name: the prefix and 16 hex digits (64 bits) of its SHA-256. */
export function prepared(text: string, textRows = false): PreparedStatement {
  return Object.freeze({ name: STATEMENT_PREFIX + hash('sha256', text, 'hex').slice(0, 16), text, textRows });
}

/** Every statement of `texts` under its name, computed once; those named in `textRows` return text rows. */
export function preparedAll<K extends string>(texts: Readonly<Record<K, string>>, textRows: readonly NoInfer<K>[] = []): Readonly<Record<K, PreparedStatement>> {
  const entries = Object.entries(texts) as Array<[K, string]>;
  return Object.freeze(Object.fromEntries(entries.map(([key, text]) => [key, prepared(text, textRows.includes(key))])) as Record<K, PreparedStatement>);
}

/** Runs `statement` with `values`, prepared on the connection the first time. */
export function execute(db: PostgresQueryable, statement: PreparedStatement, values: unknown[]): Promise<{ rows: Row[]; rowCount: number | null }> {
  const { name, text, textRows } = statement;
  return db.query(textRows ? { name, text, values, rowMode: 'array', types: AS_TEXT } : { name, text, values });
}
