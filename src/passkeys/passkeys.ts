/**
 * Passkeys (WebAuthn credentials) for an app's accounts, on `@simplewebauthn/server` (issue 14):
 * registration, the second step after a password, passwordless login, and the owner's list. That
 * library verifies attestations and assertions; this object owns what it leaves to the relying
 * party: the challenges (SEC-82), the credentials and their counters (SEC-83), and the decision.
 * It is independent of the accounts module: the app tells the owner of a new or removed passkey
 * with `accounts.notifySecondFactor` (SEC-84), and records `hwk` in the session (RFC 8176).
 *
 * Every method is async; misuse throws `TypeError`; a refused ceremony is `{ ok: false, reason }`;
 * a failing or silent store rejects with `ERR_LATCHKEY_STORE_UNAVAILABLE` / `_TIMEOUT` (a 503, R-03).
 *
 * @module passkeys/passkeys
 */
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { checkCredentialArguments, type PasskeyCredential } from '../credential-store.ts';
import { authenticate, authenticationOptions } from './authentication.ts';
import { createPasskeysCore, type PasskeysCore, type PasskeysOptions } from './options.ts';
import { register, registrationOptions } from './registration.ts';
import type { AuthenticatePasskeyResult, PasskeyEvents, RegisterPasskeyResult } from './results.ts';

/** The passkeys of an app. Make one with {@link createPasskeys}. */
export class Passkeys {
  readonly #core: PasskeysCore;

  constructor(options: PasskeysOptions) {
    this.#core = createPasskeysCore(options);
    Object.freeze(this);
  }

  /** Subscribes to a passkey event; returns the unsubscribe function. */
  on<E extends keyof PasskeyEvents>(event: E, listener: (payload: PasskeyEvents[E]) => void): () => void {
    return this.#core.events.on(event, listener);
  }

  /**
   * The options for `navigator.credentials.create()` (`@simplewebauthn/browser`'s
   * `startRegistration({ optionsJSON })`), for the logged-in user `userId`. A new challenge (32
   * random bytes, SEC-82) is stored as a hash for this user, purpose `passkey-register`, for
   * `challengeTimeout`. The user's passkeys are excluded; a discoverable credential with user
   * verification is required; attestation `none`. The WebAuthn user handle is the UTF-8 bytes of
   * `userId` (so at most 64 bytes), so a passwordless assertion's `userHandle` names its owner.
   * `userDisplayName` defaults to `userName`.
   */
  registrationOptions(input: { userId: string; userName: string; userDisplayName?: string }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return registrationOptions(this.#core, input);
  }

  /**
   * Checks the browser's answer to {@link registrationOptions} and stores the passkey under `name`
   * (the user's label, 1 to 100 characters: validate it first, a bad one throws `TypeError`). The
   * challenge is read from the response and used up (SEC-82); `challenge` unless it was issued to
   * `userId` for a registration and is still live; `invalid` for anything malformed or that does
   * not verify (origin, RP ID, flags: user presence and verification required); `taken` when the
   * credential id is registered already. Then tell the owner: `accounts.notifySecondFactor(userId, 'added', 'passkey')`.
   */
  register(input: { userId: string; response: unknown; name: string }): Promise<RegisterPasskeyResult> {
    return register(this.#core, input);
  }

  /**
   * The options for `navigator.credentials.get()` (`startAuthentication({ optionsJSON })`). With
   * `userId`, the second step after that user's password: their passkeys are listed, purpose
   * `passkey-step`, user verification preferred. Without, a passwordless login: nothing listed
   * (the authenticator offers its discoverable credentials), purpose `passkey-login`, user
   * verification required (SEC-82).
   */
  authenticationOptions(input: { userId?: string } = {}): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return authenticationOptions(this.#core, input);
  }

  /**
   * Checks the browser's answer to {@link authenticationOptions}: give the same `userId` for the
   * second step, none for a passwordless login. `challenge` when its challenge is not live for that
   * ceremony (and user); `invalid` when it is malformed, names an unknown credential, another user's
   * (step) or a `userHandle` not the credential's owner (passwordless), or does not verify (UV is
   * required for passwordless); `regressed` when the signature counter did not increase, a possible
   * clone (SEC-83, also emitted as `passkeyCounterRegressed`). On success, log in `userId`:
   * `auth.login(user, { methods: ['hwk'] })` passwordless, `completeSecondStep(user, { method: 'hwk' })` for the step.
   */
  authenticate(input: { response: unknown; userId?: string }): Promise<AuthenticatePasskeyResult> {
    return authenticate(this.#core, input);
  }

  /** The user's passkeys, oldest first (for the account page: name, created, last used). */
  async list(userId: string): Promise<PasskeyCredential[]> {
    checkCredentialArguments('list', { userId });
    return this.#core.credentials.listCredentials(userId);
  }

  /** Renames the user's passkey (1 to 100 characters); false when it is not theirs or gone. */
  async rename(userId: string, id: string, name: string): Promise<boolean> {
    checkCredentialArguments('rename', { userId, id, name });
    return this.#core.credentials.renameCredential(userId, id, name);
  }

  /**
   * Removes the user's passkey, which no assertion can use afterwards; false when it is not theirs
   * or gone. Ask for a fresh login first, then tell the owner (SEC-84):
   * `accounts.notifySecondFactor(userId, 'removed', 'passkey')`.
   */
  async remove(userId: string, id: string): Promise<boolean> {
    checkCredentialArguments('remove', { userId, id });
    const removed = await this.#core.credentials.removeCredential(userId, id);
    if (removed) this.#core.events.emit('passkeyRemoved', { userId, credentialId: id });
    return removed;
  }

  /** Whether the user has at least one passkey. */
  async has(userId: string): Promise<boolean> {
    return (await this.list(userId)).length > 0;
  }
}

/**
 * Makes the passkeys of an app.
 *
 * @example
 * ```ts
 * import { createPasskeys } from 'latchkey/passkeys';
 *
 * const passkeys = createPasskeys({
 *   rpId: 'example.com',
 *   rpName: 'Example',
 *   origin: 'https://example.com',
 *   credentials: users, // a SqliteUserStore or PostgresUserStore
 *   challenges: store, // the login manager's store
 * });
 * const optionsJSON = await passkeys.authenticationOptions(); // passwordless
 * const result = await passkeys.authenticate({ response: body });
 * if (result.ok) await auth.login(await accounts.loadUser(result.userId), { methods: ['hwk'] });
 * ```
 */
export function createPasskeys(options: PasskeysOptions): Passkeys {
  return new Passkeys(options);
}
