/**
 * One `http_request` line per request, at `info`: method, path without its query string (a query
 * may carry a token, SEC-69) or route parameters, status, duration in ms, request id, client IP. The same middleware
 * gives the request its context, an id and where it came from, for every other line written while
 * it runs: the security events (security-log.ts) are emitted deep inside latchkey and the accounts,
 * which do not know the Hono context, so the context travels with the request's async work
 * (AsyncLocalStorage) rather than through every call.
 *
 * @module app/request-log
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { routePath } from 'hono/route';
import type { AppContext, Handler } from './types.ts';
import type { Logger } from './log.ts';

/** The request a line is written for. */
export interface RequestContext {
  /** A UUID, also quoted by the 500 page (SEC-66). */
  readonly id: string;
  readonly c: AppContext;
}

/**
 * Its id is made when a line first needs it: most requests write no line below `info`, and a
 * UUID for each of them was a measurable share of what a request allocated (bench/README.md).
 * Every line of one request still carries the same id.
 */
class LazyIdContext implements RequestContext {
  readonly c: AppContext;
  #id: string | undefined;

  constructor(c: AppContext) {
    this.c = c;
  }

  get id(): string {
    return (this.#id ??= randomUUID());
  }
}

const current = new AsyncLocalStorage<RequestContext>();

/** The context of the request being served, or undefined outside one (start-up, the CLI). */
export function currentRequest(): RequestContext | undefined {
  return current.getStore();
}

/**
 * The path as logged: never the query string, and for a route with parameters its pattern
 * (`/account/sessions/:id/revoke`), since a parameter may be a session id or a token (SEC-69).
 * The last route matched is the route's own (the app-wide middleware comes first).
 */
function loggedPath(c: AppContext): string {
  const pattern = routePath(c, -1);
  return pattern.includes(':') ? pattern : c.req.path;
}

/**
 * The fields that place a line in its request: id, method, path, client IP (the trusted-proxy
 * rule's, once latchkey has run). Empty outside a request.
 */
export function requestFields(context = currentRequest()): Record<string, unknown> {
  if (context === undefined) return {};
  const { c } = context;
  return { request_id: context.id, method: c.req.method, path: loggedPath(c), ip: c.get('auth')?.clientIp ?? null };
}

/**
 * Runs `inner` (the app's outermost middleware) inside a new request context, then writes the
 * request line. One layer around the others rather than one more: each costs every request.
 */
export function withRequestLog(logger: Logger, inner: Handler): Handler {
  return function requestLogMiddleware(c, next) {
    const context = new LazyIdContext(c);
    // Without the request line, nothing is left to do after the inner layers: no wrapper around them.
    if (!logger.enabled('info')) return current.run(context, inner, c, next);
    const started = performance.now();
    return current.run(context, async () => {
      try {
        await inner(c, next);
      } finally {
        const ms = Math.round((performance.now() - started) * 10) / 10;
        logger.log('info', 'http_request', { ...requestFields(context), status: c.res.status, duration_ms: ms });
      }
    });
  };
}
