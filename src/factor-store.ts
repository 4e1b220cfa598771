/**
 * Where a user's second factors live: a TOTP authenticator and a set of recovery codes (issue 14,
 * SEC-77, SEC-78, SEC-81). A capability of the user stores, as the {@link TokenStore}
 * is of the session stores: `SqliteUserStore` and `PostgresUserStore` implement it beside
 * {@link UserStore}, in tables of their own that reference the accounts table, so deleting an
 * account deletes its factors.
 *
 * **Atomic where it matters.** A TOTP code is accepted once (SEC-78): `useTotpStep` records the
 * step in one conditional write (`UPDATE … WHERE last_step < step`), so of two requests with one
 * code exactly one passes, on any number of instances. A recovery code is single use (SEC-81):
 * `useRecoveryCode` deletes it in one statement, and only the caller whose statement deleted it
 * gets true.
 *
 * **Secrets.** The TOTP secret is what the app gives (base32, or sealed by the app with its own
 * key): the store keeps it as it is and never logs it. Recovery codes are kept only as their
 * SHA-256 (base64url, 43 characters), like one-time tokens (SEC-21, SEC-81).
 *
 * The conformance suite `describeFactorStoreConformance` (`latchkey/testing`) runs unchanged
 * against every implementation.
 *
 * @module factor-store
 */
import { checkUserId, DIGEST } from './token-store.ts';

/** A user's TOTP authenticator as stored. `secret` is what the app gave (base32, or sealed by the app); never logged. */
export interface TotpRecord { readonly secret: string; readonly confirmed: boolean; readonly lastStep: number | null; readonly createdAt: number }

/** A user's second factors: eight methods, `null` meaning absent; a failing backend rejects. */
export interface FactorStore {
  /** The user's TOTP record, or null. */
  getTotp(userId: string): Promise<TotpRecord | null>;
  /** Starts a setup: stores `secret` unconfirmed, replacing an unconfirmed one; refuses (false) while a confirmed one exists. */
  beginTotp(userId: string, secret: string): Promise<boolean>;
  /** Confirms the unconfirmed secret if it is still `secret` (a newer setup replaced it otherwise), recording `step` as used; true once. */
  confirmTotp(userId: string, secret: string, step: number): Promise<boolean>;
  /** Deletes the TOTP record (confirmed or not) and every recovery code of the user; true if there was a record. */
  deleteTotp(userId: string): Promise<boolean>;
  /** Atomically records `step` as the last used one if it is greater than the stored last step, for a confirmed record: false for a replay (SEC-78) or no confirmed record. Two parallel calls with one step: exactly one true. */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  /** Replaces the user's recovery codes by these hashes (base64url SHA-256, 43 chars); the old set is void (SEC-81). */
  setRecoveryCodes(userId: string, hashes: readonly string[]): Promise<void>;
  /** Atomically consumes the unused code with this hash; true once (two parallel calls: exactly one true). */
  useRecoveryCode(userId: string, hash: string): Promise<boolean>;
  /** How many unused recovery codes the user has. */
  countRecoveryCodes(userId: string): Promise<number>;
}

/** The methods of a {@link FactorStore}, for the shape check and the deadline guard. */
export const FACTOR_STORE_METHODS = [
  'getTotp', 'beginTotp', 'confirmTotp', 'deleteTotp', 'useTotpStep', 'setRecoveryCodes', 'useRecoveryCode', 'countRecoveryCodes',
] as const satisfies readonly (keyof FactorStore)[];

/** Whether `value` has every method of a {@link FactorStore}. */
export function isFactorStore(value: unknown): value is FactorStore {
  return typeof value === 'object' && value !== null && FACTOR_STORE_METHODS.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

/** The longest secret a store keeps: a base32 secret is 32 characters, a sealed one a few times that. */
const MAX_SECRET = 1024;
/** More recovery codes than anyone is shown is a bug in the caller (SEC-81 gives 10). */
const MAX_CODES = 100;

/**
 * Checks the arguments of a {@link FactorStore} call, the same in every store: a user id as the
 * token store takes it, and the `secret`, `step`, `hash` or `hashes` the call has. Misuse throws
 * `TypeError` before anything reaches the backend; an unknown user is no misuse.
 */
export function checkFactorArguments(
  owner: string,
  args: { userId: unknown; secret?: unknown; step?: unknown; hash?: unknown; hashes?: unknown },
): void {
  checkUserId(owner, args.userId);
  if ('secret' in args && (typeof args.secret !== 'string' || args.secret === '' || args.secret.length > MAX_SECRET)) {
    throw new TypeError(`${owner}: secret must be a non-empty string of at most ${MAX_SECRET} characters`);
  }
  // A step is floor(unix time / 30 s) (RFC 6238 §4): a non-negative integer, compared as a number.
  if ('step' in args && !(Number.isSafeInteger(args.step) && (args.step as number) >= 0)) {
    throw new TypeError(`${owner}: step must be a non-negative safe integer`);
  }
  if ('hash' in args) checkDigest(owner, args.hash);
  if ('hashes' in args) {
    if (!Array.isArray(args.hashes) || args.hashes.length > MAX_CODES) throw new TypeError(`${owner}: hashes must be an array of at most ${MAX_CODES} digests`);
    for (const hash of args.hashes) checkDigest(owner, hash);
    // A repeated hash would be one code counted twice; random codes never repeat.
    if (new Set(args.hashes).size !== args.hashes.length) throw new TypeError(`${owner}: hashes must be distinct`);
  }
}

function checkDigest(owner: string, hash: unknown): void {
  if (typeof hash !== 'string' || !DIGEST.test(hash)) throw new TypeError(`${owner}: a recovery code hash is 43 base64url characters (SHA-256)`);
}

/** A frozen {@link TotpRecord} from the SQL stores' row (snake_case), with each database's boolean and number readers. */
export function totpFromRow(row: Readonly<Record<string, unknown>>, flag: (value: unknown) => boolean, int: (value: unknown) => number): TotpRecord {
  return Object.freeze({
    secret: row.secret as string,
    confirmed: flag(row.confirmed),
    lastStep: row.last_step === null || row.last_step === undefined ? null : int(row.last_step),
    createdAt: int(row.created_at),
  });
}
