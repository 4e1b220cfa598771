/**
 * Logging in with a passkey (WebAuthn L2 §7.2), in two forms:
 * - the **second step** after a password (SEC-80): the options list the user's credentials, the
 *   challenge is issued to that user, and user verification is preferred, not required (the
 *   password was the knowledge factor);
 * - a **passwordless** login with a discoverable credential: no credential is listed, the user is
 *   whoever owns the credential that answers, and user verification is required (SEC-82: the
 *   passkey alone is then two factors, something held and something known or are).
 * The assertion's signature, origin, RP ID and flags are verified by `@simplewebauthn/server`; the
 * signature counter is decided by the credential store in one conditional write (SEC-83), so of
 * two uses of one assertion at most one passes and a counter that goes back is a possible clone.
 * The session records `hwk` (RFC 8176): the app passes `['hwk']` to `auth.login` for a
 * passwordless login, `{ method: 'hwk' }` to `completeSecondStep` for the step (SEC-84).
 *
 * @module passkeys/authentication
 */
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { PasskeyCredential } from '../credential-store.ts';
import { checkUserId } from '../token-store.ts';
import { ANONYMOUS_CHALLENGE_USER, consumeChallenge, issueChallenge, PURPOSE } from './challenges.ts';
import type { PasskeysCore } from './options.ts';
import { readResponse, userHandleOf } from './response.ts';
import type { AuthenticatePasskeyResult, PasskeyRefusal } from './results.ts';
import { webauthn } from './webauthn.ts';

/** What `Passkeys.authenticationOptions` does (documented there). */
export async function authenticationOptions(core: PasskeysCore, input: { userId?: string } = {}): Promise<PublicKeyCredentialRequestOptionsJSON> {
  if (typeof input !== 'object' || input === null) throw new TypeError('authenticationOptions: input must be an object');
  const { userId } = input;
  const { generateAuthenticationOptions } = await webauthn();
  if (userId === undefined) {
    const challenge = await issueChallenge(core, PURPOSE.login, ANONYMOUS_CHALLENGE_USER);
    return generateAuthenticationOptions({ rpID: core.rpId, challenge: bytesOf(challenge), timeout: core.challengeTimeout, userVerification: 'required' });
  }
  checkUserId('authenticationOptions', userId);
  const credentials = await core.credentials.listCredentials(userId);
  const challenge = await issueChallenge(core, PURPOSE.step, userId);
  return generateAuthenticationOptions({
    rpID: core.rpId,
    challenge: bytesOf(challenge),
    timeout: core.challengeTimeout,
    userVerification: 'preferred',
    allowCredentials: credentials.map((credential) => ({ id: credential.id, transports: [...credential.transports] })),
  });
}

/** What `Passkeys.authenticate` does (documented there). */
export async function authenticate(core: PasskeysCore, input: { response: unknown; userId?: string }): Promise<AuthenticatePasskeyResult> {
  if (typeof input !== 'object' || input === null) throw new TypeError('authenticate: needs { response, userId? }');
  const { response, userId } = input;
  if (userId !== undefined) checkUserId('authenticate', userId);
  const step = userId !== undefined;
  const fields = readResponse(response, 'get');
  let owner: string | null = userId ?? null;
  const refuse = (reason: Exclude<PasskeyRefusal, 'taken'>) => {
    core.events.emit('passkeyRejected', { reason, userId: owner, credentialId: fields?.id ?? null });
    return Object.freeze({ ok: false as const, reason });
  };
  if (fields === null) return refuse('invalid');
  // Used up whatever follows (SEC-82: single use); a step's challenge only for the user it was issued to.
  const challenge = await consumeChallenge(core, step ? PURPOSE.step : PURPOSE.login, fields.challenge);
  if (challenge === null || (step && challenge.userId !== userId)) return refuse('challenge');
  const credential = await core.credentials.getCredential(fields.id);
  if (credential === null) return refuse('invalid');
  // Another user's passkey completes nobody's step; a discoverable credential answers for its own user only (§7.2 step 6).
  if (step ? credential.userId !== userId : fields.userHandle !== null && fields.userHandle !== userHandleOf(credential.userId)) return refuse('invalid');
  owner = credential.userId;
  const verdict = await verify(core, response as AuthenticationResponseJSON, fields.challenge, credential, !step);
  if (verdict === null) return refuse('invalid');
  const use = await core.credentials.useCredential(credential.id, verdict.newCounter);
  if (use === null) return refuse('invalid'); // removed meanwhile
  if (use === 'regressed') {
    core.events.emit('passkeyCounterRegressed', { userId: credential.userId, credentialId: credential.id });
    return refuse('regressed');
  }
  core.events.emit('passkeyUsed', { userId: credential.userId, credentialId: credential.id, userVerified: verdict.userVerified });
  return Object.freeze({
    ok: true as const,
    userId: credential.userId,
    credential: Object.freeze({ ...credential, counter: verdict.newCounter }),
    userVerified: verdict.userVerified,
  });
}

/**
 * The verified assertion's counter and UV flag, or null when it does not verify. The library is
 * given the counter 0, which turns its own counter check off: the store's conditional write
 * decides (SEC-83), atomically across processes, and a regression comes back as `regressed`
 * rather than as one more exception among the malformed inputs.
 */
async function verify(
  core: PasskeysCore,
  response: AuthenticationResponseJSON,
  challenge: string,
  credential: PasskeyCredential,
  requireUserVerification: boolean,
): Promise<{ newCounter: number; userVerified: boolean } | null> {
  const { verifyAuthenticationResponse } = await webauthn();
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...core.origins],
      expectedRPID: core.rpId,
      credential: { id: credential.id, publicKey: bytesOf(credential.publicKey), counter: 0, transports: [...credential.transports] },
      requireUserVerification,
    });
    const { newCounter, userVerified } = result.authenticationInfo;
    return result.verified && Number.isSafeInteger(newCounter) ? { newCounter, userVerified } : null;
  } catch {
    // Every malformed or mismatched field (origin, RP ID, type, flags, signature encoding) is the network's: refused, never thrown.
    return null;
  }
}

function bytesOf(base64url: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(base64url, 'base64url'));
}
