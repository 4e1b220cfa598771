/**
 * `latchkey/passkeys`: WebAuthn passkeys on `@simplewebauthn/server` (an optional peer dependency,
 * loaded only by this subpath, never by `import 'latchkey'`). Registration, the second step after a
 * password, passwordless login (SEC-82, SEC-83, SEC-84). Named re-exports only.
 *
 * @module latchkey/passkeys
 */
import { requireNode } from '../lib/runtime.ts';
export { createPasskeys, Passkeys } from './passkeys.ts';
export type { PasskeysOptions } from './options.ts';
export type { AuthenticatePasskeyResult, PasskeyEvents, PasskeyRefusal, RegisterPasskeyResult } from './results.ts';
export type { CredentialStore, NewPasskeyCredential, PasskeyCredential } from '../credential-store.ts';
export type { TokenStore } from '../token-store.ts';
export type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey/passkeys', 'URL.parse, crypto.argon2');
