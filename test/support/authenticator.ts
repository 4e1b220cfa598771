/**
 * A software authenticator and browser, for tests: it answers the options of `latchkey/passkeys`
 * with exactly what a browser posts (`RegistrationResponseJSON` / `AuthenticationResponseJSON`, as
 * `@simplewebauthn/browser`'s `startRegistration` / `startAuthentication` resolve), made from
 * first principles so that the server library checks something it did not produce itself:
 * - an ES256 key pair from node:crypto per credential (COSE alg -7, WebAuthn L2 §5.8.5);
 * - authenticator data: SHA-256(RP ID), flags UP, UV, AT, a big-endian signature counter, and at
 *   registration the attested credential data (AAGUID, id, COSE key) (§6.1);
 * - an attestation object in CBOR (RFC 8949) with fmt `none` and an empty statement (§8.7);
 * - clientDataJSON (§5.8.1), and an assertion signature over authData ‖ SHA-256(clientDataJSON) (§6.3.3).
 * Every field can be made wrong with a {@link Tamper}, and the JSON it returns can be edited at will.
 *
 * @example
 * ```ts
 * const authenticator = new SoftwareAuthenticator({ origin: 'https://app.example' });
 * const created = authenticator.startRegistration(await passkeys.registrationOptions({ userId, userName }));
 * await passkeys.register({ userId, response: created, name: 'Laptop' });
 * const asserted = authenticator.startAuthentication(await passkeys.authenticationOptions());
 * await passkeys.authenticate({ response: asserted });
 * ```
 *
 * @module test/support/authenticator
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/** What to get wrong in one response; every field defaults to what an honest browser sends. */
export interface Tamper {
  /** The origin in clientDataJSON (a phishing page's). */
  origin?: string;
  /** The RP ID whose hash the authenticator data carries. */
  rpId?: string;
  /** The challenge in clientDataJSON. */
  challenge?: string;
  /** clientDataJSON's type (`webauthn.create` / `webauthn.get`). */
  type?: string;
  /** The UP flag. @default true */
  userPresent?: boolean;
  /** The UV flag. @default the authenticator's `userVerified` */
  userVerified?: boolean;
  /** The signature counter to send (and keep), e.g. a lower one, as a clone would. */
  counter?: number;
  /** Registration: the id of the new credential (an id registered already). Authentication: the credential to use. */
  credentialId?: string;
  /** Authentication: the userHandle sent; null sends none. @default the user handle it was registered with */
  userHandle?: string | null;
  /** Authentication: a well-formed signature over other data. */
  badSignature?: boolean;
}

/** Options of a {@link SoftwareAuthenticator}. */
export interface AuthenticatorOptions {
  /** The origin of the page the browser is on: what it writes in clientDataJSON. */
  origin: string;
  /** Whether it verifies the user (UV flag, a PIN or biometrics). @default true */
  userVerified?: boolean;
  /** How much the counter grows per assertion: 0 is an authenticator without a counter (always 0). @default 1 */
  counterStep?: number;
}

interface Key {
  readonly privateKey: KeyObject;
  readonly rpId: string;
  readonly userHandle: string;
  counter: number;
}

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

/** A software authenticator holding discoverable ES256 credentials. */
export class SoftwareAuthenticator {
  readonly origin: string;
  readonly userVerified: boolean;
  readonly counterStep: number;
  readonly #keys: Map<string, Key>;

  constructor(options: AuthenticatorOptions, keys: Map<string, Key> = new Map()) {
    this.origin = options.origin;
    this.userVerified = options.userVerified ?? true;
    this.counterStep = options.counterStep ?? 1;
    this.#keys = keys;
  }

  /** The ids of the credentials it holds, oldest first. */
  credentialIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** The counter it keeps for a credential. */
  counterOf(id: string): number {
    const key = this.#keys.get(id);
    if (!key) throw new Error(`no credential ${id}`);
    return key.counter;
  }

