/**
 * `latchkey/testing`: what tests of an app built on latchkey need, and what the author of a new
 * store needs to prove it. {@link loginTestUser}, Flask-Login's `FlaskLoginClient`, logs a user in
 * without a form; {@link MemoryStore} keeps sessions, remember-me tokens, throttle counters and
 * one-time tokens in memory, for tests only (it is one process's, and forgets on restart);
 * {@link createTestClock} makes a clock that only the test moves.
 *
 * The conformance suites ({@link describeStoreConformance}, {@link describeCounterStoreConformance},
 * {@link describeTokenStoreConformance}, {@link describeUserStoreConformance},
 * {@link describeFactorStoreConformance}, {@link describeCredentialStoreConformance}) are the tests that
 * latchkey's own stores pass, shipped so a store for another database runs them unchanged (Lucia's
 * adapter tests do the same). They use `node:test` and register their tests when called:
 * importing this module runs none, and `import 'latchkey'` never loads it.
 *
 * @module testing
 */
import { requireNode } from '../lib/runtime.ts';
export { createTestClock } from './clock.ts';
export type { TestClock } from './clock.ts';
export type { ConformanceOptions, StoreUnderTest } from './conformance-fixture.ts';
export { describeCounterStoreConformance } from './counter-store-conformance.ts';
export { describeCredentialStoreConformance } from './credential-store-conformance.ts';
export type { CredentialStoreConformanceOptions } from './credential-store-conformance.ts';
export { describeFactorStoreConformance } from './factor-store-conformance.ts';
export type { FactorStoreConformanceOptions } from './factor-store-conformance.ts';
export { loginTestUser } from './login-test-user.ts';
export type { TestLoginOptions } from './login-test-user.ts';
export { MemoryStore } from './memory-store.ts';
export { describeStoreConformance } from './store-conformance.ts';
export { describeTokenStoreConformance } from './token-store-conformance.ts';
export type { TokenStoreConformanceOptions, TokenStoreUnderTest } from './token-fixture.ts';
export { describeUserStoreConformance } from './user-store-conformance.ts';
export type { UserStoreConformanceOptions } from './user-store-conformance.ts';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey/testing', 'node:sqlite, URL.parse');
