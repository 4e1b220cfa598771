/**
 * The password policy of NIST SP 800-63B-4 §3.1.1.2, checked in an order that keeps it cheap:
 * type; size on the raw input, before any normalisation or hashing (SEC-06: a 1 MB body costs
 * O(1)); well-formed UTF-16 (SEC-09); NFKC (SEC-09); minimum length in code points, both as typed
 * and after NFKC (SEC-05: 15 by default, the security requirements §5.1): NFKC may expand one typed character
 * into 18, or compose two into one; then the blocklist on the whole password (SEC-08).
 * There are no composition rules, no trimming, no case folding, and NUL is an ordinary character
 * (SEC-07, SEC-09). NFKC is NIST's sanctioned canonicalisation, not a modification of what the
 * user typed (ASVS 6.2.8 says "exactly as received"; we read it as "no truncation or folding"):
 * hash the `password` that `check` returns, and run the login path through `limits` or
 * {@link normalizePassword} so both sides see the same string.
 *
 * The blocklist compares the whole password, lower-cased, never a substring (NIST: "the entire
 * password SHALL be subject to comparison"). Besides exact list entries it refuses, all in linear
 * time on at most 256 code points:
 * - a password made only of digits ("123456789012345", absent from Django's list), as `common`;
 * - one pattern shorter than the minimum length repeated ("abcabcabcabcabc", "😀" × 15), as
 *   `common`: repetition adds length, not guessing effort (SP 800-63B-3 named "aaaaaa" as a
 *   blocklist example). So SEC-05's 15 × "😀" passes the length rule and is refused by this one;
 * - a context word (app name, email address or its local part or the pieces of it, username, the
 *   user's name or its pieces) repeated, with digits, punctuation, symbols and spaces anywhere
 *   ("<AppName>2025!<AppName>", "<local><local>"), as `context`;
 * - a list entry of at least 4 characters repeated the same way ("passwordpassword1", absent from
 *   Django's list), as `common`.
 *
 * The bundled list is Django 3.2's 19 727 common passwords by Royce Williams (BSD-3-Clause, see
 * `data/README.md`; NIST SP 800-63B-4 §3.1.1.2 "commonly-used, expected, or compromised", ASVS
 * 6.2.4), stored lower-case, one per line, in `data/common-passwords.txt`. It is read from disk by
 * the first policy that uses it, never over the network (CI is offline and a login must not wait
 * on a third party), and never at import: an app that only checks sessions does not pay for it.
 *
 * @module accounts/policy
 */

import { countCodePoints, utf8Length } from '../lib/unicode.ts';

/** Words about the user that their password must not be made of. */
export interface PasswordContext {
  email?: string | null;
  name?: string | null;
  username?: string | null;
}

/** Why a password was refused; test `code`, show `reason`. */
export type PasswordRefusalCode = 'type' | 'too_long' | 'too_short' | 'malformed' | 'common' | 'context';

/** The outcome of a policy check: the string to hash (or verify), or the rule it broke. */
export type PasswordCheck = { ok: true; password: string } | { ok: false; code: PasswordRefusalCode; reason: string };

export interface PasswordPolicyOptions {
  /** Minimum code points, counted as typed and after NFKC; default 15 (NIST final, single-factor), never below 8. */
  minLength?: number;
  /** Maximum code points of the raw input; default 256, at least 64 (ASVS 6.2.9). */
  maxLength?: number;
  /** Maximum UTF-8 bytes of the raw input; default 1024 (256 × 4). */
  maxBytes?: number;
  /** The application's name, refused as a password base like the user's own name. */
  appName?: string;
  /** Replaces the bundled list (Django's 19 727 entries); compared after NFKC and lower-casing. */
  commonPasswords?: ReadonlySet<string>;
}

export interface PasswordPolicy {
  readonly minLength: number;
  readonly maxLength: number;
  readonly maxBytes: number;
  /** Every rule: for registration, password change and reset (SEC-08 "all flows"). */
  check(password: unknown, context?: PasswordContext): PasswordCheck;
  /**
   * Only type, size and well-formedness, then NFKC: for login and for the current password of a
   * change, where a password set under an older, weaker policy must still verify, yet a 1 MB body
   * must never reach the hasher (SEC-06). `password` is what to verify.
   */
  limits(password: unknown): PasswordCheck;
}

const MIN_FLOOR = 8; // NIST SP 800-63B-4 §3.1.1.2: 8 only when the password is one factor of MFA
const MAX_FLOOR = 64; // ASVS 6.2.9, NIST §3.1.1.2 item 2
const CONTEXT_WORD_MIN = 3; // shorter names and pieces ("al", "jo") would refuse too much
const COMMON_WORD_MIN = 4; // the list holds 1- to 3-letter entries that are not words

