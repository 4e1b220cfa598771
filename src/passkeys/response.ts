/**
 * The first look at a response from the browser, before any store is asked: its shape, as
 * `PublicKeyCredential.toJSON()` and `@simplewebauthn/browser` send it (WebAuthn L3 §5.1
 * `RegistrationResponseJSON` / `AuthenticationResponseJSON`), and the challenge its clientDataJSON
 * carries (WebAuthn L2 §5.8.1). Anything else (not an object, a wrong type, bad base64url, bad JSON,
 * an oversized field) is `null`, which the ceremonies answer as `invalid`: the response comes from
 * the network, so no input makes them throw. The signature, origin, RP ID and flags are checked by
 * `@simplewebauthn/server` afterwards; this only decides what is worth looking up.
 *
 * @module passkeys/response
 */
import { isBase64url } from '../lib/encoding.ts';

/** What the ceremonies need from a well-formed response. */
export interface ResponseFields {
  /** The credential id (base64url, as the credential store keeps it). */
  readonly id: string;
  /** The challenge from clientDataJSON (base64url, 43 characters: the 32 bytes we issued). */
  readonly challenge: string;
  /** An assertion's userHandle (base64url), or null when absent. */
  readonly userHandle: string | null;
}

/** Unpadded base64url (RFC 4648 §5), as browsers encode every binary field of these JSON forms. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** WebAuthn §5.1 caps a credential id at 1023 bytes: 1364 base64url characters. */
const MAX_ID = 1366;
/** Far above any real field (an attestation with a certificate chain is a few KB): a larger one is an attack on our parser. */
const MAX_FIELD = 65_536;
/** clientDataJSON holds a type, a 43-character challenge, an origin and two flags: a few hundred bytes. */
const MAX_CLIENT_DATA = 4_096;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isField = (value: unknown, max = MAX_FIELD): value is string => typeof value === 'string' && value.length <= max && BASE64URL.test(value);

/**
 * The fields of a registration (`kind` 'create') or an assertion ('get') response, or null when it
 * is not shaped as a browser sends one.
 */
export function readResponse(value: unknown, kind: 'create' | 'get'): ResponseFields | null {
  if (!isRecord(value) || value.type !== 'public-key' || !isField(value.id, MAX_ID) || value.rawId !== value.id) return null;
  const response = value.response;
  if (!isRecord(response) || !isField(response.clientDataJSON, MAX_CLIENT_DATA)) return null;
  let userHandle: string | null = null;
  if (kind === 'create') {
    if (!isField(response.attestationObject)) return null;
    if (response.transports !== undefined && !Array.isArray(response.transports)) return null;
  } else {
    if (!isField(response.authenticatorData) || !isField(response.signature)) return null;
    if (response.userHandle !== undefined && response.userHandle !== null) {
      // An empty userHandle is no handle we issued: read as present, so it cannot match anyone.
      if (typeof response.userHandle !== 'string' || (response.userHandle !== '' && !isField(response.userHandle, 128))) return null;
      userHandle = response.userHandle;
    }
  }
  const challenge = challengeOf(response.clientDataJSON as string, kind === 'create' ? 'webauthn.create' : 'webauthn.get');
  return challenge === null ? null : Object.freeze({ id: value.id as string, challenge, userHandle });
}

/** The challenge of a clientDataJSON of `type`, or null (bad JSON, another type, a challenge we cannot have issued). */
function challengeOf(clientDataJSON: string, type: string): string | null {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(data) || data.type !== type || typeof data.challenge !== 'string') return null;
  return isBase64url(data.challenge, 43) ? data.challenge : null;
}

/**
 * The WebAuthn user handle of an account: the UTF-8 bytes of its id, base64url (WebAuthn L2
 * §5.4.3 caps it at 64 bytes). Derived, not random, so that a discoverable assertion's userHandle
 * can be checked against the credential's owner without a table of handles; it is opaque to the
 * authenticator, and an id says nothing personal (§14.6.1 forbids names and addresses here).
 */
export function userHandleOf(userId: string): string {
  return Buffer.from(userId, 'utf8').toString('base64url');
}

/** The bytes of a user handle, or null when the id is too long to be one (> 64 bytes, WebAuthn L2 §5.4.3). */
export function userHandleBytes(userId: string): Uint8Array<ArrayBuffer> | null {
  const bytes = new TextEncoder().encode(userId);
  return bytes.byteLength <= 64 ? bytes : null;
}
