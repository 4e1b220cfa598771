/**
 * **FOR TESTS ONLY.** The one-time tokens of {@link MemoryStore}: one process's Map. Each operation
 * runs to completion without an `await`, which is what makes a consumption atomic here, and
 * decides with the time the store hands it: live while `now < expiresAt`, as the
 * {@link TokenStore} contract says.
 *
 * @module testing/memory-tokens
 */
import { StoreUnavailableError } from '../errors.ts';
import { checkTokenArguments, checkUserTokensArguments, type NewOneTimeToken, type OneTimeToken } from '../token-store.ts';

/** The tokens, by hash; the store checks that it is open and reads its clock before each call. */
export class MemoryTokens {
  readonly #tokens = new Map<string, OneTimeToken>();

  /** {@link TokenStore.createToken} at `now`. */
  create(token: NewOneTimeToken, now: number): OneTimeToken {
    checkTokenArguments('MemoryStore.createToken', token);
    if (this.#live(token.hash, now) !== null) throw new StoreUnavailableError('MemoryStore: token hash already exists');
    const stored = Object.freeze({
      hash: token.hash,
      userId: token.userId,
      purpose: token.purpose,
      email: token.email,
      createdAt: now,
      expiresAt: now + token.lifetime,
    });
    this.#tokens.set(stored.hash, stored);
    return stored;
  }

  /** {@link TokenStore.findToken} at `now`. */
  find(hash: string, purpose: string, now: number): OneTimeToken | null {
    checkTokenArguments('MemoryStore.findToken', { hash, purpose });
    const token = this.#live(hash, now);
    return token !== null && token.purpose === purpose ? token : null;
  }

  /** {@link TokenStore.consumeToken} at `now`: found and deleted in one step. */
  consume(hash: string, purpose: string, now: number): OneTimeToken | null {
    const token = this.find(hash, purpose, now);
    if (token !== null) this.#tokens.delete(hash);
    return token;
  }

  /** {@link TokenStore.deleteUserTokens} at `now`: counts the live ones it deleted. */
  deleteUser(userId: string, purpose: string | undefined, now: number): number {
    checkUserTokensArguments('MemoryStore.deleteUserTokens', userId, purpose);
    let live = 0;
    for (const [hash, token] of this.#tokens) {
      if (token.userId !== userId || (purpose !== undefined && token.purpose !== purpose)) continue;
      if (now < token.expiresAt) live++;
      this.#tokens.delete(hash);
    }
    return live;
  }

  /** Forgets every token (the store's close). */
  clear(): void {
    this.#tokens.clear();
  }

  /** The token while `now < expiresAt`; an expired one is deleted as it is found. */
  #live(hash: string, now: number): OneTimeToken | null {
    const token = this.#tokens.get(hash);
    if (token === undefined) return null;
    if (now < token.expiresAt) return token;
    this.#tokens.delete(hash);
    return null;
  }
}
