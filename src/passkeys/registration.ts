/**
 * Registering a passkey (WebAuthn L2 §7.1), for a user the app has logged in: the creation options
 * the browser's `navigator.credentials.create()` takes, then the check of what it answers. The
 * attestation and its signature are verified by `@simplewebauthn/server`, never here; this module
 * owns the challenge (SEC-82: ≥ 128 bits, server-side, single use, ≤ 5 min, issued to this user),
 * the policy (a discoverable credential, user verification required, attestation `none`, SEC-82),
 * and the store (SEC-83: a credential id registers once).
 *
 * @module passkeys/registration
 */
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON, VerifiedRegistrationResponse } from '@simplewebauthn/server';
import { checkCredentialArguments } from '../credential-store.ts';
import { checkUserId } from '../token-store.ts';
import { consumeChallenge, issueChallenge, PURPOSE } from './challenges.ts';
import type { PasskeysCore } from './options.ts';
import { readResponse, userHandleBytes } from './response.ts';
import type { PasskeyRefusal, RegisterPasskeyResult } from './results.ts';
import { webauthn } from './webauthn.ts';

/** The COSE key as stored (base64url): a larger one is no key we accept (see credential-store.ts). */
const MAX_PUBLIC_KEY = 4096;
const TRANSPORT = /^[a-z-]{1,32}$/;
const MAX_TRANSPORTS = 8;
/**
 * EdDSA, ES256, RS256 (COSE -8, -7, -257): what authenticators ship. Pinned rather than the
 * library's default, which adds ML-DSA-44 when the runtime has it (experimental in Node 24): the
 * algorithms a site accepts should not change with the Node version it runs on.
 */
const ALGORITHMS = [-8, -7, -257];

/** What `Passkeys.registrationOptions` does (documented there). */
export async function registrationOptions(
  core: PasskeysCore,
  input: { userId: string; userName: string; userDisplayName?: string },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  if (typeof input !== 'object' || input === null) throw new TypeError('registrationOptions: needs { userId, userName }');
  const { userId, userName, userDisplayName = userName } = input;
  checkUserId('registrationOptions', userId);
  const handle = userHandleBytes(userId);
  if (handle === null) throw new TypeError('registrationOptions: userId must be at most 64 bytes in UTF-8 (a WebAuthn user handle, §5.4.3)');
  for (const [name, value] of [['userName', userName], ['userDisplayName', userDisplayName]] as const) {
    if (typeof value !== 'string' || value === '' || value.length > 320) throw new TypeError(`registrationOptions: ${name} must be 1 to 320 characters`);
  }
  // Existing credentials are excluded, so an authenticator that holds one says so instead of registering twice (§5.4.3).
  const existing = await core.credentials.listCredentials(userId);
  const challenge = await issueChallenge(core, PURPOSE.register, userId);
  const { generateRegistrationOptions } = await webauthn();
  return generateRegistrationOptions({
    rpName: core.rpName,
    rpID: core.rpId,
    userName,
    userDisplayName,
    userID: handle,
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: core.challengeTimeout,
    attestationType: 'none', // SEC-82: no attestation asked for, so none is trusted or needed
    excludeCredentials: existing.map((credential) => ({ id: credential.id, transports: [...credential.transports] })),
    // Discoverable, so that it can log in without a password; verified, so that it is two factors in one (SEC-82).
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    supportedAlgorithmIDs: ALGORITHMS,
  });
}

/** What `Passkeys.register` does (documented there). */
export async function register(core: PasskeysCore, input: { userId: string; response: unknown; name: string }): Promise<RegisterPasskeyResult> {
  if (typeof input !== 'object' || input === null) throw new TypeError('register: needs { userId, response, name }');
  const { userId, response, name } = input;
  checkCredentialArguments('register', { userId, name });
  const fields = readResponse(response, 'create');
  const refuse = (reason: Exclude<PasskeyRefusal, 'regressed'>) => {
    core.events.emit('passkeyRejected', { reason, userId, credentialId: fields?.id ?? null });
    return Object.freeze({ ok: false as const, reason });
  };
  if (fields === null) return refuse('invalid');
  // Used up whatever follows (SEC-82: single use): a failed attempt needs new options.
  const challenge = await consumeChallenge(core, PURPOSE.register, fields.challenge);
  if (challenge === null || challenge.userId !== userId) return refuse('challenge');
  const { verifyRegistrationResponse } = await webauthn();
  let verified: VerifiedRegistrationResponse;
  try {
    verified = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: fields.challenge,
      expectedOrigin: [...core.origins],
      expectedRPID: core.rpId,
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    });
  } catch {
    // The library throws for every malformed or mismatched field (bad CBOR, origin, RP ID, flags…): all are the network's.
    return refuse('invalid');
  }
  if (!verified.verified) return refuse('invalid');
  const { credential } = verified.registrationInfo;
  const publicKey = Buffer.from(credential.publicKey).toString('base64url');
  // The id the authenticator put in its signed data must be the one the response names (§7.1 step 22: it is what we store).
  if (credential.id !== fields.id || publicKey.length > MAX_PUBLIC_KEY || !Number.isSafeInteger(credential.counter)) return refuse('invalid');
  const added = await core.credentials.addCredential({
    id: credential.id,
    userId,
    publicKey,
    counter: credential.counter,
    transports: transportsOf(response as RegistrationResponseJSON),
    name,
  });
  if (added === null) return refuse('taken');
  core.events.emit('passkeyAdded', { userId, credentialId: added.id });
  return Object.freeze({ ok: true as const, credential: added });
}

/** The response's transports that look like transports (hints for later `allowCredentials`), at most 8, once each. */
function transportsOf(response: RegistrationResponseJSON): string[] {
  const listed: unknown = response.response.transports;
  if (!Array.isArray(listed)) return [];
  const valid = listed.filter((transport): transport is string => typeof transport === 'string' && TRANSPORT.test(transport));
  return [...new Set(valid)].slice(0, MAX_TRANSPORTS);
}
