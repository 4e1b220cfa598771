/**
 * The tokens in the accounts' mail links (SEC-57, SEC-61, SEC-63): 32 random bytes
 * (256 bits, base64url, 43 characters) that only the mail carries, stored as their SHA-256 through
 * the {@link TokenStore}, so a copy of the database opens no account. Each is bound to its user, its
 * purpose and an address (the account's at issue; for an email change, the new one), and lives
 * 60 minutes (a reset, CPH password-reset "≈1 h") or 24 hours (a verification or an email change,
 * CPH email-verification "1–24 h").
 *
 * @module accounts/one-time-links
 */
import { randomBytes } from 'node:crypto';
import { isBase64url, sha256 } from '../lib/encoding.ts';
import { randomToken, SECRET_LENGTH } from '../lib/tokens.ts';
import type { OneTimeToken, TokenStore } from '../token-store.ts';
import type { UserRecord } from '../user-store.ts';
import type { AccountsCore } from './options.ts';
import type { MailLinks, SendMail } from './recovery-options.ts';

/** What each kind of link is for, and how long it lives (ms). */
export const LINKS = Object.freeze({
  reset: { purpose: 'reset', lifetime: 60 * 60_000 },
  verify: { purpose: 'verify', lifetime: 24 * 60 * 60_000 },
  emailChange: { purpose: 'email-change', lifetime: 24 * 60 * 60_000 },
});

export type LinkKind = keyof typeof LINKS;

/** The core of accounts that send links: the token store, the mail function and the link builders are all set. */
export type RecoveryCore = AccountsCore & { readonly tokens: TokenStore; readonly mail: SendMail; readonly links: MailLinks };

/** The core with its mail path, or a `TypeError` naming the method: misuse, not an outcome. */
export function requireRecovery(core: AccountsCore, method: string): RecoveryCore {
  if (core.tokens === null || core.mail === null || core.links === null) throw new TypeError(`${method}: recovery needs tokens and mail`);
  return core as RecoveryCore;
}

/** Stores a new token of `kind` for `userId`, bound to `email`; returns the raw token, for the mail only. */
export async function issueLinkToken(core: RecoveryCore, kind: LinkKind, userId: string, email: string): Promise<string> {
  const token = randomToken(randomBytes, 32);
  await core.tokens.createToken({ hash: sha256(token), userId, purpose: LINKS[kind].purpose, email, lifetime: LINKS[kind].lifetime });
  return token;
}

/** The stored hash of a token as a client sent it, or null for anything that cannot be one (never a store call). */
export function linkTokenHash(token: unknown): string | null {
  return typeof token === 'string' && isBase64url(token, SECRET_LENGTH) ? sha256(token) : null;
}

/** The live token of `kind`, without consuming it (SEC-42: a GET shows a form, mail scanners follow links). */
export async function findLinkToken(core: RecoveryCore, kind: LinkKind, token: unknown): Promise<OneTimeToken | null> {
  const hash = linkTokenHash(token);
  return hash === null ? null : core.tokens.findToken(hash, LINKS[kind].purpose);
}

/** The live token of `kind`, deleted in the same step: of two parallel uses exactly one gets it (SEC-57, R-05). */
export async function consumeLinkToken(core: RecoveryCore, kind: LinkKind, token: unknown): Promise<OneTimeToken | null> {
  const hash = linkTokenHash(token);
  return hash === null ? null : core.tokens.consumeToken(hash, LINKS[kind].purpose);
}

/**
 * The active account a token is for, while the token's address is still the account's: a link
 * mailed to an address the account has left opens nothing (SEC-57, SEC-61).
 */
export async function tokenOwner(core: RecoveryCore, token: OneTimeToken): Promise<UserRecord | null> {
  const user = await core.users.getUserById(token.userId);
  return user !== null && user.isActive && token.email !== null && user.emailCanonical === token.email ? user : null;
}
