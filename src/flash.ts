/**
 * Flash messages: shown once, on the next page. They live in a signed cookie rather than in the
 * server-side session, because anonymous visitors (who see "Please log in") must not create
 * server records; the signature stops a third party from planting messages
 * (Django's CookieStorage does the same). They are consumed on first read and cleared at logout
 * (SEC-50); templates must escape them like any other text.
 *
 * @module flash
 */
import type { CookieJar } from './cookie-jar.ts';
import { signValue, verifyValue } from './signed.ts';

/** The cookie that carries them (`__Host-lk-flash` over HTTPS). */
export const FLASH_COOKIE = 'lk-flash';

/** One flashed message and its category (Flask's `flash(message, category)`). */
export interface FlashMessage {
  readonly category: string;
  readonly message: string;
}

/** Above this, the oldest messages are dropped: the cookie must stay well below 4096 bytes. */
const MAX_ENCODED = 3000;

/** The messages in a flash cookie value; anything unsigned or malformed reads as none. */
export function decodeFlashes(keys: readonly Uint8Array[], value: string | undefined): FlashMessage[] {
  const data = verifyValue(keys, 'flash', value);
  if (!Array.isArray(data)) return [];
  return data.flatMap((item: unknown) =>
    Array.isArray(item) && typeof item[0] === 'string' && typeof item[1] === 'string'
      ? [{ category: item[0], message: item[1] }]
      : [],
  );
}

/** A flash cookie value for `messages`, dropping the oldest ones that do not fit. */
export function encodeFlashes(keys: readonly Uint8Array[], messages: readonly FlashMessage[]): string {
  let pairs = messages.map((m) => [m.category, m.message]);
  let value = signValue(keys, 'flash', pairs);
  while (value.length > MAX_ENCODED && pairs.length > 0) {
    pairs = pairs.slice(1);
    value = signValue(keys, 'flash', pairs);
  }
  return value;
}

/**
 * One request's flash queue: the cookie's messages, decoded on first use, and the cookie written
 * again on each change. Made only when a request flashes or reads its messages.
 */
export class FlashQueue {
  readonly #keys: readonly Uint8Array[];
  readonly #jar: CookieJar;
  #messages: FlashMessage[] | null = null;

  constructor(keys: readonly Uint8Array[], jar: CookieJar) {
    this.#keys = keys;
    this.#jar = jar;
  }

  /** Queues a message for the next page. */
  push(message: string, category: string): void {
    if (typeof message !== 'string' || typeof category !== 'string') throw new TypeError('flash() takes strings');
    const list = this.#read();
    list.push({ category, message });
    this.#jar.set(FLASH_COOKIE, encodeFlashes(this.#keys, list));
  }

  /** The queued messages, removed: the cookie is cleared if it held any. */
  take(): FlashMessage[] {
    const list = this.#read();
    this.#messages = [];
    if (list.length > 0 || this.#jar.get(FLASH_COOKIE) !== undefined) this.#jar.clear(FLASH_COOKIE);
    return list;
  }

  /** Forgets the queued messages for the rest of the request (at logout, SEC-50), leaving the cookie to the caller. */
  discard(): void {
    this.#messages = [];
  }

  #read(): FlashMessage[] {
    this.#messages ??= decodeFlashes(this.#keys, this.#jar.get(FLASH_COOKIE));
    return this.#messages;
  }
}
