/**
 * The per-IP limit on looking up mailed tokens (SEC-54, SEC-53 "token confirm"): each route that
 * reads a reset, verification or email-change token from the store asks this gate first, and past
 * the cap (throttles.ts `TOKEN_LIMITS`) answers 429 with `Retry-After` without reading the store,
 * so that one client cannot scan for live tokens. 32-byte tokens make a hit hopeless anyway; the
 * cap stops the scan and what it costs the store. The refusal is the same for a live token and a
 * made-up one: the gate never looks. A value not even shaped like a token (links.ts `TOKEN`) is
 * refused before the gate and counts for nothing; so do the GET pages of verification and
 * email-change links, which read no token (a button that POSTs it, SEC-42). A counter store that is down throws its coded
 * error, which the app answers with 503: a lookup is never let through unthrottled (SEC-55).
 *
 * @module app/routes/token-throttle
 */
import type { LoginThrottle } from 'latchkey';
import { problem } from '../answers.ts';
import type { AppContext } from '../types.ts';
import { TOKEN_PAGE_HEADERS } from './links.ts';

/** Null when the request's IP may look a token up (the lookup is counted), else the 429 to answer. */
export type TokenGate = (c: AppContext) => Promise<Response | null>;

export function tokenGate(throttle: LoginThrottle): TokenGate {
  return async function gateTokenLookup(c) {
    const verdict = await throttle.countRequest({ ip: c.get('auth').clientIp });
    if (verdict.ok) return null;
    const wait = verdict.retryAfter;
    // The address of a refused GET may hold a token: the same referrer and cache headers as its page (SEC-59).
    return problem(c, 429, `Too many links tried from your network. Please wait ${wait} second${wait === 1 ? '' : 's'} and try again.`, {
      headers: { ...TOKEN_PAGE_HEADERS, 'retry-after': String(wait) },
    });
  };
}
