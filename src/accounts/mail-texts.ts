/**
 * The texts of the accounts' mails: a reset link, a verification link, an email-change link, and
 * the notices of SEC-71 and SEC-15 (second factors added or removed and recovery codes used among
 * them, SEC-81, SEC-84; a passkey has notices of its own, since the authenticator app's would
 * mislead). English plain text by default; an app overrides any of them
 * by key (`messages`), and every text goes through its `localize` hook before the placeholders
 * `{app}`, `{link}` and `{name}` are filled in, so a translation catalogue is keyed on the
 * template, never on a user's name. Each link stands on a line of its own (the app's HTTP contract), so no
 * mail client glues a full stop to it.
 *
 * @module accounts/mail-texts
 */

/** The mails the accounts send; each has a `…Subject` and a `…Text`. */
export type MailKind = 'reset' | 'verify' | 'emailChange' | 'emailChangeNotice' | 'passwordChanged' | 'signupAttempt' | 'rememberTheft'
  | 'secondFactorAdded' | 'secondFactorRemoved' | 'recoveryCodeUsed' | 'passkeyAdded' | 'passkeyRemoved';

/** The key of one mail text, for `createAccounts({ messages })`. */
export type MailTextKey = `${MailKind}Subject` | `${MailKind}Text`;

/** What a text may refer to: the app's name, the link of this mail (empty in notices), the user's display name. */
export interface MailValues {
  readonly app: string;
  readonly link: string;
  readonly name: string;
}

const DEFAULT_TEXTS: Readonly<Record<MailTextKey, string>> = Object.freeze({
  resetSubject: 'Reset your {app} password',
  resetText:
    'Hello {name},\n\nSomeone asked to reset the password of your {app} account. To choose a new password, open this link within 60 minutes:\n\n{link}\n\n' +
    'If it was not you, ignore this message: your password stays as it is.\n',
  verifySubject: 'Confirm your email address for {app}',
  verifyText:
    'Hello {name},\n\nTo confirm that this address is yours, open this link within 24 hours:\n\n{link}\n\n' +
    'If you did not sign up to {app}, ignore this message.\n',
  emailChangeSubject: 'Confirm your new email address for {app}',
  emailChangeText:
    'Hello {name},\n\nYou asked to use this address for your {app} account. To confirm, open this link within 24 hours:\n\n{link}\n\n' +
    'Until then your account keeps its current address. If it was not you, ignore this message.\n',
  emailChangeNoticeSubject: 'The email address of your {app} account is being changed',
  emailChangeNoticeText:
    'Hello {name},\n\nA new email address was given for your {app} account. Once it is confirmed from its mailbox, it replaces this one, ' +
    'and this address gets no more mail from {app}.\n\nIf you did not ask for this, reset your password at once and contact us.\n',
  passwordChangedSubject: 'Your {app} password was changed',
  passwordChangedText:
    'Hello {name},\n\nThe password of your {app} account was just changed, and the other devices signed in to it were signed out.\n\n' +
    'If you did not do this, reset your password at once and contact us.\n',
  signupAttemptSubject: 'Someone tried to sign up to {app} with your address',
  signupAttemptText:
    'Hello {name},\n\nSomeone tried to create a {app} account with this email address, which has one already. ' +
    'If it was you, log in instead, or reset your password if you have forgotten it.\n\nIf it was not you, ignore this message: nothing was changed.\n',
  rememberTheftSubject: 'A saved login of your {app} account was used twice',
  rememberTheftText:
    'Hello {name},\n\nA "remember me" login of your {app} account was used from two places, which happens when its cookie has been copied. ' +
    'It was ended.\n\nIf you did not expect this, change your password.\n',
  secondFactorAddedSubject: 'A second factor was added to your {app} account',
  secondFactorAddedText:
    'Hello {name},\n\nAn authenticator app was just set up as a second factor of your {app} account, with a new set of recovery codes.\n\n' +
    'If you did not do this, reset your password at once and contact us.\n',
  secondFactorRemovedSubject: 'The second factor of your {app} account was removed',
  secondFactorRemovedText:
    'Hello {name},\n\nThe authenticator app of your {app} account was just removed, with its recovery codes: your password alone now logs in.\n\n' +
    'If you did not do this, reset your password at once and contact us.\n',
  recoveryCodeUsedSubject: 'A recovery code of your {app} account was used',
  recoveryCodeUsedText:
    'Hello {name},\n\nOne of the recovery codes of your {app} account was just used to log in; it cannot be used again.\n\n' +
    'If it was not you, reset your password at once and contact us.\n',
  passkeyAddedSubject: 'A passkey was added to your {app} account',
  passkeyAddedText:
    'Hello {name},\n\nA passkey was just added to your {app} account: it can now log in to it.\n\n' +
    'If you did not do this, remove it from your account at once, reset your password and contact us.\n',
  passkeyRemovedSubject: 'A passkey was removed from your {app} account',
  passkeyRemovedText:
    'Hello {name},\n\nA passkey was just removed from your {app} account: it can no longer log in to it.\n\n' +
    'If you did not do this, reset your password at once and contact us.\n',
});

const KEYS = new Set(Object.keys(DEFAULT_TEXTS));
const PLACEHOLDER = /\{(app|link|name)\}/g;

/** Checks `messages` (misuse throws `TypeError`) and merges them over the defaults, frozen. */
export function resolveMailTexts(messages: unknown): Readonly<Record<MailTextKey, string>> {
  if (messages === undefined) return DEFAULT_TEXTS;
  if (typeof messages !== 'object' || messages === null) throw new TypeError('messages must be an object of mail texts by key');
  for (const [key, text] of Object.entries(messages)) {
    // A misspelt key would otherwise leave the default in place without a word.
    if (!KEYS.has(key)) throw new TypeError(`messages: unknown mail text ${key}; the keys are ${[...KEYS].join(', ')}`);
    if (typeof text !== 'string' || text.trim() === '') throw new TypeError(`messages.${key} must be a non-empty string`);
    if (key.endsWith('Subject') && /[\r\n]/.test(text)) throw new TypeError(`messages.${key}: a subject is one line`);
  }
  return Object.freeze({ ...DEFAULT_TEXTS, ...(messages as Partial<Record<MailTextKey, string>>) });
}

/**
 * The subject and text of one mail: each template localised, then its placeholders filled in one
 * pass, so that a value containing `{link}` (a name) is never filled in again.
 */
export function composeMail(
  texts: Readonly<Record<MailTextKey, string>>,
  localize: (text: string) => string,
  kind: MailKind,
  values: MailValues,
): { subject: string; text: string } {
  const fill = (key: MailTextKey) => localize(texts[key]).replace(PLACEHOLDER, (_, name: keyof MailValues) => values[name]);
  // A subject is a header: one line, whatever a translation or a value holds (no header injection).
  return { subject: fill(`${kind}Subject`).replace(/[\r\n]+/g, ' '), text: fill(`${kind}Text`) };
}
