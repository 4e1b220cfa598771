/**
 * The request shape the core reads, and what an adapter passes along with it. A web-standard
 * `Request` satisfies it; the Express adapter passes a small object that does. The core never
 * touches a framework's request or `node:http`.
 *
 * @module request
 */

/** What the core reads of a request: method, absolute URL and headers. */
export interface RequestLike {
  readonly method: string;
  /** The absolute URL as the server sees it, e.g. `http://127.0.0.1:3000/dashboard?x=1`. */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
}

/** What an adapter passes along with the request, to `manager.forRequest`. */
export interface RequestAuthInit {
  /** The socket's peer address, for session lists and (with trustProxy) as the last hop. */
  remoteAddress?: string | null;
  /** Called with each `Set-Cookie` value as soon as it is decided. */
  onSetCookie?: (setCookie: string) => void;
  /** Called once, when the request first reads or changes authentication state (its response must not be cached). */
  onUse?: () => void;
}

/** @deprecated Renamed {@link RequestAuthInit}: this name shadowed the type of fetch's `RequestInit`. */
export type RequestInit = RequestAuthInit;

const HTML = /\btext\/html\b/i;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** True when the request's body is declared as JSON (`application/json`, `application/*+json`). */
export function hasJsonBody(request: RequestLike): boolean {
  return JSON_TYPE.test(request.headers.get('content-type') ?? '');
}

/**
 * True when the client wants JSON rather than HTML: it sent a JSON body, or its `Accept` header
 * does not list `text/html` (curl's `*∕*`, `fetch()`'s default). Browsers navigating always list
 * `text/html`. (the app's HTTP contract, "Representations".)
 *
 * @example
 * ```ts
 * wantsJson(new Request('http://x/', { headers: { accept: '*∕*' } })) // true
 * ```
 */
export function wantsJson(request: RequestLike): boolean {
  return hasJsonBody(request) || !HTML.test(request.headers.get('accept') ?? '');
}

/** True for methods that must not change state (RFC 9110 §9.2.1), and OPTIONS preflights. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
