/**
 * One canonical form for the identifiers people sign in with, used for uniqueness, login, throttle
 * keys and reset lookup alike (SEC-18, SEC-75). The form is NFKC, then `toLowerCase()`,
 * then NFKC again, then spaces trimmed at both ends; whatever is still odd is refused, never
 * silently repaired, and the result is checked to be a fixed point so `canon(canon(x)) === canon(x)`
 * always holds. Idempotence is what the Spotify 2013 takeover lacked (ᴮᴵᴳᴮᴵᴿᴰ → BIGBIRD → bigbird
 * in two passes). The second NFKC is needed: lower-casing "H\u0331" gives "h\u0331", which NFKC
 * composes to "ẖ" (U+1E96); an exhaustive check of every code point, and of every cased letter
 * followed by every combining mark, finds no other case on Node 24's Unicode 17.
 *
 * What the form deliberately does not do:
 * - no case folding beyond `toLowerCase()`: "ß" stays "ß" (not "ss"), and dotless "ı" (U+0131)
 *   stays "ı", so `mıke@x.io` and `mike@x.io` are different accounts (the 2016 GitHub reset bug
 *   merged them and sent one user's reset mail to the other's address);
 * - no confusable ("skeleton") mapping: Cyrillic "аdmin" (U+0430) is accepted and stays distinct
 *   from Latin "admin". Applications that must stop look-alike registrations should add a
 *   UTS #39 mixed-script check at sign-up; merging them here would merge different mailboxes;
 * - no `+tag` or dot stripping (CPH email-verification §Sub-addressing): only the mail provider
 *   knows whether `a+b@x.io` reaches `a@x.io`;
 * - no IDNA: `bücher.de` and `xn--bcher-kva.de` are different canonical forms of one domain;
 *   both are accepted, and a user who registers with one must log in with the same one.
 *
 * Mail must always go to the address as stored, never to this key (SEC-18).
 *
 * @module accounts/identifier
 */
import { countCodePoints, utf8Length } from '../lib/unicode.ts';

/** The outcome of canonicalising an identifier: the key to store and look up, or why not. */
export type CanonicalIdentifier = { ok: true; value: string } | { ok: false; reason: string };

/** Longest raw input, in UTF-16 units, that is even normalised: 10 000-char inputs cost nothing. */
const RAW_CAP = 1024;
/** RFC 5321 §4.5.3.1.3 (256-octet path minus "<>"), RFC 3696 errata 1690; ASVS 1.3.11. */
const EMAIL_MAX_OCTETS = 254;
/** RFC 5321 §4.5.3.1.1. */
const LOCAL_MAX_OCTETS = 64;
/** RFC 1035 §2.3.4. */
const LABEL_MAX_OCTETS = 63;
const USERNAME_MIN = 3;
const USERNAME_MAX = 32;

// Every pattern below is a single character class, at most with a fixed count: linear time and
// nothing to backtrack into (ASVS 1.3.12, CPH email-verification §Input validation).
const SPACE = /\p{Zs}/u;
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;
const FORMAT = /\p{Cf}/u;
const UNASSIGNED = /[\p{Cn}\p{Co}]/u;
/** More than 4 combining marks in a row (Zalgo); Vietnamese needs 2, Indic scripts rarely 3. */
const MARK_FLOOD = /\p{M}{5}/u;
const LEADING_MARK = /^\p{M}/u;
/** Not RFC 5322 atext, ".", or a non-ASCII letter, mark or digit (RFC 6531). */
const LOCAL_BAD = /[^a-z0-9!#$%&'*+\-/=?^_`{|}~.\p{L}\p{M}\p{Nd}]/u;
/** Not an LDH character or a non-ASCII letter, mark or digit (an IDN U-label). */
const LABEL_BAD = /[^a-z0-9\-\p{L}\p{M}\p{Nd}]/u;
const ALL_DIGITS = /^[0-9]+$/;
const USERNAME_BAD = /[^\p{L}\p{M}\p{Nd}_.\-]/u;
const LETTER_OR_DIGIT = /[\p{L}\p{Nd}]/u;

/**
 * The canonical key of an email address, or the reason it is refused.
 *
 * @example
 * ```ts
 * canonicalizeEmail('  Mike+News@EXAMPLE.io\u00a0') // { ok: true, value: 'mike+news@example.io' }
 * canonicalizeEmail('v@x.io\r\nBcc: a@evil.io') // { ok: false, reason: 'Email address must not contain control characters …' }
 * ```
 */
export function canonicalizeEmail(input: unknown): CanonicalIdentifier {
  const base = canonicalize(input, 'Email address', 'Email address must be at most 254 characters long.');
  if (!base.ok) return base;
  const email = base.value;
  if (utf8Length(email) > EMAIL_MAX_OCTETS) return refuse('Email address must be at most 254 characters long.');
  const at = email.indexOf('@');
  if (at === -1 || email.indexOf('@', at + 1) !== -1) return refuse('Email address must contain exactly one "@".');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local === '') return refuse('Email address needs a name before the "@".');
  if (utf8Length(local) > LOCAL_MAX_OCTETS) return refuse('The part of the email address before the "@" must be at most 64 characters long.');
  if (LOCAL_BAD.test(local) || LEADING_MARK.test(local)) {
    return refuse('The part of the email address before the "@" contains a character that is not allowed.');
  }
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return refuse('The part of the email address before the "@" must not start or end with "." or contain "..".');
  }
  const labels = domain.split('.');
  if (labels.length < 2) return refuse('The domain of the email address must contain a ".", as in example.com.');
  for (const label of labels) {
    if (label === '' || utf8Length(label) > LABEL_MAX_OCTETS || label.startsWith('-') || label.endsWith('-')) {
      return refuse('The domain of the email address is not a valid domain name.');
    }
    if (LABEL_BAD.test(label) || LEADING_MARK.test(label)) {
      return refuse('The domain of the email address may contain only letters, digits, "-" and ".".');
    }
  }
  // RFC 3696 §2: a top-level domain is never all-numeric, so "a@10.0.0.1" is not a mail domain.
  if (ALL_DIGITS.test(labels[labels.length - 1] as string)) return refuse('The domain of the email address is not a valid domain name.');
  return { ok: true, value: email };
}

