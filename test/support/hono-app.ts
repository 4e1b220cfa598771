/**
 * The behaviour suite's route table (see harness.ts) on Hono, through `latchkey/hono`.
 *
 * @module test/support/hono-app
 */
import { once } from 'node:events';
import { Hono } from 'hono';
import { csrfProtection, freshLoginRequired, latchkey, loginRequired, type LatchkeyEnv } from '../../src/hono.ts';
import type { LoginManager } from '../../src/manager.ts';
import { USERS, type Harness, type TestUser } from './harness.ts';

/** Builds the route table; the guarded routes' handlers push their path onto `handled`. */
export function buildHonoApp(manager: LoginManager<TestUser>, handled: string[] = []): Hono<LatchkeyEnv<TestUser>> {
  const app = new Hono<LatchkeyEnv<TestUser>>();
  app.use(latchkey(manager), csrfProtection());
  app.get('/', (c) => c.text('public'));
  app.get('/whoami', async (c) => {
    const auth = c.var.auth;
    const user = await auth.user();
    const current = await auth.currentUser();
    return c.json({
      user: user?.name ?? null,
      anonymous: (current as { isAnonymous?: boolean }).isAnonymous === true,
      fresh: await auth.isFresh(),
      remembered: await auth.isRemembered(),
    });
  });
  app.on(['GET', 'OPTIONS'], '/protected', loginRequired(), async (c) => {
    handled.push(c.req.path);
    const user = await c.var.auth.user();
    return c.json({ message: user ? `Hello, ${user.name}!` : 'preflight' });
  });
  app.get('/fresh', freshLoginRequired(), (c) => (handled.push(c.req.path), c.json({ ok: true })));
  app.get('/admin/protected', loginRequired({ loginView: '/admin/login' }), (c) => (handled.push(c.req.path), c.json({ ok: true })));
  app.get('/api/protected', loginRequired({ loginView: null }), (c) => (handled.push(c.req.path), c.json({ ok: true })));
  app.post('/login', async (c) => {
    const body = await c.req.json();
    const user = USERS[body.id];
    if (!user) return c.json({ ok: false });
    const ok = await c.var.auth.login(user, { remember: body.remember, fresh: body.fresh, force: body.force, duration: body.duration, methods: body.methods });
    return c.json({ ok });
  });
  app.post('/logout', async (c) => c.json({ ok: await c.var.auth.logout() }));
  app.post('/confirm', async (c) => c.json({ ok: await c.var.auth.confirmLogin() }));
  app.post('/rotate', async (c) => c.json({ ok: await c.var.auth.rotateSession() }));
  app.post('/revoke-others', async (c) => c.json({ ended: await c.var.auth.revokeOtherSessions() }));
  app.post('/revoke', async (c) => c.json({ ok: await c.var.auth.revokeSession((await c.req.json()).id) }));
  app.get('/sessions', async (c) => c.json({ sessions: await c.var.auth.listSessions() }));
  app.get('/csrf', async (c) => c.json({ token: await c.var.auth.csrfToken() }));
  app.post('/form', (c) => (handled.push(c.req.path), c.text('accepted')));
  app.post('/flash', async (c) => {
    const body = await c.req.json();
    c.var.auth.flash(body.message, body.category);
    return c.json({ ok: true });
  });
  app.get('/flashes', (c) => c.json({ flashes: c.var.auth.getFlashedMessages() }));
  app.get('/next', (c) => c.json({ target: c.var.auth.nextTarget(undefined, '/dashboard') }));
  app.post('/begin-second-step', async (c) => {
    const body = await c.req.json();
    return c.json({ ok: await c.var.auth.beginSecondStep(USERS[body.id] as TestUser, { remember: body.remember, next: body.next }) });
  });
  app.get('/pending-second-step', async (c) => c.json({ pending: await c.var.auth.pendingSecondStep() }));
  app.post('/complete-second-step', async (c) => {
    const body = await c.req.json();
    return c.json({ ok: await c.var.auth.completeSecondStep(USERS[body.id] as TestUser, { method: body.method }) });
  });
  app.post('/cancel-second-step', async (c) => (await c.var.auth.cancelSecondStep(), c.json({ ok: true })));
  return app;
}

/** A harness that calls `app.request` directly: no server, no socket. */
export async function makeHonoHarness(manager: LoginManager<TestUser>): Promise<Harness> {
  const handled: string[] = [];
  const app = buildHonoApp(manager, handled);
  return {
    origin: 'http://localhost',
    handled,
    fetch: async (path, init) => app.request(path, init),
    close: async () => {},
  };
}

/** The same app behind a real @hono/node-server on 127.0.0.1: the path production takes. */
export async function makeHonoServerHarness(manager: LoginManager<TestUser>): Promise<Harness> {
  const handled: string[] = [];
  const app = buildHonoApp(manager, handled);
  const { serve } = await import('@hono/node-server');
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    handled,
    // Node's fetch sends `User-Agent: node` unless told otherwise; tests expect none by default.
    fetch: (path, init) => {
      const headers = new Headers(init?.headers);
      if (!headers.has('user-agent')) headers.set('user-agent', '');
      return fetch(`${origin}${path}`, { ...init, headers, redirect: 'manual' });
    },
    close: () => new Promise<void>((resolve) => {
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
