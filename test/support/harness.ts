/**
 * What the HTTP behaviour suite needs from an adapter: a small app with the route table below,
 * built on a given login manager, and a way to send it requests. Each adapter's test file
 * (`behaviour-hono.test.ts`, `behaviour-express.test.ts`) builds the same app with its own
 * framework, so that one suite proves that both translate the same core the same way.
 *
 * Route table (every adapter implements exactly this; `auth` is the request's RequestAuth;
 * csrfProtection() runs before every route):
 * - `GET  /`                 200 text `public`; never touches auth.
 * - `GET  /whoami`           200 JSON `{ user: name|null, anonymous: currentUser().isAnonymous === true,
 *                            fresh: isFresh(), remembered: isRemembered() }`.
 * - `GET|OPTIONS /protected` loginRequired(); 200 JSON `{ message: "Hello, NAME!" }` (`"preflight"` for OPTIONS).
 * - `GET  /fresh`            freshLoginRequired(); 200 JSON `{ ok: true }`.
 * - `GET  /admin/protected`  loginRequired({ loginView: '/admin/login' }); 200 JSON `{ ok: true }`.
 * - `GET  /api/protected`    loginRequired({ loginView: null }); 200 JSON `{ ok: true }`.
 * - `POST /login`            JSON `{ id, remember?, fresh?, force?, duration? }` → 200 JSON `{ ok: await auth.login(USERS[id], …) }`
 *                            (unknown id → 200 `{ ok: false }`).
 * - `POST /logout`           200 JSON `{ ok: await auth.logout() }`.
 * - `POST /confirm`          200 JSON `{ ok: await auth.confirmLogin() }`.
 * - `POST /rotate`           200 JSON `{ ok: await auth.rotateSession() }`.
 * - `POST /revoke-others`    200 JSON `{ ended: await auth.revokeOtherSessions() }`.
 * - `POST /revoke`           JSON `{ id }` → 200 JSON `{ ok: await auth.revokeSession(id) }`.
 * - `GET  /sessions`         200 JSON `{ sessions: await auth.listSessions() }`.
 * - `GET  /csrf`             200 JSON `{ token: await auth.csrfToken() }`.
 * - `POST /form`             (urlencoded, `_csrf` field checked by csrfProtection) 200 text `accepted`.
 * - `POST /flash`            JSON `{ message, category? }` → auth.flash(…) → 200 JSON `{ ok: true }`.
 * - `GET  /flashes`          200 JSON `{ flashes: auth.getFlashedMessages() }`.
 * - `GET  /next`             200 JSON `{ target: auth.nextTarget(undefined, '/dashboard') }`.
 * - `POST /begin-second-step`    JSON `{ id, remember?, next? }` → 200 JSON `{ ok: await auth.beginSecondStep(USERS[id], { remember, next }) }`.
 * - `GET  /pending-second-step`  200 JSON `{ pending: await auth.pendingSecondStep() }`.
 * - `POST /complete-second-step` JSON `{ id }` → 200 JSON `{ ok: await auth.completeSecondStep(USERS[id]) }`.
 * - `POST /cancel-second-step`   200 JSON `{ ok: true }` after `auth.cancelSecondStep()`.
 *
 * @module test/support/harness
 */
import type { LoginManager } from '../../src/manager.ts';

/** The test users: Flask-Login's fixtures (tests/test_login.py). */
export interface TestUser {
  readonly id: string;
  readonly name: string;
  readonly isActive: boolean;
}

export const USERS: Readonly<Record<string, TestUser>> = Object.freeze({
  '1': { id: '1', name: 'Notch', isActive: true },
  '2': { id: '2', name: 'Steve', isActive: true },
  '3': { id: '3', name: 'Creeper', isActive: false },
  '佐藤': { id: '佐藤', name: 'Müller', isActive: true },
});

/** A running app of the route table. */
export interface Harness {
  /** The origin a browser on this app would send as `Origin`. */
  readonly origin: string;
  /**
   * The paths of the guarded routes (`/protected`, `/fresh`, `/admin/protected`, `/api/protected`,
   * `/form`) whose handler ran, in order: past its guards and the CSRF check (SEC-67).
   */
  readonly handled: readonly string[];
  /** Sends a request; `path` starts with `/`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** Builds the route table on `manager` with one framework. */
export type MakeHarness = (manager: LoginManager<TestUser>) => Promise<Harness>;
