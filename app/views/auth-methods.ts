/**
 * "password + code": how a session's user authenticated (latchkey's RFC 8176-like `methods`), in
 * plain words for the account page's session list and its JSON (SEC-84). A session with no method
 * was restored from a remember-me cookie: it proved nothing in that browser since.
 *
 * @module app/views/auth-methods
 */

const WORDS: Readonly<Record<string, string>> = Object.freeze({
  pwd: 'password',
  otp: 'code',
  recovery: 'recovery code',
  hwk: 'passkey',
});

/** `['pwd', 'otp']` → "password + code"; `[]` → "remember me"; a method without words as itself. */
export function describeAuthMethods(methods: readonly string[]): string {
  if (methods.length === 0) return 'remember me';
  return methods.map((m) => (Object.hasOwn(WORDS, m) ? WORDS[m] : m)).join(' + ');
}
