/**
 * The cookies of one request and its response: latchkey's own cookies read from the `Cookie`
 * header (once, lazily, on cookie.ts's suspicious parser), the `Set-Cookie` values decided for the
 * response (one per name, the last decision wins), and their names: over HTTPS each gets the
 * `__Host-` prefix, so it is Secure, Path=/ and has no Domain (RFC 6265bis §4.1.3.2). Every module
 * of the request path reads and writes cookies through the jar it is handed, by base name.
 *
 * Deciding a cookie, or reading the user, marks the request `used`: its response must not be
 * cached (SEC-25). A request that never touches authentication costs one jar and writes nothing.
 *
 * @module cookie-jar
 */
import { readCookies, serializeCookie } from './cookie.ts';
import type { ResolvedOptions } from './options.ts';
import type { RequestLike } from './request.ts';

/** What a manager's jars share, computed once per manager: the names to read, and the attributes. */
export interface JarSettings {
  /** The names the jar reads, without and with the `__Host-` prefix. */
  readonly plainNames: readonly string[];
  readonly hostNames: readonly string[];
  readonly sameSite: 'Lax' | 'Strict';
  readonly now: () => number;
}

/** The base names of latchkey's own cookies: session, remember-me, CSRF nonce, flash, `next`, pending second step. */
export function jarSettings(options: Pick<ResolvedOptions<unknown, unknown>, 'cookieNames' | 'sameSite' | 'now'>): JarSettings {
  const names = [options.cookieNames.session, options.cookieNames.remember, 'lk-csrf', 'lk-flash', 'lk-next', 'lk-2fa'];
  return Object.freeze({
    plainNames: Object.freeze(names),
    hostNames: Object.freeze(names.map((name) => `__Host-${name}`)),
    sameSite: options.sameSite,
    now: options.now,
  });
}

/** One request's cookies, by base name (without `__Host-`). */
export class CookieJar {
  readonly request: RequestLike;
  /** True when the request came over HTTPS: every cookie is then named `__Host-…` and Secure. */
  readonly secure: boolean;
  readonly #settings: JarSettings;
  readonly #onSetCookie: ((cookie: string) => void) | null;
  readonly #onUse: (() => void) | null;
  #read: Map<string, string> | null = null;
  /** Made on the first decision: the request with a valid session writes nothing. */
  #pending: Map<string, string> | null = null;
  #used = false;

  constructor(
    request: RequestLike,
    secure: boolean,
    settings: JarSettings,
    onSetCookie: ((cookie: string) => void) | null,
    onUse: (() => void) | null,
  ) {
    this.request = request;
    this.secure = secure;
    this.#settings = settings;
    this.#onSetCookie = onSetCookie;
    this.#onUse = onUse;
  }

  /** True once the request read or changed authentication state (SEC-25). */
  get used(): boolean {
    return this.#used;
  }

  markUsed(): void {
    if (this.#used) return;
    this.#used = true;
    this.#onUse?.();
  }

  /** The request's value of a cookie, or what {@link replace} put there; undefined when absent or unusable. */
  get(base: string): string | undefined {
    if (this.#read === null) {
      const names = this.secure ? this.#settings.hostNames : this.#settings.plainNames;
      this.#read = readCookies(this.request.headers.get('cookie'), names);
    }
    return this.#read.get(this.#name(base));
  }

  /**
   * Decides a `Set-Cookie` for this response, HttpOnly, SameSite and (over HTTPS) Secure; `maxAge`
   * in seconds, none for a browser-session cookie. It goes to the adapter's `onSetCookie` at once.
   */
  set(base: string, value: string, maxAge?: number): void {
    const s = this.#settings;
    const attributes = { httpOnly: true, secure: this.secure, sameSite: s.sameSite, path: '/' } as const;
    const cookie = serializeCookie(this.#name(base), value, maxAge === undefined ? attributes : { ...attributes, maxAge }, s.now());
    this.markUsed();
    (this.#pending ??= new Map()).set(base, cookie);
    this.#onSetCookie?.(cookie);
  }

  /** Decides a `Set-Cookie` that deletes the cookie. */
  clear(base: string): void {
    this.set(base, '', 0);
  }

  /** {@link set}, and the rest of this request reads the new value. */
  replace(base: string, value: string): void {
    this.set(base, value);
    this.get(base); // reads the request's cookies first, so the new value is not read over
    this.#read?.set(this.#name(base), value);
  }

  /** The `Set-Cookie` values decided so far, one per cookie name. */
  setCookies(): string[] {
    return this.#pending === null ? [] : [...this.#pending.values()];
  }

  #name(base: string): string {
    return this.secure ? `__Host-${base}` : base;
  }
}
