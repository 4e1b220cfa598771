/**
 * The options of the accounts' mail path (password reset, email verification, email change and
 * the notices of SEC-71), checked once into the frozen part of the core they share: the token
 * store, the app's mail function and link builders, the texts, the verification mode and the
 * throttle of recovery requests. A partial configuration is a `TypeError` at construction, never
 * a reset that silently leaves sessions alive or mails that go out unthrottled.
 *
 * @module accounts/recovery-options
 */
import { randomBytes } from 'node:crypto';
import type { LoginThrottle } from '../login-throttle.ts';
import { isTokenStore, type TokenStore } from '../token-store.ts';
import { resolveMailTexts, type MailTextKey } from './mail-texts.ts';

/** One message for the app's mail function: plain text, each link on a line of its own. */
export interface AccountMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

/** Sends one message; may be async. Its failure never changes an answer (emitted as `mailFailed`). */
export type SendMail = (message: AccountMail) => void | Promise<void>;

/** The links put in mails, built by the app from its configured public URL, never from a request (SEC-58). */
export interface MailLinks {
  resetPassword(token: string): string;
  verifyEmail(token: string): string;
  confirmEmail(token: string): string;
}

/** 'off': no verification mail; 'optional': a mail at registration, login as before; 'required': no login before verifying (SEC-15, SEC-62). */
export type EmailVerificationMode = 'off' | 'optional' | 'required';

/** The mail options of `createAccounts` (all optional; `appName` names the app in subjects). */
export interface MailOptions {
  /** Where reset, verification and email-change tokens live (only their SHA-256). With it, `mail`, `links`, `recoveryThrottle` and `revokeSessions` are required. */
  tokens?: TokenStore;
  /** Sends one message; may be async; its failure never changes an answer (emitted as `mailFailed`). */
  mail?: SendMail;
  /** The links put in mails, built by the app from its configured public URL (SEC-58), never from a request. */
  links?: MailLinks;
  /** @default 'optional' */
  emailVerification?: EmailVerificationMode;
  /** Overrides of the mail texts, by key; every text also goes through `localize`. */
  messages?: Partial<Record<MailTextKey, string>>;
  /** Translates a mail template before its placeholders are filled in. @default the identity */
  localize?: (text: string) => string;
  /**
   * Counts reset, verification and email-change requests per IP (`countRequest`) and per address
   * (a counter under the keyed hash of the canonical address, SEC-16, SEC-54), e.g.
   * `createLoginThrottle({ store, secret, scope: 'recovery', account: { freeFailures: 3, baseDelay: '1h', maxDelay: '1h', ttl: '1h' }, ip: { maxFailures: 30, window: '1h' } })`
   * for 3 mails per hour to one address and 30 requests per hour from one IP. `false` only when
   * something in front limits these requests.
   */
  recoveryThrottle?: LoginThrottle | false;
}

/** The checked mail options. `tokens`, `links` and `recoveryThrottle` are set together or not at all. */
export interface MailCore {
  readonly tokens: TokenStore | null;
  readonly mail: SendMail | null;
  readonly links: MailLinks | null;
  readonly emailVerification: EmailVerificationMode;
  readonly texts: Readonly<Record<MailTextKey, string>>;
  readonly localize: (text: string) => string;
  readonly recoveryThrottle: LoginThrottle | null;
  readonly appName: string;
  /** The key of `mailFailed`'s address hashes: this process's own, so a log can group failures but never read an address (SEC-69). */
  readonly mailKey: Uint8Array;
  /** The background work (lookups, tokens, mails) under way, for `Accounts.idle()`. */
  readonly background: Set<Promise<void>>;
}

const MODES = new Set(['off', 'optional', 'required']);
const LINKS = ['resetPassword', 'verifyEmail', 'confirmEmail'] as const;

/** Checks the mail options (misuse throws `TypeError`) into the frozen {@link MailCore}. */
export function resolveMailOptions(options: MailOptions & { appName?: string; revokeSessions?: unknown }): MailCore {
  const { tokens, mail, links } = options;
  if (mail !== undefined && typeof mail !== 'function') throw new TypeError('mail must be a function ({ to, subject, text, html? }) => void | Promise<void>');
  if (tokens !== undefined && !isTokenStore(tokens)) {
    throw new TypeError('tokens must be a TokenStore (createToken, findToken, consumeToken, deleteUserTokens)');
  }
  if (tokens !== undefined) {
    if (mail === undefined) throw new TypeError('tokens needs mail: recovery needs tokens and mail');
    if (typeof links !== 'object' || links === null || LINKS.some((name) => typeof links[name] !== 'function')) {
      throw new TypeError('tokens needs links: { resetPassword, verifyEmail, confirmEmail }, each (token) => URL on the configured public origin (SEC-58)');
    }
    // A reset must end every session and remember-me series (SEC-60): without the callback it could not.
    if (typeof options.revokeSessions !== 'function') throw new TypeError('tokens needs revokeSessions: a password reset ends every session of the user (SEC-60)');
  } else if (links !== undefined) {
    throw new TypeError('links are only used with tokens and mail');
  }
  const throttle = options.recoveryThrottle;
  if (tokens !== undefined && throttle === undefined) {
    // Unthrottled, the reset form is a way to flood any inbox (SEC-54): an opt-out must be explicit.
    throw new TypeError("recoveryThrottle is required with tokens: createLoginThrottle({ store, secret, scope: 'recovery', … }), or false when something in front limits these requests per address and per IP");
  }
  if (throttle !== undefined && throttle !== false && typeof throttle?.countRequest !== 'function') throw new TypeError('recoveryThrottle must be a LoginThrottle');
  const mode = options.emailVerification ?? 'optional';
  if (!MODES.has(mode)) throw new TypeError("emailVerification must be 'off', 'optional' or 'required'");
  // Nobody could ever log in: verification would have no link to send.
  if (mode === 'required' && tokens === undefined) throw new TypeError("emailVerification 'required' needs tokens, mail and links");
  const localize = options.localize ?? ((text: string) => text);
  if (typeof localize !== 'function') throw new TypeError('localize must be a function (text) => text');
  if (mail !== undefined && (typeof options.appName !== 'string' || options.appName.trim() === '' || /[\r\n]/.test(options.appName))) {
    throw new TypeError('mail needs appName, a one-line name for the subjects of mails');
  }
  return Object.freeze({
    tokens: tokens ?? null,
    mail: mail ?? null,
    links: links === undefined ? null : Object.freeze({
      resetPassword: (token: string) => links.resetPassword(token),
      verifyEmail: (token: string) => links.verifyEmail(token),
      confirmEmail: (token: string) => links.confirmEmail(token),
    }),
    emailVerification: mode,
    texts: resolveMailTexts(options.messages),
    localize,
    recoveryThrottle: throttle === undefined || throttle === false ? null : throttle,
    appName: options.appName ?? '',
    mailKey: randomBytes(32),
    background: new Set<Promise<void>>(),
  });
}
