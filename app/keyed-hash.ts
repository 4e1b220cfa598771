/**
 * Keyed hashes for log lines (SEC-69, SEC-68: "unknown users: keyed hash of identifier"): a login
 * identifier, a session id or a mail recipient is named in a log by HMAC-SHA-256 under a key
 * derived from SECRET_KEY, so the same value gives the same hash across lines and instances, and a
 * reader of the log without the key cannot test guesses against it.
 *
 * @module app/keyed-hash
 */
import { createHmac } from 'node:crypto';

/** Hashes `value` for `purpose` (`login`, `session`, `email`…). */
export type KeyedHasher = (purpose: string, value: string) => string;

/** A keyed hash, 128 bits in base64url: enough to tell values apart, never to recover them. */
export function keyedHasher(secret: string): KeyedHasher {
  const key = createHmac('sha256', secret).update('latchkey app log v1').digest();
  return (purpose, value) => createHmac('sha256', key).update(`${purpose}\0${value}`).digest('base64url').slice(0, 22);
}
