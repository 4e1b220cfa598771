/**
 * The behaviour suite's route table (see harness.ts) on Express 5, through `latchkey/express`,
 * served by a real `node:http` server on a free port of 127.0.0.1.
 *
 * @module test/support/express-app
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import { csrfProtection, errorHandler, freshLoginRequired, getAuth, latchkey, loginRequired } from '../../src/express.ts';
import type { LoginManager } from '../../src/manager.ts';
import { USERS, type Harness, type TestUser } from './harness.ts';

const auth = (req: express.Request) => getAuth<TestUser>(req);

/** Builds the route table; the guarded routes' handlers push their path onto `handled`. */
export function buildExpressApp(manager: LoginManager<TestUser>, handled: string[] = []): Express {
  const app = express();
  app.set('etag', false); // Hono sends no ETag (and so no 304): keep the two apps' answers alike
  app.use(express.json(), express.urlencoded({ extended: false }), latchkey(manager), csrfProtection());
  app.get('/', (_req, res) => res.type('text/plain').send('public'));
  app.get('/whoami', async (req, res) => {
    const user = await auth(req).user();
    const current = await auth(req).currentUser();
    res.json({
      user: user?.name ?? null,
      anonymous: (current as { isAnonymous?: boolean }).isAnonymous === true,
      fresh: await auth(req).isFresh(),
      remembered: await auth(req).isRemembered(),
    });
  });
  const hello: RequestHandler = async (req, res) => {
    handled.push(req.path);
    const user = await auth(req).user();
    res.json({ message: user ? `Hello, ${user.name}!` : 'preflight' });
  };
  app.route('/protected').get(loginRequired(), hello).options(loginRequired(), hello);
  app.get('/fresh', freshLoginRequired(), (req, res) => (handled.push(req.path), res.json({ ok: true })));
  app.get('/admin/protected', loginRequired({ loginView: '/admin/login' }), (req, res) => (handled.push(req.path), res.json({ ok: true })));
  app.get('/api/protected', loginRequired({ loginView: null }), (req, res) => (handled.push(req.path), res.json({ ok: true })));
  app.post('/login', async (req, res) => {
    const body = req.body;
    const user = USERS[body.id];
    if (!user) return res.json({ ok: false });
    const ok = await auth(req).login(user, { remember: body.remember, fresh: body.fresh, force: body.force, duration: body.duration, methods: body.methods });
    res.json({ ok });
  });
  app.post('/logout', async (req, res) => res.json({ ok: await auth(req).logout() }));
  app.post('/confirm', async (req, res) => res.json({ ok: await auth(req).confirmLogin() }));
  app.post('/rotate', async (req, res) => res.json({ ok: await auth(req).rotateSession() }));
  app.post('/revoke-others', async (req, res) => res.json({ ended: await auth(req).revokeOtherSessions() }));
  app.post('/revoke', async (req, res) => res.json({ ok: await auth(req).revokeSession(req.body.id) }));
  app.get('/sessions', async (req, res) => res.json({ sessions: await auth(req).listSessions() }));
  app.get('/csrf', async (req, res) => res.json({ token: await auth(req).csrfToken() }));
  app.post('/form', (req, res) => (handled.push(req.path), res.type('text/plain').send('accepted')));
  app.post('/flash', (req, res) => {
    const body = req.body;
    auth(req).flash(body.message, body.category);
    res.json({ ok: true });
  });
  app.get('/flashes', (req, res) => res.json({ flashes: auth(req).getFlashedMessages() }));
  app.get('/next', (req, res) => res.json({ target: auth(req).nextTarget(undefined, '/dashboard') }));
  app.post('/begin-second-step', async (req, res) => {
    const body = req.body;
    res.json({ ok: await auth(req).beginSecondStep(USERS[body.id] as TestUser, { remember: body.remember, next: body.next }) });
  });
  app.get('/pending-second-step', async (req, res) => res.json({ pending: await auth(req).pendingSecondStep() }));
  app.post('/complete-second-step', async (req, res) => res.json({ ok: await auth(req).completeSecondStep(USERS[req.body.id] as TestUser, { method: req.body.method }) }));
  app.post('/cancel-second-step', async (req, res) => (await auth(req).cancelSecondStep(), res.json({ ok: true })));
  app.use(errorHandler());
  return app;
}

/** A harness on a real server; redirects are not followed, as with Hono's `app.request`. */
export async function makeExpressHarness(manager: LoginManager<TestUser>): Promise<Harness> {
  const handled: string[] = [];
  const server = createServer(buildExpressApp(manager, handled)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    handled,
    fetch: async (path, init) => {
      // undici adds `User-Agent: node`; app.request sends none, and loginTestUser fingerprints none.
      const headers = new Headers(init?.headers);
      if (!headers.has('user-agent')) headers.set('user-agent', '');
      return fetch(origin + path, { redirect: 'manual', ...init, headers });
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
