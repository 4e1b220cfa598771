/**
 * `latchkey/testing`: what tests of an app built on latchkey need. {@link loginTestUser}, Flask-Login's
 * `FlaskLoginClient`, logs a user in without a form; {@link MemoryStore} keeps sessions, remember-me
 * tokens and throttle counters in memory, for tests only (it is one process's, and forgets on restart).
 *
 * @module testing
 */
export { loginTestUser } from './login-test-user.ts';
export type { TestLoginOptions } from './login-test-user.ts';
export { MemoryStore } from './memory-store.ts';