  /** A copy with the same keys and counters, as an attacker who extracted them would hold (SEC-83). */
  clone(options: Partial<AuthenticatorOptions> = {}): SoftwareAuthenticator {
    const keys = new Map([...this.#keys].map(([id, key]) => [id, { ...key }]));
    return new SoftwareAuthenticator({ origin: this.origin, userVerified: this.userVerified, counterStep: this.counterStep, ...options }, keys);
  }

  /** What `navigator.credentials.create()` resolves to, as JSON: a new credential for `options`. */
  startRegistration(options: PublicKeyCredentialCreationOptionsJSON, tamper: Tamper = {}): RegistrationResponseJSON {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const excluded = (options.excludeCredentials ?? []).some((credential) => this.#keys.get(credential.id)?.rpId === rpId);
    if (excluded && tamper.credentialId === undefined) throw new Error('InvalidStateError: the authenticator holds an excluded credential');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = tamper.credentialId ?? randomBytes(16).toString('base64url');
    const counter = tamper.counter ?? 0;
    this.#keys.set(id, { privateKey, rpId, userHandle: options.user.id, counter });
    const jwk = publicKey.export({ format: 'jwk' });
    // COSE_Key of an EC2 P-256 key for ES256 (RFC 9053 §7.1.1): kty 2, alg -7, crv 1, x, y.
    const cose = cbor(new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, b64(jwk.x)], [-3, b64(jwk.y)]]));
    const idBytes = Buffer.from(id, 'base64url');
    const attested = Buffer.concat([Buffer.alloc(16), u16(idBytes.length), idBytes, cose]); // AAGUID 0: "none" (§6.5.1)
    const authData = Buffer.concat([this.#authDataHead(tamper.rpId ?? rpId, tamper, counter, AT), attested]);
    const clientDataJSON = this.#clientData('webauthn.create', options.challenge, tamper);
    const attestationObject = cbor(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: attestationObject.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        transports: ['internal', 'hybrid'],
        publicKeyAlgorithm: -7,
        publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'),
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: { credProps: { rk: true } },
    };
  }

  /** What `navigator.credentials.get()` resolves to, as JSON: an assertion of a credential `options` allows. */
  startAuthentication(options: PublicKeyCredentialRequestOptionsJSON, tamper: Tamper = {}): AuthenticationResponseJSON {
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const allowed = (options.allowCredentials ?? []).map((credential) => credential.id);
    const candidates = [...this.#keys].filter(([id, key]) => key.rpId === rpId && (allowed.length === 0 || allowed.includes(id)));
    const chosen = tamper.credentialId === undefined ? candidates.at(-1) : [...this.#keys].find(([id]) => id === tamper.credentialId);
    if (chosen === undefined) throw new Error('NotAllowedError: no credential of this authenticator fits');
    const [id, key] = chosen;
    key.counter = tamper.counter ?? (this.counterStep === 0 ? 0 : key.counter + this.counterStep);
    const authData = this.#authDataHead(tamper.rpId ?? rpId, tamper, key.counter, 0);
    const clientDataJSON = this.#clientData('webauthn.get', options.challenge, tamper);
    const signed = Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]);
    // ES256 signatures are ASN.1 DER (WebAuthn L2 §6.5.6), what node:crypto's sign gives for an EC key.
    const signature = sign('sha256', tamper.badSignature ? Buffer.concat([signed, Buffer.of(0)]) : signed, key.privateKey);
    const userHandle = tamper.userHandle === undefined ? key.userHandle : tamper.userHandle;
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(userHandle === null ? {} : { userHandle }),
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  /** rpIdHash ‖ flags ‖ signCount (§6.1), with `extra` flags. */
  #authDataHead(rpId: string, tamper: Tamper, counter: number, extra: number): Buffer {
    const flags = (tamper.userPresent === false ? 0 : UP) | ((tamper.userVerified ?? this.userVerified) ? UV : 0) | extra;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.of(flags), count]);
  }

  #clientData(type: string, challenge: string, tamper: Tamper): Buffer {
    const data = { type: tamper.type ?? type, challenge: tamper.challenge ?? challenge, origin: tamper.origin ?? this.origin, crossOrigin: false };
    return Buffer.from(JSON.stringify(data), 'utf8');
  }
}

function b64(value: string | undefined): Buffer {
  if (value === undefined) throw new Error('the JWK lacks a coordinate');
  return Buffer.from(value, 'base64url');
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

/** A CBOR head (RFC 8949 §3): major type and argument, in the shortest form (deterministic, §4.2.1). */
function head(major: number, argument: number): Buffer {
  if (argument < 24) return Buffer.of((major << 5) | argument);
  if (argument < 0x100) return Buffer.of((major << 5) | 24, argument);
  if (argument < 0x10000) return Buffer.concat([Buffer.of((major << 5) | 25), u16(argument)]);
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(argument, 1);
  return out;
}

/** CBOR of what attestation objects and COSE keys hold: integers, byte and text strings, maps (RFC 8949 §3.1). */
export function cbor(value: unknown): Buffer {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.byteLength), value]);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Map) return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  throw new TypeError(`cbor: cannot encode ${typeof value}`);
}