/**
 * The canonical key of a username, or the reason it is refused: 3 to 32 code points of letters
 * (any script), combining marks, digits, `_`, `.` and `-`, with at least one letter or digit. A
 * username never contains `@`, so a login string with `@` is an email address and one without is
 * a username.
 *
 * @example
 * ```ts
 * canonicalizeUsername('ｍｉｋｅ') // { ok: true, value: 'mike' }
 * canonicalizeUsername('mike@x.io') // { ok: false, reason: 'Username must not contain "@" …' }
 * ```
 */
export function canonicalizeUsername(input: unknown): CanonicalIdentifier {
  const base = canonicalize(input, 'Username', 'Username must be at most 32 characters long.');
  if (!base.ok) return base;
  const name = base.value;
  if (name.includes('@')) return refuse('Username must not contain "@": a name with "@" is read as an email address.');
  if (USERNAME_BAD.test(name)) return refuse('Username may contain only letters, digits, "_", "." and "-".');
  const length = countCodePoints(name);
  if (length < USERNAME_MIN || length > USERNAME_MAX) return refuse('Username must be 3 to 32 characters long.');
  if (LEADING_MARK.test(name)) return refuse('Username must not start with a combining mark.');
  if (!LETTER_OR_DIGIT.test(name)) return refuse('Username must contain at least one letter or digit.');
  return { ok: true, value: name };
}

/**
 * An identifier as the user typed it, for display and mail (SEC-18: mail goes to this form, never
 * the canonical key): NFKC, trimmed. Call it only on input that {@link canonicalizeEmail} or
 * {@link canonicalizeUsername} accepted.
 */
export function typedForm(input: string): string {
  return input.normalize('NFKC').trim();
}

/** The steps both identifiers share: type, size, well-formedness, canonical form, bad characters. */
function canonicalize(input: unknown, label: string, tooLong: string): CanonicalIdentifier {
  if (typeof input !== 'string') return refuse(`${label} must be a string.`);
  if (input.length > RAW_CAP) return refuse(tooLong);
  // Lone surrogates would all become U+FFFD on the way to UTF-8 and collide (SEC-09).
  if (!input.isWellFormed()) return refuse(`${label} contains malformed Unicode (an unpaired surrogate).`);
  const value = canonicalForm(input);
  // A fixed point by construction (see the module comment); refuse rather than store a key that
  // a second pass would change, should a future Unicode version break that.
  if (canonicalForm(value) !== value) return refuse(`${label} cannot be put into a stable canonical form.`);
  if (value === '') return refuse(`${label} must not be empty.`);
  if (CONTROL.test(value)) return refuse(`${label} must not contain control characters such as line breaks or NUL.`);
  if (FORMAT.test(value)) {
    return refuse(`${label} must not contain invisible formatting characters such as zero-width spaces or direction overrides.`);
  }
  if (UNASSIGNED.test(value)) return refuse(`${label} must not contain unassigned or private-use characters.`);
  if (MARK_FLOOD.test(value)) return refuse(`${label} must not stack more than 4 combining marks on one letter.`);
  return { ok: true, value };
}

/**
 * NFKC, lower case, NFKC, trim: fullwidth and compatibility forms fold to ASCII, the Kelvin sign
 * and superscript letters fold through NFKC, NBSP becomes a space and is trimmed. Unassigned code
 * points are left alone by NFKC and refused afterwards, as a later Unicode could map them.
 */
function canonicalForm(input: string): string {
  return trimSpaces(input.normalize('NFKC').toLowerCase().normalize('NFKC'));
}

/** Trims Unicode space separators (Zs) at both ends; control characters are refused, not trimmed. */
function trimSpaces(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && SPACE.test(s[start] as string)) start++;
  while (end > start && SPACE.test(s[end - 1] as string)) end--;
  return s.slice(start, end);
}



function refuse(reason: string): CanonicalIdentifier {
  return { ok: false, reason };
}
