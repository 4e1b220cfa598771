/**
 * `GET /healthz`: 200 `{"status":"ok"}` while every store answers, else 503 with each store's
 * state and `Retry-After` (app-contract.md). It never touches the session, so a load balancer's
 * probes create nothing; a store that hangs counts as down after 2 s (security.md R-03).
 *
 * @module app/routes/health
 */
import { json, type AppContext, type Deps, type Route } from '../http.ts';

/** Longer than a healthy SQLite ping by orders of magnitude, short enough for a probe's timeout. */
const PING_TIMEOUT = 2000;

export function healthRoute(deps: Deps): Route {
  async function health(c: AppContext): Promise<Response> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), PING_TIMEOUT);
    });
    const stores = await Promise.race([deps.stores.ping().catch(() => null), timeout]).finally(() => clearTimeout(timer));
    const headers = { 'cache-control': 'no-store' };
    if (stores !== null && Object.values(stores).every((state) => state === 'ok')) return json(c, 200, { status: 'ok' }, headers);
    return json(c, 503, { status: 'unavailable', stores: stores ?? { all: 'timeout' } }, { ...headers, 'retry-after': '5' });
  }
  return { path: '/healthz', GET: [health] };
}