/**
 * The bundled list's file: `src/accounts/` and `dist/accounts/` are both two levels below the
 * package root, so the published package must ship `data/` next to `dist/`.
 */
const COMMON_PASSWORDS_FILE = new URL('../../data/common-passwords.txt', import.meta.url);

let bundled: ReadonlySet<string> | undefined;

/**
 * The bundled common-password list as a set of lower-case strings, read on the first call and
 * shared afterwards (about 20 000 entries, 160 kB of text). Throws the `readFileSync` error if
 * the file is missing: a policy silently running without its blocklist would be a weaker policy.
 *
 * @example
 * ```ts
 * const common = loadCommonPasswords();
 * common.has('sunshine') // true
 * common.has('correct horse battery staple') // false
 * ```
 */
export function loadCommonPasswords(): ReadonlySet<string> {
  if (bundled === undefined) {
    // node:fs now, not at import (see the module doc).
    const { readFileSync } = process.getBuiltinModule('node:fs');
    const set = new Set<string>();
    for (const line of readFileSync(COMMON_PASSWORDS_FILE, 'utf8').split('\n')) {
      // Tolerate a CRLF checkout of the file; the entries themselves never end in "\r".
      const entry = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (entry !== '') set.add(entry);
    }
    bundled = set;
  }
  return bundled;
}

/** Removed before the word checks: digits, punctuation, symbols, spaces, controls. */
const SEPARATORS = /[\p{N}\p{P}\p{S}\p{Z}\p{C}]+/gu;
const ONLY_DIGITS = /^\p{Nd}+$/u;

/**
 * The canonical form a password is hashed and verified in: NFKC (NIST SP 800-63B-4 §3.1.1.2),
 * nothing else. Expects a well-formed string that passed the policy's checks.
 *
 * @example
 * ```ts
 * normalizePassword('ｐａｓｓ') === normalizePassword('pass') // true
 * normalizePassword('cafe\u0301') === 'caf\u00e9' // true
 * ```
 */
export function normalizePassword(password: string): string {
  if (typeof password !== 'string') throw new TypeError('normalizePassword expects a string');
  return password.normalize('NFKC');
}

/**
 * A password policy, with options checked once.
 *
 * @example
 * ```ts
 * const policy = createPasswordPolicy({ appName: 'Latchkey' });
 * policy.check('latchkey2025!latchkey') // { ok: false, code: 'context', reason: '…' }
 * policy.check('correct horse battery staple') // { ok: true, password: 'correct horse battery staple' }
 * ```
 */
export function createPasswordPolicy(options: PasswordPolicyOptions = {}): PasswordPolicy {
  const minLength = integerOption('minLength', options.minLength, 15, MIN_FLOOR);
  const maxLength = integerOption('maxLength', options.maxLength, 256, Math.max(MAX_FLOOR, minLength));
  const maxBytes = integerOption('maxBytes', options.maxBytes, 1024, maxLength);
  if (options.appName !== undefined && typeof options.appName !== 'string') throw new TypeError('appName must be a string');
  const appWords = options.appName === undefined ? [] : contextWords(options.appName, 'the name of this site');
  const common = options.commonPasswords === undefined ? loadCommonPasswords() : normalizeList(options.commonPasswords);
  const tooManyCharacters = refuse('too_long', `Password must be at most ${maxLength} characters long.`);
  const tooManyBytes = refuse('too_long', `Password must be at most ${maxBytes} bytes long in UTF-8.`);

  function limits(password: unknown): PasswordCheck {
    if (typeof password !== 'string') return refuse('type', 'Password must be a string.');
    // UTF-8 takes at least one byte per UTF-16 unit and a code point at most two units, so these
    // two O(1) tests bound the loops below to a few kilobytes whatever arrives.
    if (password.length > 2 * maxLength) return tooManyCharacters;
    if (password.length > maxBytes) return tooManyBytes;
    if (countCodePoints(password) > maxLength) return tooManyCharacters;
    if (utf8Length(password) > maxBytes) return tooManyBytes;
    if (!password.isWellFormed()) return refuse('malformed', 'Password contains malformed Unicode (an unpaired surrogate).');
    return { ok: true, password: normalizePassword(password) };
  }

  function check(password: unknown, context: PasswordContext = {}): PasswordCheck {
    const admitted = limits(password);
    if (!admitted.ok) return admitted;
    const normalized = admitted.password;
    // SEC-05 counts what the user typed: NFKC expands "ﷺ" (1 code point) to 18 and "㌀" to 5, so
    // counting after it let one character meet the minimum (issue 10, finding 6). What is hashed
    // must reach it too: NFD input whose marks compose away is shorter than it was typed.
    if (Math.min(countCodePoints(password as string), countCodePoints(normalized)) < minLength) {
      return refuse('too_short', `Password must be at least ${minLength} characters long.`);
    }
    const lower = normalized.toLowerCase();
    if (common.has(lower)) return refuse('common', 'This password is too common.');
    if (ONLY_DIGITS.test(lower)) return refuse('common', 'This password is too common: it is made only of digits.');
    const core = lower.replace(SEPARATORS, '');
    for (const { word, label } of [...appWords, ...userWords(context)]) {
      if (isRepetitionOf(core, word)) return refuse('context', `Password must not be based on ${label}.`);
    }
    const unit = shortestPeriod(lower);
    if (unit !== lower && countCodePoints(unit) < minLength) {
      return refuse('common', 'This password is too common: it repeats a short pattern.');
    }
    if (isMadeOfCommonWord(core, common)) {
      return refuse('common', 'This password is too common: it is a common password repeated or with digits or symbols added.');
    }
    return admitted;
  }

  return Object.freeze({ minLength, maxLength, maxBytes, check, limits });
}

