/**
 * `GET /dev/outbox` (the app's HTTP contract, `SMTP_URL`): the mails kept by the development outbox, as a
 * page or as JSON. The route exists only while the outbox is the transport, which config.ts never
 * allows in production: there the path is the app's 404. The links in it open accounts, so the
 * page is never cached and sends no `Referer` (SEC-59).
 *
 * @module app/routes/outbox
 */
import { isJson, json, page } from '../answers.ts';
import { listOutbox } from '../mail/outbox.ts';
import type { AppContext, Deps, Route } from '../types.ts';
import { outboxPage } from '../views/outbox.ts';
import { TOKEN_HOP_HEADERS } from './links.ts';

export function outboxRoutes(deps: Deps): Route[] {
  const { config } = deps;
  if (config.smtpUrl !== null || config.production) return [];

  async function show(c: AppContext): Promise<Response> {
    const entries = await listOutbox(config.dataDir, config.publicUrl);
    if (isJson(c)) return json(c, 200, { messages: entries }, TOKEN_HOP_HEADERS);
    return page(c, outboxPage(entries), 200, TOKEN_HOP_HEADERS);
  }

  return [{ path: '/dev/outbox', GET: [show] }];
}
