/**
 * The reference app (the app's HTTP contract): the login manager, throttle and accounts on the stores the
 * configuration opened, and every route, on Hono. Middleware order, outermost first:
 * 1. the request log, wrapping the security headers, wrapping latchkey (one layer): the request's
 *    id and log line (request-log.ts); `c.get('auth')`, cookies committed after the handler, store
 *    failures as 503; the headers on every answer including errors (SEC-64);
 * then each route's own chain: guard, body reader (16 KB, strict types), CSRF, freshness, handler;
 * behind it, for the same path, OPTIONS and the 405 of every other method, chosen by the router
 * before any body is read (SEC-65). A path no route has is the 404.
 * Errors that escape a handler: a store or hasher that is down is a 503 with `Retry-After`; anything
 * else is a 500 with a generic message and a request id, logged with its stack (SEC-66).
 * The security events of the manager, the accounts and the passkeys are logged by security-log.ts
 * (SEC-68); the passkeys' relying party is PUBLIC_URL (passkeys.ts, SEC-82).
 * Mail leaves through a background queue (mail/mailer.ts) over SMTP, or into the development
 * outbox without SMTP_URL; its links are built from PUBLIC_URL only (SEC-58).
 *
 * @module app/app
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { createAccounts, createLoginManager, createPasswordPolicy, isServiceUnavailable, wantsJson, type AccountMail, type Accounts, type LoginManager, type UserRecord } from 'latchkey';
import { latchkey } from 'latchkey/hono';
import { APP_NAME, type AppConfig } from './config.ts';
import { problem } from './answers.ts';
import type { AppEnv, Deps, Handler, Route } from './types.ts';
import { keyedHasher } from './keyed-hash.ts';
import { createLogger } from './log.ts';
import { mailLinks } from './mail/links.ts';
import { createMailer, type Mailer } from './mail/mailer.ts';
import { outboxTransport } from './mail/outbox.ts';
import { smtpTransport } from './mail/smtp.ts';
import { methodAnswers, withSecurityHeaders } from './middleware.ts';
import { currentRequest, requestFields, withRequestLog } from './request-log.ts';
import { FixedPathRouter } from './router.ts';
import { openPasskeys } from './passkeys.ts';
import { logSecurityEvents } from './security-log.ts';
import { STYLESHEET_URL } from './static.ts';
import { accountRoutes } from './routes/account.ts';
import { authRoutes } from './routes/auth.ts';
import { emailChangeRoutes } from './routes/email-change.ts';
import { healthRoute } from './routes/health.ts';
import { outboxRoutes } from './routes/outbox.ts';
import { pageRoutes } from './routes/pages.ts';
import { passkeyLoginRoutes } from './routes/passkey-login.ts';
import { passkeyRoutes } from './routes/passkeys.ts';
import { recoveryRoutes } from './routes/recovery.ts';
import { totpRoutes } from './routes/totp.ts';
import { verificationRoutes } from './routes/verification.ts';
import type { AppStores } from './stores.ts';
import { createThrottles, LOGIN_LIMITS } from './throttles.ts';

export interface CreateAppOptions {
  readonly config: AppConfig;
  readonly stores: AppStores;
  /** The clock of the login manager and the throttle, ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** Where log lines go, each one JSON object and its newline (app/log.ts), at `config.logLevel`. Default: stderr. */
  readonly log?: (line: string) => void;
}

export interface App {
  readonly app: Hono<AppEnv>;
  readonly manager: LoginManager<UserRecord>;
  readonly accounts: Accounts;
  /** The mail queue: `close()` it at shutdown, after the server, to let queued mail leave. */
  readonly mailer: Mailer;
  /** What the operator should hear at start (passkeys off, or an IP address browsers refuse as RP ID). */
  readonly warnings: readonly string[];
}

/** A store that has not answered by then is down: a 503 well within R-01's 2 s, never a hung request. */
const STORE_TIMEOUT = 1_500;

