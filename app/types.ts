/**
 * The types every part of the reference app is built from, at the ground floor of app/: the Hono
 * environment (`c.get('auth')` from latchkey, `c.get('input')` from the body reader; read with
 * `c.get`, since Hono's `c.var` copies every variable into a new object on each read), a route and its
 * middleware chain, what the route modules receive, and the shapes of a request body and of its
 * field errors. Types only, so that the answer helpers, the views, the body reader and the static
 * files can all import them without importing each other.
 *
 * @module app/types
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { Accounts, AnonymousUser, LoginManager, UserRecord } from 'latchkey';
import type { LatchkeyEnv } from 'latchkey/hono';
import type { Passkeys } from 'latchkey/passkeys';
import type { AppConfig } from './config.ts';
import type { AppStores } from './stores.ts';
import type { AppThrottles } from './throttles.ts';

/** The Hono environment of the app. */
export type AppEnv = {
  Variables: LatchkeyEnv<UserRecord, AnonymousUser>['Variables'] & {
    /** The request body, read and checked by `readInput` (body.ts); absent on routes without one. */
    input: Input;
  };
};
export type AppContext = Context<AppEnv>;
export type Handler = MiddlewareHandler<AppEnv>;

/** What the route modules are built from. */
export interface Deps {
  readonly config: AppConfig;
  readonly stores: AppStores;
  readonly manager: LoginManager<UserRecord>;
  readonly accounts: Accounts;
  readonly throttles: AppThrottles;
  /** The passkeys of the accounts; null when PUBLIC_URL is no secure context for WebAuthn (app/passkeys.ts). */
  readonly passkeys: Passkeys | null;
  /** The app's clock, ms since the epoch (CreateAppOptions.now). */
  readonly now: () => number;
}

/** A route of the app: its path and, per method, the middleware chain that ends in the handler. */
export interface Route {
  readonly path: string;
  readonly GET?: readonly Handler[];
  readonly POST?: readonly Handler[];
}

/** A request body, read and checked by `readInput` (body.ts). */
export interface Input {
  /** Field values; a null prototype. Absent fields are `undefined`; objects come from JSON `object` fields only. */
  readonly fields: Readonly<Record<string, string | boolean | Readonly<Record<string, unknown>> | undefined>>;
  /** The form's `_csrf` field, if any. */
  readonly csrf: string | null;
  /** True when the request had neither a body nor a `Content-Type` (`curl -X POST`). */
  readonly bodiless: boolean;
}

/** Field errors, keyed by field name; a null prototype, so `__proto__` is just a key (SEC-72). */
export type FieldErrors = Record<string, string>;
