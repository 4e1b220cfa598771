/**
 * How a user authenticated for a session: RFC 8176-like "amr" values (`pwd`, `otp`, `hwk`…), kept
 * with the session and shown in the session list (SEC-84). An empty list is a login that proved
 * nothing in this browser just now (a remember-me restore, a login with `fresh: false`).
 *
 * @module auth-methods
 */

/** One method: lowercase, a letter first, at most 16 characters (RFC 8176 values fit). */
const METHOD = /^[a-z][a-z0-9-]{0,15}$/;
/** At most this many methods per session: the list is for people to read, not a log. */
const MAX_AUTH_METHODS = 8;

function isAuthMethod(value: unknown): value is string {
  return typeof value === 'string' && METHOD.test(value);
}

/** `value` when it is one valid method; TypeError otherwise (misuse). */
export function requireAuthMethod(name: string, value: unknown): string {
  if (!isAuthMethod(value)) throw new TypeError(`${name} must be a method matching ${METHOD}`);
  return value;
}

/** The methods `value` names, as a frozen copy; TypeError when it is not a list of valid methods (misuse). */
export function checkAuthMethods(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length > MAX_AUTH_METHODS || !value.every(isAuthMethod)) {
    throw new TypeError(`${name} must be an array of at most ${MAX_AUTH_METHODS} methods matching ${METHOD}`);
  }
  return Object.freeze([...value] as string[]);
}

/** `methods` with `method` added at the end unless it is there already (or the list is full). */
export function withAuthMethod(methods: readonly string[], method: string): readonly string[] {
  if (methods.includes(method) || methods.length >= MAX_AUTH_METHODS) return methods;
  return Object.freeze([...methods, method]);
}

/**
 * The methods of a stored JSON array, as a SQL row or a Redis hash keeps them: a record written
 * before sessions had methods (no value) reads as none.
 */
export function parseAuthMethods(json: string | null | undefined): readonly string[] {
  if (json === null || json === undefined || json === '') return NONE;
  let methods = PARSED.get(json);
  if (methods === undefined) {
    methods = Object.freeze(JSON.parse(json) as string[]);
    if (PARSED.size < MAX_PARSED) PARSED.set(json, methods);
  }
  return methods;
}

const NONE: readonly string[] = Object.freeze([]);
/**
 * Every session read parses its methods, and a handful of values (`["pwd"]`, `["pwd","otp"]`…)
 * cover nearly all sessions: each is parsed once and shared, frozen, instead of on each request.
 */
const PARSED = new Map<string, readonly string[]>();
const MAX_PARSED = 64;
