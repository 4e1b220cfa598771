/**
 * Time-based one-time passwords (SEC-77): RFC 6238 over the HOTP of RFC 4226, with
 * the parameters every authenticator app understands: HMAC-SHA-1, 6 digits, a 30-second step,
 * T0 = 0 (RFC 6238 §4), one step either side accepted for clock drift (§5.2). Pure functions on
 * `node:crypto`: the caller stores the secret and the last step used.
 *
 * Replay (SEC-78): `verifyTotp` cannot know which codes were already used. It returns the step the
 * code matched, and the caller MUST store the last accepted step per user and refuse any step less
 * than or equal to it (RFC 6238 §5.2, NIST SP 800-63B-4 §3.1.4.2: "accept a given OTP only once").
 * Without that check a code observed over a shoulder or a phishing proxy stays usable for up to 90 s.
 *
 * @module totp
 */
import { createHmac, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import { base32Decode, base32Encode } from './base32.ts';

/** 160-bit secrets: the length RFC 4226 §4 (R6) recommends and SEC-77 requires. */
const SECRET_BYTES = 20;
/** RFC 4226 §4 (R6): a shared secret MUST be at least 128 bits. */
const MIN_SECRET_BYTES = 16;
const PERIOD = 30;
const DIGITS = 6;
/** The most steps either side `verifyTotp` accepts: more would turn a 6-digit code into a guessable one. */
const MAX_WINDOW = 10;
const SIX_DIGITS = /^[0-9]{6}$/;

/** What `verifyTotp` answers: the step matched, for the caller's replay check (SEC-78). */
export type TotpVerification = { ok: true; step: number } | { ok: false };

/**
 * A new TOTP secret: 20 bytes (160 bits) from the CSPRNG (SEC-77), as unpadded base32, the form
 * authenticator apps take in a QR code or by hand. Show it once at setup, never log it.
 *
 * @example
 * const secret = generateTotpSecret(); // 32 characters, e.g. 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
 */
export function generateTotpSecret(randomBytes: (size: number) => Uint8Array = nodeRandomBytes): string {
  const bytes = randomBytes(SECRET_BYTES);
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== SECRET_BYTES) {
    throw new TypeError(`randomBytes(${SECRET_BYTES}) must return ${SECRET_BYTES} bytes`);
  }
  return base32Encode(bytes);
}

/**
 * The RFC 6238 time step of `now` (milliseconds since the epoch, like every clock in latchkey):
 * floor(seconds / period), with T0 = 0.
 *
 * @example
 * totpStep(59_000); // 1
 */
export function totpStep(now: number, period: number = PERIOD): number {
  if (!Number.isFinite(now) || now < 0) throw new TypeError('now must be a non-negative number of milliseconds');
  if (!Number.isSafeInteger(period) || period < 1) throw new TypeError('period must be a positive whole number of seconds');
  return Math.floor(now / 1000 / period);
}

/**
 * The HOTP value (RFC 4226 §5.3) of `secret` (bytes, or base32 text) at counter `step`: `digits`
 * decimal digits (6 to 8), zero-padded. The TOTP code of a time is `totpCode(secret, totpStep(now))`.
 *
 * @example
 * totpCode(new TextEncoder().encode('12345678901234567890'), 1, 8); // '94287082' (RFC 6238 Appendix B)
 */
