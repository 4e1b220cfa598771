/**
 * What the passkey ceremonies answer and emit. Expected outcomes are values: a refused
 * registration or assertion is `{ ok: false, reason }`, never an exception, because every response
 * comes from the network (WebAuthn L2 §7.1, §7.2: the relying party fails the ceremony). The events
 * carry ids only, never a challenge, a key or a signature, so an audit log can record them as they
 * are (SEC-68).
 *
 * @module passkeys/results
 */
import type { PasskeyCredential } from '../credential-store.ts';

/** Why a ceremony was refused. */
export type PasskeyRefusal =
  /** The response is malformed, or does not verify: origin, RP ID, type, flags, signature, an unknown or foreign credential (SEC-82). */
  | 'invalid'
  /** The challenge is unknown, used, expired, issued for another purpose or to another user (SEC-82: single use, ≤ 5 min). */
  | 'challenge'
  /** A registration whose credential id is registered already (SEC-83: a credential registers once). */
  | 'taken'
  /** The signature counter did not increase: the authenticator may have been cloned (SEC-83, WebAuthn §6.1.1). */
  | 'regressed';

/** What `Passkeys.register` answers. */
export type RegisterPasskeyResult =
  | { readonly ok: true; readonly credential: PasskeyCredential }
  | { readonly ok: false; readonly reason: 'invalid' | 'challenge' | 'taken' };

/** What `Passkeys.authenticate` answers. */
export type AuthenticatePasskeyResult =
  | {
      readonly ok: true;
      /** The credential's owner: the user to log in (passwordless) or whose second step this completes. */
      readonly userId: string;
      /** The credential as read before this use (so `lastUsedAt` is the previous use), with the new counter. */
      readonly credential: PasskeyCredential;
      /** Whether the authenticator verified the user (UV flag): always true for a passwordless login (SEC-82). */
      readonly userVerified: boolean;
    }
  | { readonly ok: false; readonly reason: 'invalid' | 'challenge' | 'regressed' };

/** The events of `Passkeys.on`, by name. Listeners run synchronously (see lib/emitter.ts). */
export interface PasskeyEvents {
  /** A passkey was registered. The app tells the owner (`accounts.notifySecondFactor`, SEC-84). */
  passkeyAdded: { readonly userId: string; readonly credentialId: string };
  /** A passkey logged a user in or completed a second step. */
  passkeyUsed: { readonly userId: string; readonly credentialId: string; readonly userVerified: boolean };
  /** A passkey was removed by its owner. The app tells the owner (SEC-84). */
  passkeyRemoved: { readonly userId: string; readonly credentialId: string };
  /**
   * A registration or assertion was refused (every refusal, `regressed` included). `userId` is the
   * user the caller named or the credential's owner, when known; `credentialId` the response's id
   * when it was well formed.
   */
  passkeyRejected: { readonly reason: PasskeyRefusal; readonly userId: string | null; readonly credentialId: string | null };
  /** A verified assertion whose counter did not increase: a possible clone of the authenticator (SEC-83). Worth an alert. */
  passkeyCounterRegressed: { readonly userId: string; readonly credentialId: string };
}
