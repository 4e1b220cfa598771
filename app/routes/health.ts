/**
 * `GET /healthz`: 200 `{"status":"ok","stores":{…}}` while every store answers, else 503 with
 * each store's state and `Retry-After` (the app's HTTP contract; the per-store report is for operators of
 * several stores). It never touches the session, so a load balancer's probes create nothing.
 *
 * @module app/routes/health
 */
import { json } from '../answers.ts';
import type { AppContext, Deps, Route } from '../types.ts';

export function healthRoute(deps: Deps): Route {
  async function health(c: AppContext): Promise<Response> {
    // Each store answers within 1.5 s or counts as down (app/stores.ts), so a probe never hangs.
    const stores = await deps.stores.ping().catch(() => ({ stores: 'unavailable' as const }));
    const headers = { 'cache-control': 'no-store' };
    if (Object.values(stores).every((state) => state === 'ok')) return json(c, 200, { status: 'ok', stores }, headers);
    return json(c, 503, { status: 'unavailable', stores }, { ...headers, 'retry-after': '5' });
  }
  return { path: '/healthz', GET: [health] };
}
