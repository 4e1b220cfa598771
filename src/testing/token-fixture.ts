/**
 * What the {@link TokenStore} conformance suite asks of a store's author (a store made for one
 * test, with optional views into what it holds) and what its tests share: the fixed start time,
 * the lifetimes the accounts use, and fresh tokens made as the accounts make them. Private to
 * `src/testing/` but for the two option types, which `latchkey/testing` exports.
 *
 * @module testing/token-fixture
 */
import { createHash, randomBytes } from 'node:crypto';
import type { NewOneTimeToken, OneTimeToken, TokenStore } from '../token-store.ts';
import type { TestClock } from './clock.ts';
import type { StoreUnderTest } from './conformance-fixture.ts';

export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const RESET = 60 * MINUTE;
export const VERIFY = 24 * HOUR;

/** A token store made for one test, with the optional views into what it holds. */
export interface TokenStoreUnderTest extends StoreUnderTest<TokenStore> {
  /**
   * Every token record the store holds, each as text (a row as JSON, a key with its fields), for
   * the tests of what is stored: the hash and never the raw token (SEC-21, SEC-57), and nothing
   * left of an expired token. Scope it to this test's store (its schema, prefix or file).
   */
  readonly storedTokens?: () => Promise<readonly string[]>;
  /** Runs the store's sweep of expired records once, as its background job does. */
  readonly sweep?: () => Promise<unknown>;
}

/** Options of {@link describeTokenStoreConformance}. */
export interface TokenStoreConformanceOptions {
  /**
   * Makes a fresh store for one test, reading the time from `clock.now`, background sweeps off.
   * `cleanup` must close the store: one test checks that a closed store rejects.
   */
  readonly makeStore: (clock: TestClock) => Promise<TokenStoreUnderTest>;
}

/** A token as the accounts make them: 32 random bytes for the user, their SHA-256 for the store. */
export function newToken(fields: Partial<NewOneTimeToken> = {}): { raw: Buffer; input: NewOneTimeToken } {
  const raw = randomBytes(32);
  const input = {
    hash: createHash('sha256').update(raw.toString('base64url')).digest('base64url'),
    userId: randomBytes(8).toString('hex'),
    purpose: 'reset',
    email: `ada.${randomBytes(4).toString('hex')}@example.com`,
    lifetime: RESET,
    ...fields,
  };
  return { raw, input };
}

/** The record a store should hand back for `input` created at `createdAt`. */
export function expected(input: NewOneTimeToken, createdAt: number): OneTimeToken {
  const { lifetime, ...rest } = input;
  return { ...rest, createdAt, expiresAt: createdAt + lifetime };
}

/** A returned record as a plain object, for deepEqual against {@link expected}. */
export const plain = (token: OneTimeToken | null) => (token === null ? null : { ...token });
