/**
 * WebAuthn challenges, kept server-side as one-time tokens (SEC-82, WebAuthn L2 §13.4.3): 32 random
 * bytes (256 bits, above the 128 SEC-82 asks), of which the {@link TokenStore} keeps only the
 * SHA-256 of their base64url text, as it keeps every token (SEC-21's rule); bound to a purpose and
 * a user; live for `challengeTimeout` (≤ 5 minutes) on the store's clock; consumed atomically, so
 * an answer counts once (`DELETE … RETURNING`, a Lua script: of two parallel uses one wins).
 *
 * The challenge is not kept in the browser's session: the response itself carries it (in the
 * signed clientDataJSON), so a lookup by its hash finds it, and a response whose challenge we never
 * issued, or issued for another ceremony or user, finds nothing it may use.
 *
 * @module passkeys/challenges
 */
import { sha256 } from '../lib/encoding.ts';
import { randomToken } from '../lib/tokens.ts';
import type { OneTimeToken } from '../token-store.ts';
import type { PasskeysCore } from './options.ts';

/** The token purposes of the three ceremonies: a challenge of one is never accepted by another. */
export const PURPOSE = Object.freeze({
  register: 'passkey-register',
  /** The second step after a password: issued to the user whose password was right. */
  step: 'passkey-step',
  /** A passwordless login with a discoverable credential: issued before anyone is known. */
  login: 'passkey-login',
} as const);

export type ChallengePurpose = (typeof PURPOSE)[keyof typeof PURPOSE];

/**
 * The user a passwordless challenge is stored under. A {@link TokenStore} binds every token to a
 * user (its contract refuses an empty id), but a passwordless login starts before anyone is known:
 * its challenges share this placeholder. Nothing reads it back: `authenticate` without a userId
 * takes the user from the credential, and accepts only the purpose `passkey-login`, which no
 * challenge issued to a real user has. A user store would have to issue this very id for its
 * `deleteUserTokens` to touch them, and even then only challenges would go.
 */
export const ANONYMOUS_CHALLENGE_USER = 'passkey-login:anonymous';

/** Issues a challenge: stores its hash for `userId` and `purpose`, and answers it (base64url, 43 characters). */
export async function issueChallenge(core: PasskeysCore, purpose: ChallengePurpose, userId: string): Promise<string> {
  const challenge = randomToken(core.randomBytes, 32);
  await core.challenges.createToken({ hash: sha256(challenge), userId, purpose, email: null, lifetime: core.challengeTimeout });
  return challenge;
}

/** Consumes the live challenge of `purpose` (once); null when it is unknown, used, expired or of another purpose. */
export function consumeChallenge(core: PasskeysCore, purpose: ChallengePurpose, challenge: string): Promise<OneTimeToken | null> {
  return core.challenges.consumeToken(sha256(challenge), purpose);
}
