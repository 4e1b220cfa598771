/**
 * The app's router: Hono's TrieRouter, with the answer for each of the app's fixed paths kept
 * after its first request. Hono's RegExpRouter, which keeps such answers itself, cannot take this
 * app's routes (`/account/sessions/revoke-others` beside `/account/sessions/:id/revoke`), and the
 * TrieRouter walks its tree, builds the list of handlers and sorts it on every request: about a
 * tenth of what an authenticated request allocated in the app (bench/README.md).
 *
 * Kept answers are bounded: only paths registered without a parameter or wildcard, and only the
 * methods a browser or an API client sends, so a request cannot add an entry for a made-up path
 * or method. An answer is the same array every time; Hono only reads it.
 *
 * @module app/router
 */
import type { Result, Router } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';

/** The methods whose answers are kept (Hono matches HEAD as GET). */
const KEPT_METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export class FixedPathRouter<T> implements Router<T> {
  readonly name = 'FixedPathRouter (TrieRouter)';
  readonly #inner = new TrieRouter<T>();
  /** Paths registered with neither `:` nor `*`: the only ones whose answers are kept. */
  readonly #fixed = new Set<string>();
  /** method → path → answer; emptied by every `add`, since a new route may change any answer. */
  readonly #answers = new Map<string, Map<string, Result<T>>>();

  add(method: string, path: string, handler: T): void {
    this.#inner.add(method, path, handler);
    if (!path.includes(':') && !path.includes('*')) this.#fixed.add(path);
    this.#answers.clear();
  }

  match(method: string, path: string): Result<T> {
    if (!this.#fixed.has(path) || !KEPT_METHODS.has(method)) return this.#inner.match(method, path);
    let byPath = this.#answers.get(method);
    if (byPath === undefined) this.#answers.set(method, (byPath = new Map()));
    let answer = byPath.get(path);
    if (answer === undefined) byPath.set(path, (answer = this.#inner.match(method, path)));
    return answer;
  }
}