interface ContextWord {
  word: string;
  label: string;
}

function userWords(context: PasswordContext): ContextWord[] {
  if (typeof context !== 'object' || context === null) throw new TypeError('context must be an object');
  const words: ContextWord[] = [];
  const { email, username, name } = context;
  if (typeof email === 'string') {
    words.push(...contextWords(email, 'your email address'));
    const at = email.lastIndexOf('@');
    if (at > 0) words.push(...contextWords(email.slice(0, at), 'your email address'));
  }
  if (typeof username === 'string') words.push(...contextWords(username, 'your username'));
  if (typeof name === 'string') words.push(...contextWords(name, 'your name'));
  return words;
}

/** The text without separators, plus each separated piece: "Mike O'Neil" → mikeoneil, mike, oneil. */
function contextWords(text: string, label: string): ContextWord[] {
  const lower = text.normalize('NFKC').toLowerCase();
  const candidates = [lower.replace(SEPARATORS, ''), ...lower.split(SEPARATORS)];
  return [...new Set(candidates)].filter((word) => countCodePoints(word) >= CONTEXT_WORD_MIN).map((word) => ({ word, label }));
}

/** True when `text` is `word` written one or more times and nothing else. */
function isRepetitionOf(text: string, word: string): boolean {
  return text !== '' && text.length % word.length === 0 && text === word.repeat(text.length / word.length);
}

/** True when `core` is u^k for some list entry u of at least 4 code points and k ≥ 1. */
function isMadeOfCommonWord(core: string, common: ReadonlySet<string>): boolean {
  if (core === '') return false;
  const unit = shortestPeriod(core);
  const times = core.length / unit.length;
  // Every w with w^j = core is unit^d for a divisor d of times.
  for (let d = 1; d <= times; d++) {
    if (times % d !== 0) continue;
    const word = unit.repeat(d);
    if (countCodePoints(word) >= COMMON_WORD_MIN && common.has(word)) return true;
  }
  return false;
}

/**
 * The shortest u with s = u^k (k ≥ 1), from the KMP failure function in O(n). Periods of a
 * well-formed string found this way never split a surrogate pair, as the string starts a pair.
 */
function shortestPeriod(s: string): string {
  const n = s.length;
  const fail = new Int32Array(n);
  for (let i = 1, k = 0; i < n; i++) {
    while (k > 0 && s[i] !== s[k]) k = fail[k - 1] as number;
    if (s[i] === s[k]) k++;
    fail[i] = k;
  }
  const period = n - (n === 0 ? 0 : (fail[n - 1] as number));
  return period > 0 && n % period === 0 ? s.slice(0, period) : s;
}

function normalizeList(list: ReadonlySet<string>): ReadonlySet<string> {
  if (!(list instanceof Set)) throw new TypeError('commonPasswords must be a Set of strings');
  const out = new Set<string>();
  for (const entry of list) {
    if (typeof entry !== 'string') throw new TypeError('commonPasswords must contain only strings');
    out.add(entry.normalize('NFKC').toLowerCase());
  }
  return out;
}

function integerOption(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) value = fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function refuse(code: PasswordRefusalCode, reason: string): PasswordCheck {
  return Object.freeze({ ok: false, code, reason });
}
