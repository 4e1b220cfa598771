/**
 * One-time tokens ({@link TokenStore}) on `PostgresStore`'s prepared statements, one function per
 * operation. Each checks its arguments and returns the work that the store runs after its
 * migration, on the database's clock (R-08), inside its error handling (misuse stays a
 * `TypeError`). A token is live while `now < expiresAt`; it is consumed by one `DELETE …
 * RETURNING`: of parallel consumptions on any number of connections, the row lock lets exactly
 * one delete the row, and the others find nothing left (R-05, SEC-57).
 *
 * @module postgres/tokens
 */
import { StoreUnavailableError } from '../errors.ts';
import { checkTokenArguments, checkUserTokensArguments, type NewOneTimeToken, type OneTimeToken, type TokenStore } from '../token-store.ts';
import { toMs } from './pool.ts';
import type { Row } from './pool.ts';
import type { Query } from './prepared.ts';
import type { Sql } from './schema.ts';

/** What `PostgresStore` runs: a bound query in, a result out. */
type Work<T> = (query: Query) => Promise<T>;

/** A token row as {@link OneTimeToken}, frozen: a snapshot, never a live view. */
function toToken(row: Row | undefined): OneTimeToken | null {
  if (row === undefined) return null;
  return Object.freeze({
    hash: row.hash as string,
    userId: row.user_id as string,
    purpose: row.purpose as string,
    email: (row.email as string | null) ?? null,
    createdAt: toMs(row.created_at),
    expiresAt: toMs(row.expires_at),
  });
}

/** {@link TokenStore.createToken}: a hash held by a live token rejects (postgres/schema). */
export function createToken(sql: Sql, token: NewOneTimeToken): Work<OneTimeToken> {
  checkTokenArguments('PostgresStore.createToken', token);
  const { hash, userId, purpose, email, lifetime } = token;
  return async (query) => {
    const created = toToken((await query(sql.insertOneTimeToken, [hash, userId, purpose, email, lifetime]))[0]);
    if (created === null) throw new StoreUnavailableError('PostgresStore.createToken(): a live token has this hash');
    return created;
  };
}

/** {@link TokenStore.findToken}: an expired token reads as absent and is deleted as it is found. */
export function findToken(sql: Sql, hash: string, purpose: string): Work<OneTimeToken | null> {
  checkTokenArguments('PostgresStore.findToken', { hash, purpose });
  return async (query) => {
    const [row] = await query(sql.selectOneTimeToken, [hash]);
    if (row === undefined) return null;
    if (row.live !== true) {
      await query(sql.deleteOneTimeTokenIfExpired, [hash]);
      return null;
    }
    return row.purpose === purpose ? toToken(row) : null;
  };
}

/** {@link TokenStore.consumeToken}: one `DELETE … RETURNING`, so exactly one of parallel calls gets it. */
export function consumeToken(sql: Sql, hash: string, purpose: string): Work<OneTimeToken | null> {
  checkTokenArguments('PostgresStore.consumeToken', { hash, purpose });
  return async (query) => toToken((await query(sql.consumeOneTimeToken, [hash, purpose]))[0]);
}

/** {@link TokenStore.deleteUserTokens}: counts the live tokens among those it deleted. */
export function deleteUserTokens(sql: Sql, userId: string, purpose: string | undefined): Work<number> {
  checkUserTokensArguments('PostgresStore.deleteUserTokens', userId, purpose);
  return async (query) => Number((await query(sql.deleteUserOneTimeTokens, [userId, purpose ?? null]))[0]?.n ?? 0);
}
