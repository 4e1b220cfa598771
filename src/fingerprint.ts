/**
 * The session-protection fingerprint (Flask-Login's `_create_identifier`): SHA-256 of the request's
 * User-Agent, never its IP, so that mobile users who change networks stay logged in (Flask-Login
 * #192, #700). It is compared on every authenticated request, so each manager keeps the hashes of
 * the few User-Agents its clients send; one manager's cache is never another's.
 *
 * @module fingerprint
 */
import { sha256 } from './lib/encoding.ts';
import type { RequestLike } from './request.ts';

/** Clients reuse a handful of User-Agents: past this many, the cache starts over. */
const MAX_ENTRIES = 1024;

/** The fingerprints of one manager's requests, with the hashes of recent User-Agents cached. */
export class Fingerprints {
  readonly #cache = new Map<string, string>();

  /** The fingerprint of `request`: SHA-256 of its User-Agent (empty when absent). */
  of(request: RequestLike): string {
    const userAgent = request.headers.get('user-agent') ?? '';
    let fingerprint = this.#cache.get(userAgent);
    if (fingerprint === undefined) {
      fingerprint = sha256(userAgent);
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.clear();
      this.#cache.set(userAgent, fingerprint);
    }
    return fingerprint;
  }
}