/** Builds the app; nothing listens until the caller serves `app.fetch`. */
export async function createApp(options: CreateAppOptions): Promise<App> {
  const { config, stores } = options;
  const now = options.now ?? Date.now;
  const logger = createLogger({ level: config.logLevel, write: options.log, now });

  // Each setting once: the manager, the throttles and the accounts share the secret, the clock
  // and the store deadline.
  const common = { secret: config.secretKey, now, storeTimeout: STORE_TIMEOUT };
  const throttles = createThrottles(config, stores.sessions, common);
  const mailer = createMailer({
    transport: config.smtpUrl === null ? outboxTransport({ dataDir: config.dataDir, logger, now }) : smtpTransport(config.smtpUrl),
    from: config.mailFrom,
    logger,
    hash: keyedHasher(config.secretKey),
  });
  const recovery = {
    tokens: stores.sessions, // the sessions store keeps the one-time links too
    mail: (message: AccountMail) => mailer.send(message),
    links: mailLinks(config.publicUrl),
    emailVerification: config.emailVerification,
    recoveryThrottle: throttles.recovery,
    appName: APP_NAME,
  };
  const accounts = createAccounts({
    ...common,
    ...recovery,
    users: stores.users,
    throttle: throttles.login,
    registrationThrottle: throttles.registration,
    revokeSessions: async (userId) => (await manager.revokeUserSessions(userId)).sessions,
    policy: createPasswordPolicy({ minLength: config.passwordMinLength, appName: APP_NAME }),
    requireEmail: true, // the registration form asks for an address (the app's HTTP contract); the CLI allows a username alone
    userCache: config.userCacheTtl > 0 ? { ttl: config.userCacheTtl } : null,
  });
  const manager = createLoginManager<UserRecord>({
    ...common,
    store: stores.sessions,
    loadUser: (id) => accounts.loadUser(id),
    loginView: '/login',
    refreshView: '/reauth',
    trustProxy: config.trustProxy,
    trustedOrigins: [config.publicUrl],
    idleTimeout: config.idleTimeout,
    absoluteTimeout: config.absoluteTimeout,
    rememberDuration: config.rememberDuration,
    sessionCache: config.sessionCacheTtl > 0 ? { ttl: config.sessionCacheTtl } : null,
  });
  const opened = openPasskeys(config, stores);
  const passkeys = opened.passkeys;
  const warnings = [opened.reason, opened.warning].filter((w): w is string => w !== null);
  logSecurityEvents({ logger, manager, accounts, passkeys, secret: common.secret, limits: LOGIN_LIMITS });
  // SEC-71: the owner hears that a stolen remember-me cookie was used and every session ended.
  // A listener must never throw into the manager: any failure, even a synchronous one, is a log line.
  manager.on('rememberTheft', ({ userId }) => {
    Promise.resolve()
      .then(() => accounts.notifyRememberTheft(userId))
      .catch((error: Error) => logger.log('warn', 'notice_failed', { ...requestFields(), user_id: userId, notice: 'remember_theft', error: error?.name ?? 'unknown' }));
  });

  const deps: Deps = { config, stores, manager, accounts, throttles, passkeys, now };
  const routes: Route[] = [
    ...pageRoutes(deps),
    ...authRoutes(deps),
    ...accountRoutes(deps),
    ...totpRoutes(deps),
    ...passkeyRoutes(deps),
    ...passkeyLoginRoutes(deps),
    ...recoveryRoutes(deps),
    ...verificationRoutes(deps),
    ...emailChangeRoutes(deps),
    ...outboxRoutes(deps),
    healthRoute(deps),
  ];

  const app = new Hono<AppEnv>({ router: new FixedPathRouter() });
  app.use(withRequestLog(logger, withSecurityHeaders(latchkey(manager) as unknown as Handler)));
  for (const route of routes) {
    for (const method of ['GET', 'POST'] as const) {
      const chain = route[method];
      if (chain) app.on(method, route.path, ...(chain as [Handler, ...Handler[]]));
    }
    // After the route's own handlers, which answer without calling next(): only other methods get here.
    const { options, notAllowed } = methodAnswers(route);
    app.options(route.path, options);
    app.all(route.path, notAllowed);
  }
  app.notFound((c) => problem(c, 404, 'Page not found.'));
  app.onError((error, c) => {
    const asJson = wantsJson(c.req.raw);
    if (isServiceUnavailable(error)) {
      // A store that is down, or a user loader that threw (SEC-67): the client gets a generic 503,
      // the operator the coded error and what caused it, so that a bug is not mistaken for an outage.
      const cause = (error as { cause?: unknown }).cause;
      logger.log('warn', 'service_unavailable', {
        ...requestFields(),
        error: (error as { code?: unknown }).code ?? error.name,
        message: error.message,
        ...(cause instanceof Error && { cause: cause.name, cause_message: cause.message.slice(0, 500) }),
      });
      return plainError(asJson, 503, 'The service is temporarily unavailable. Please try again shortly.', { 'retry-after': '5' });
    }
    // Hono calls onError where the error was thrown: inside the request log's context.
    const requestId = currentRequest()?.id ?? randomUUID();
    logger.log('error', 'request_error', { ...requestFields(), request_id: requestId, error: error.name, message: error.message, stack: error.stack });
    return plainError(asJson, 500, `Something went wrong on our side. If it keeps happening, quote request id ${requestId}.`, {}, requestId);
  });
  return { app, manager, accounts, mailer, warnings };
}

/**
 * The 500 and 503 pages: no stack, no error message, no path (SEC-66), only an id to find the log
 * line. Built without the layout, which reads the session: the store may be what failed. The
 * message is ours, never the error's, so it needs no escaping.
 */
function plainError(asJson: boolean, status: number, message: string, headers: Record<string, string>, requestId?: string): Response {
  const all = { 'cache-control': 'no-store', ...headers };
  if (asJson) {
    const body = requestId ? { message, request_id: requestId } : { message };
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...all } });
  }
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Error · Latchkey</title><link rel="stylesheet" href="${STYLESHEET_URL}"></head><body><main class="content"><section class="card narrow error-page"><p class="status">Error ${status}</p><h1>${message}</h1><p><a href="/">Back to the home page</a></p></section></main></body></html>`;
  return new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8', ...all } });
}
