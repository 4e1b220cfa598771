/**
 * latchkey: login and session management for TypeScript web apps. Flask-Login's API on hashed,
 * revocable server-side sessions. Named re-exports only; adapters and stores live behind their
 * own subpaths (`latchkey/hono`, `latchkey/express`, `latchkey/fastify`, `latchkey/sqlite`,
 * `latchkey/postgres`, `latchkey/redis`, `latchkey/testing`), and so do passkeys (`latchkey/passkeys`).
 *
 * @module latchkey
 */
import { requireNode } from './lib/runtime.ts';
export { createLoginManager, LoginManager } from './manager.ts';
export type { CreateLoginManagerOptions, DenyHandler, ManagerOptionsView } from './manager.ts';
export type { LoginManagerOptions, ResolvedOptions, SessionProtection } from './options.ts';
export { RequestAuth } from './request-auth.ts';
export type { ConfirmLoginOptions, LoginOptions } from './request-auth.ts';
export type { CompleteSecondStepOptions, PendingSecondStep, SecondStepOptions } from './second-step.ts';
export type { GuardOptions } from './login-redirect.ts';
export type { SessionInfo } from './session-info.ts';
export { anonymousUser } from './anonymous.ts';
export type { AnonymousUser } from './anonymous.ts';
export type { LoginEventListener, LoginEventName, LoginEvents } from './events.ts';
export { HasherBusyError, LatchkeyError, SchemaVersionError, StoreTimeoutError, StoreUnavailableError, UnsupportedRuntimeError, isServiceUnavailable } from './errors.ts';
export type { AnyLatchkeyError, LatchkeyErrorCode } from './errors.ts';
export { loginUrl, makeNextParam, safeNext } from './next.ts';
export { hasJsonBody, isSafeMethod, wantsJson } from './request.ts';
export type { RequestAuthInit, RequestInit, RequestLike } from './request.ts';
export { checkRequestOrigin } from './csrf.ts';
export type { CsrfCheck } from './csrf.ts';
export type { FlashMessage } from './flash.ts';
export { parseDuration } from './duration.ts';
export { readCookies, serializeCookie } from './cookie.ts';
export type { CookieAttributes } from './cookie.ts';
export type { NewRememberToken, NewSession, RememberStore, RememberUse, Session, SessionStore, SessionUpdate, Store } from './store.ts';
export { ServiceUnavailableError } from './errors.ts';
export { createAccounts, Accounts } from './accounts/accounts.ts';
export type { AccountsOptions } from './accounts/options.ts';
export type { AccountEvents, AuthenticateResult, ChangePasswordResult, ConfirmPasswordResult, FieldErrors, ImportUserResult, RegisterResult } from './accounts/results.ts';
export type { ConfirmEmailChangeResult, InvalidToken, RequestEmailChangeResult, ResetPasswordResult, SendEmailVerificationResult, VerifyEmailResult } from './accounts/results.ts';
export type { BeginTotpSetupResult, ConfirmTotpSetupResult, SecondFactorMethod, VerifySecondFactorResult } from './accounts/results.ts';
export type { AccountMail, EmailVerificationMode, MailLinks, MailOptions, SendMail } from './accounts/recovery-options.ts';
export type { MailKind, MailTextKey } from './accounts/mail-texts.ts';
export type { NewUser, UserRecord, UserStore } from './user-store.ts';
export type { CredentialStore, NewPasskeyCredential, PasskeyCredential } from './credential-store.ts';
export type { FactorStore, TotpRecord } from './factor-store.ts';
export { canonicalizeEmail, canonicalizeUsername } from './accounts/identifier.ts';
export type { CanonicalIdentifier } from './accounts/identifier.ts';
export { createPasswordPolicy, normalizePassword } from './accounts/policy.ts';
export type { PasswordCheck, PasswordContext, PasswordPolicy, PasswordPolicyOptions, PasswordRefusalCode } from './accounts/policy.ts';
export { PasswordHasher } from './passwords/hasher.ts';
export type { HasherStats, PasswordHasherOptions, VerifyResult } from './passwords/hasher.ts';
export { createLoginThrottle } from './throttle.ts';
export type { LoginThrottleOptions } from './throttle-options.ts';
export type { FailureCounts, LoginThrottle, ThrottleAttempt, ThrottleReservation, ThrottleVerdict } from './login-throttle.ts';
export type { CounterState, CounterStore } from './counter-store.ts';
export type { NewOneTimeToken, OneTimeToken, TokenStore } from './token-store.ts';
export { base32Decode, base32Encode } from './base32.ts';
export { generateTotpSecret, totpCode, totpStep, totpUri, verifyTotp } from './totp.ts';
export type { TotpUriInput, TotpVerification } from './totp.ts';
export { generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode } from './recovery-codes.ts';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey', 'URL.parse, crypto.argon2');