export function totpCode(secret: Uint8Array | string, step: number, digits: number = DIGITS): string {
  const key = secretBytes(secret);
  if (!Number.isSafeInteger(step) || step < 0) throw new TypeError('step must be a non-negative whole number');
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) throw new TypeError('digits must be 6, 7 or 8 (RFC 4226 §5.3)');
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  // Dynamic truncation (RFC 4226 §5.3): 31 bits from the offset the last nibble names.
  const offset = (mac[19] as number) & 0xf;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/**
 * Whether `code` is the 6-digit TOTP code of `secret` at `now` or within `window` steps either side
 * (default 1: the previous, current and next step, RFC 6238 §5.2). `code` is whatever the client
 * sent, taken as-is: only a string of exactly 6 ASCII digits can match; no trimming, no spaces
 * removed (an app whose form allows "123 456" removes the space itself), and a number, an array,
 * 5 or 7 digits, full-width digits are `{ ok: false }`, never a throw. Every step of the window is
 * compared in constant time, with no early exit (SEC-04).
 *
 * On success the caller MUST check `step` against the last step it accepted for this user, refuse
 * it when `step <= lastStep`, and otherwise store it (SEC-78): that is what makes a code single use.
 * When a code happens to match two steps of the window, the later one is returned, so that storing
 * it refuses the code for the rest of its window.
 *
 * @example
 * const result = verifyTotp(user.totpSecret, form.get('code'), Date.now());
 * if (!result.ok || result.step <= user.lastTotpStep) return refuse();
 * await users.update(user.id, { lastTotpStep: result.step });
 */
export function verifyTotp(secret: Uint8Array | string, code: unknown, now: number, options: { window?: number } = {}): TotpVerification {
  const key = secretBytes(secret);
  const window = options.window ?? 1;
  if (!Number.isInteger(window) || window < 0 || window > MAX_WINDOW) throw new TypeError(`window must be a whole number from 0 to ${MAX_WINDOW}`);
  const current = totpStep(now);
  if (typeof code !== 'string' || !SIX_DIGITS.test(code)) return { ok: false };
  const given = Buffer.from(code, 'latin1');
  let matched = -1;
  for (let step = Math.max(0, current - window); step <= current + window; step++) {
    if (timingSafeEqual(Buffer.from(totpCode(key, step, DIGITS), 'latin1'), given)) matched = step;
  }
  return matched >= 0 ? { ok: true, step: matched } : { ok: false };
}

/** What `totpUri` needs: the secret, the account's name as shown in the app, and who issued it. */
export interface TotpUriInput {
  /** Base32 text (as `generateTotpSecret` returns) or the raw bytes. */
  secret: string | Uint8Array;
  /** The user's name in the app, e.g. their email address. No colon. */
  account: string;
  /** The site or company name. No colon. */
  issuer: string;
}

/**
 * The `otpauth://totp/` URI an authenticator app reads from a QR code (Google Authenticator's Key
 * Uri Format): the label `Issuer:account` and the `issuer` parameter percent-encoded (spaces as
 * `%20`), the parameters spelled out even though they are the defaults, so that an app with other
 * defaults cannot guess wrong. The URI carries the secret: never log it.
 *
 * @example
 * totpUri({ secret, account: 'ada@example.com', issuer: 'Example Co' });
 * // 'otpauth://totp/Example%20Co:ada%40example.com?secret=…&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30'
 */
export function totpUri(input: TotpUriInput): string {
  const secret = base32Encode(secretBytes(input.secret));
  for (const name of ['account', 'issuer'] as const) {
    const value = input[name];
    // Key Uri Format: "Neither issuer nor account name may themselves contain a colon."
    if (typeof value !== 'string' || value.length === 0 || value.includes(':')) throw new TypeError(`${name} must be a non-empty string without ":"`);
  }
  const issuer = encodeURIComponent(input.issuer);
  return `otpauth://totp/${issuer}:${encodeURIComponent(input.account)}?secret=${secret}&issuer=${issuer}&algorithm=SHA1&digits=${DIGITS}&period=${PERIOD}`;
}

/** The key bytes of a secret given as bytes or base32; a bad secret is the app's misuse, not user input. */
function secretBytes(secret: Uint8Array | string): Uint8Array {
  const bytes = typeof secret === 'string' ? base32Decode(secret) : secret;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('secret must be base32 text or a Uint8Array');
  if (bytes.byteLength < MIN_SECRET_BYTES) throw new TypeError(`secret must be at least ${MIN_SECRET_BYTES} bytes (RFC 4226 §4, R6)`);
  return bytes;
}
