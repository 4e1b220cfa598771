/**
 * What the parts of the {@link UserStore} conformance suite share: a new account with a random
 * address (so tests against a shared real server never collide), and the `fresh` each part makes
 * its store with. Private to `src/testing/`: the public entry is `describeUserStoreConformance`.
 *
 * @module testing/user-store-fixture
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NewUser, UserStore } from '../user-store.ts';
import type { StoreUnderTest } from './conformance-fixture.ts';

/** Makes a fresh store for the running test and cleans it up after it. */
export type FreshUserStore = (t: { after(fn: () => unknown): void }) => Promise<UserStore>;

/** An account with a random address, unverified, without a username; `overrides` replace fields. */
export function newUser(overrides: Partial<NewUser> = {}): NewUser {
  const tag = randomUUID().slice(0, 8);
  return {
    email: `Ada.${tag}@Example.com`,
    emailCanonical: `ada.${tag}@example.com`,
    username: null,
    usernameCanonical: null,
    name: 'Ada Lovelace',
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    ...overrides,
  };
}

/** A fresh address, typed and canonical, that no account has. */
export function newAddress(): { email: string; emailCanonical: string } {
  const tag = randomUUID().slice(0, 8);
  return { email: `Grace.${tag}@Example.org`, emailCanonical: `grace.${tag}@example.org` };
}

/**
 * A fresh store from `makeStore` with one new account in it, for the suites of what belongs to an
 * account (second factors, passkeys); the store is cleaned up after the running test.
 */
export async function storeWithAccount<S extends UserStore>(
  t: { after(fn: () => unknown): void },
  makeStore: () => Promise<StoreUnderTest<S>>,
): Promise<{ store: S; userId: string }> {
  const { store, cleanup } = await makeStore();
  if (cleanup) t.after(cleanup);
  const user = await store.createUser(newUser());
  assert.ok(user, 'the store creates the account the suite needs');
  return { store, userId: user.id };
}
