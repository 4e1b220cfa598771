/**
 * What the parts of the {@link Store} conformance suite share: the fixed start time and the
 * durations the tests count in, fresh random ids and hashes of the shapes the manager makes (so
 * tests against a shared real server never see each other's rows), a new session with every field
 * filled, and the `withStore` each part runs its tests through. Private to `src/testing/`: the
 * public entry is `describeStoreConformance`.
 *
 * @module testing/store-fixture
 */
import { createHash, randomBytes } from 'node:crypto';
import type { NewSession, Store } from '../store.ts';
import type { TestClock } from './clock.ts';

export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const IDLE = 30 * MINUTE;
export const ABSOLUTE = DAY;
export const GRACE = 30 * SECOND;

/** Runs one test on a fresh store whose clock starts at {@link T0}, and cleans the store up after it. */
export type WithStore = (test: (store: Store, clock: TestClock) => Promise<void>) => Promise<void>;

/** A public id as the manager makes them: 16 random bytes, base64url. */
export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/** SHA-256 of a fresh 32-byte secret, base64url: what the manager hands a store. */
export function randomHash(): string {
  return createHash('sha256').update(randomBytes(32)).digest('base64url');
}

/** A session for the store to create, every field filled with fresh values, `fields` overriding them. */
export function newSession(fields: Partial<NewSession> = {}): NewSession {
  return {
    id: randomId(),
    secretHash: randomHash(),
    userId: randomId(),
    fresh: true,
    rememberSeries: null,
    identifier: null,
    userAgent: 'Mozilla/5.0 (conformance)',
    ipAddress: '192.0.2.7',
    idleTimeout: IDLE,
    absoluteTimeout: ABSOLUTE,
    ...fields,
  };
}
