/**
 * One-time tokens ({@link TokenStore}) on SQLite's statements, one function per operation. Each
 * checks its arguments and returns the work that `SqliteStore` runs with its clock inside its
 * error handling (misuse stays a `TypeError`). A token is live while `now < expiresAt`; it is
 * consumed by one `DELETE … RETURNING`, which SQLite's write lock makes atomic across processes
 * on the file (R-05, R-07, SEC-57).
 *
 * @module sqlite/tokens
 */
import { StoreUnavailableError } from '../errors.ts';
import { checkTokenArguments, checkUserTokensArguments, type NewOneTimeToken, type OneTimeToken } from '../token-store.ts';
import type { Statements } from './schema.ts';

/** What `SqliteStore` runs: a statement set and its time in, a result out. */
type Work<T> = (st: Statements, now: number) => T;

/** A token row (sqlite/schema's TOKEN columns), frozen: a snapshot, never a live view. */
function toToken(row: Record<string, unknown> | undefined): OneTimeToken | null {
  return row === undefined ? null : (Object.freeze({ ...row }) as unknown as OneTimeToken);
}

/** {@link TokenStore.createToken}: a hash held by a live token rejects (sqlite/schema). */
export function createToken(token: NewOneTimeToken): Work<OneTimeToken> {
  checkTokenArguments('SqliteStore.createToken', token);
  const { hash, userId, purpose, email, lifetime } = token;
  return (st, now) => {
    const row = toToken(st.insertOneTimeToken.get({ hash, userId, purpose, email, now, expiresAt: now + lifetime }));
    if (row === null) throw new StoreUnavailableError('SqliteStore.createToken(): a live token has this hash');
    return row;
  };
}

/** {@link TokenStore.findToken}: an expired token reads as absent and is deleted as it is found. */
export function findToken(hash: string, purpose: string): Work<OneTimeToken | null> {
  checkTokenArguments('SqliteStore.findToken', { hash, purpose });
  return (st, now) => {
    const token = toToken(st.selectOneTimeToken.get({ hash }));
    if (token === null) return null;
    if (now >= token.expiresAt) {
      st.deleteOneTimeTokenIfExpired.run({ hash, now });
      return null;
    }
    return token.purpose === purpose ? token : null;
  };
}

/** {@link TokenStore.consumeToken}: one `DELETE … RETURNING`, so exactly one of parallel calls gets it. */
export function consumeToken(hash: string, purpose: string): Work<OneTimeToken | null> {
  checkTokenArguments('SqliteStore.consumeToken', { hash, purpose });
  return (st, now) => toToken(st.consumeOneTimeToken.get({ hash, purpose, now }));
}

/** {@link TokenStore.deleteUserTokens}: counts the live tokens among those it deleted. */
export function deleteUserTokens(userId: string, purpose: string | undefined): Work<number> {
  checkUserTokensArguments('SqliteStore.deleteUserTokens', userId, purpose);
  return (st, now) => st.deleteUserOneTimeTokens.all({ userId, purpose: purpose ?? null, now }).filter((row) => row.live === 1).length;
}
