/**
 * The second-factor half of {@link Accounts} (SEC-77…SEC-81, SEC-84): a TOTP authenticator and its
 * recovery codes, whether an account has two-factor login (TOTP or a passkey), the notices of a
 * factor added or removed, and the throttled check of the second step. A base class of `Accounts`,
 * so that each file stays one concept; the operations live in second-factors.ts and second-step.ts.
 *
 * @module accounts/second-factor-methods
 */
import type { AccountsCore } from './options.ts';
import type { BeginTotpSetupResult, ConfirmTotpSetupResult, SecondFactorMethod, VerifySecondFactorResult } from './results.ts';
import {
  beginTotpSetup,
  confirmTotpSetup,
  countRecoveryCodes,
  disableTotp,
  hasSecondFactor,
  notifySecondFactor,
  regenerateRecoveryCodes,
  secondFactorMethods,
} from './second-factors.ts';
import { verifySecondFactor } from './second-step.ts';

/** The second-factor methods of {@link Accounts}; not made on its own. */
export class SecondFactorMethods {
  readonly #core: AccountsCore;

  constructor(core: AccountsCore) {
    this.#core = core;
  }

  /**
   * Starts a TOTP setup (SEC-77): a new secret, stored unconfirmed, and its `otpauth://` URI (issuer
   * `appName`); `enabled` while one is confirmed. Second-factor methods need a `FactorStore`.
   */
  beginTotpSetup(userId: string): Promise<BeginTotpSetupResult> {
    return beginTotpSetup(this.#core, userId);
  }

  /** Enables the authenticator with a correct code (SEC-77, its step spent, SEC-78); answers 10 recovery codes to show once (SEC-81); notifies (SEC-84). */
  confirmTotpSetup(input: { userId: string; code?: unknown }): Promise<ConfirmTotpSetupResult> {
    return confirmTotpSetup(this.#core, input);
  }

  /** Deletes the authenticator and its recovery codes; notifies (SEC-84). Ask for a fresh login first. False if there was none. */
  disableTotp(userId: string): Promise<boolean> {
    return disableTotp(this.#core, userId);
  }

  /** A new set of 10 recovery codes to show once; the old set is void (SEC-81). Ask for a fresh login first. */
  regenerateRecoveryCodes(userId: string): Promise<string[]> {
    return regenerateRecoveryCodes(this.#core, userId);
  }

  /**
   * Whether the account has two-factor login, so its login needs a second step (SEC-80): a confirmed
   * authenticator, or at least one passkey (with a `CredentialStore`). Needs either store.
   */
  hasSecondFactor(userId: string): Promise<boolean> {
    return hasSecondFactor(this.#core, userId);
  }

  /** The account's second factors, `'totp'` first: for the login's `methods` and the two-factor page. Needs either store. */
  secondFactorMethods(userId: string): Promise<SecondFactorMethod[]> {
    return secondFactorMethods(this.#core, userId);
  }

  /**
   * Tells the owner that a second factor was added or removed (SEC-71, SEC-84): a notice by mail (in
   * the background, as every notice) and the `secondFactorAdded` / `secondFactorRemoved` event with
   * `method`. What the app calls after `passkeys.register` and `passkeys.remove`, which know nothing
   * of accounts; the TOTP methods notify by themselves. A `TypeError` for an unknown account.
   */
  notifySecondFactor(userId: string, change: 'added' | 'removed', method: SecondFactorMethod): Promise<void> {
    return notifySecondFactor(this.#core, userId, change, method);
  }

  /** How many unused recovery codes the account has (SEC-81: the count is shown). */
  countRecoveryCodes(userId: string): Promise<number> {
    return countRecoveryCodes(this.#core, userId);
  }

  /**
   * Checks a second-step code: 6 digits are a TOTP code, accepted once (SEC-78); anything else a
   * recovery code, used up and notified (SEC-81). Throttled per account, every refusal counted (SEC-79).
   */
  verifySecondFactor(input: { userId: string; code?: unknown; ip?: string | null }): Promise<VerifySecondFactorResult> {
    return verifySecondFactor(this.#core, input);
  }
}
