/**
 * The few responses the core builds itself: redirects to the login or refresh view, 401/403
 * JSON for API clients, and 503 when a store is down. None is cacheable (SEC-25).
 *
 * @module lib/responses
 */

const NO_STORE = 'no-store';

/** A JSON response; `{"message": …}` is the shape of every error body (the app's HTTP contract). */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': NO_STORE, ...headers },
  });
}

/** A plain-text response. */
export function textResponse(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': NO_STORE, ...headers },
  });
}

/** A redirect; 303 after a POST so the browser follows with GET (RFC 9110 §15.4.4). */
export function redirectResponse(method: string, location: string): Response {
  const status = method === 'GET' || method === 'HEAD' ? 302 : 303;
  return new Response(null, { status, headers: { location, 'cache-control': NO_STORE } });
}

/**
 * 503 for a store that is down or too slow: the client should retry, and must not conclude that
 * it was logged out (R-01; elizaOS/eliza#30227). `Retry-After` in seconds.
 */
export function serviceUnavailableResponse(json: boolean, retryAfter = 5): Response {
  const message = 'The service is temporarily unavailable. Please try again shortly.';
  const headers = { 'retry-after': String(retryAfter) };
  return json ? jsonResponse(503, { message }, headers) : textResponse(503, message, headers);
}

/** 403 for a request refused by the CSRF check, with the reason. */
export function forbiddenResponse(json: boolean, reason: string): Response {
  return json ? jsonResponse(403, { message: reason }) : textResponse(403, reason);
}
