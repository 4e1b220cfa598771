/**
 * The behaviour suite's route table (see harness.ts) on Fastify 5, through `latchkey/fastify`,
 * listening on a free port of 127.0.0.1 (the path production takes; `app.inject` would skip the
 * socket, whose address the session list records).
 *
 * Fastify parses no urlencoded body by default (it answers 415). An app registers
 * `@fastify/formbody`; this harness, which may not depend on it, registers the minimal parser
 * below in its place, so `csrfProtection()` reads `_csrf` from `request.body` as it would there.
 *
 * @module test/support/fastify-app
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { csrfProtection, freshLoginRequired, latchkey, loginRequired } from '../../src/fastify.ts';
import type { LoginManager } from '../../src/manager.ts';
import { USERS, type Harness, type TestUser } from './harness.ts';

// The user type, named once: `request.auth` is RequestAuth<TestUser, AnonymousUser> everywhere below.
declare module '../../src/fastify.ts' {
  interface LatchkeyTypes {
    user: TestUser;
  }
}

/** What `@fastify/formbody` does, in one line: `a=1&b=2` → `{ a: '1', b: '2' }` (last one wins). */
export function addFormParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
}

type JsonBody = Record<string, any>;

/** Builds the route table; the guarded routes' handlers push their path onto `handled`. */
export async function buildFastifyApp(manager: LoginManager<TestUser>, handled: string[] = []): Promise<FastifyInstance> {
  const app = Fastify();
  addFormParser(app);
  await app.register(latchkey, { manager });
  app.addHook('preValidation', csrfProtection());
  const path = (request: FastifyRequest) => request.url.split('?')[0] as string;
  app.get('/', async (_request, reply) => reply.type('text/plain').send('public'));
  app.get('/whoami', async (request) => {
    const user = await request.auth.user();
    const current = await request.auth.currentUser();
    return {
      user: user?.name ?? null,
      anonymous: (current as { isAnonymous?: boolean }).isAnonymous === true,
      fresh: await request.auth.isFresh(),
      remembered: await request.auth.isRemembered(),
    };
  });
  app.route({
    method: ['GET', 'OPTIONS'],
    url: '/protected',
    preHandler: loginRequired(),
    handler: async (request) => {
      handled.push(path(request));
      const user = await request.auth.user();
      return { message: user ? `Hello, ${user.name}!` : 'preflight' };
    },
  });
  app.get('/fresh', { preHandler: freshLoginRequired() }, async (request) => (handled.push(path(request)), { ok: true }));
  app.get('/admin/protected', { preHandler: loginRequired({ loginView: '/admin/login' }) }, async (request) => (handled.push(path(request)), { ok: true }));
  app.get('/api/protected', { preHandler: loginRequired({ loginView: null }) }, async (request) => (handled.push(path(request)), { ok: true }));
  app.post<{ Body: JsonBody }>('/login', async (request) => {
    const body = request.body;
    const user = USERS[body.id];
    if (!user) return { ok: false };
    return { ok: await request.auth.login(user, { remember: body.remember, fresh: body.fresh, force: body.force, duration: body.duration, methods: body.methods }) };
  });
  app.post('/logout', async (request) => ({ ok: await request.auth.logout() }));
  app.post('/confirm', async (request) => ({ ok: await request.auth.confirmLogin() }));
  app.post('/rotate', async (request) => ({ ok: await request.auth.rotateSession() }));
  app.post('/revoke-others', async (request) => ({ ended: await request.auth.revokeOtherSessions() }));
  app.post<{ Body: JsonBody }>('/revoke', async (request) => ({ ok: await request.auth.revokeSession(request.body.id) }));
  app.get('/sessions', async (request) => ({ sessions: await request.auth.listSessions() }));
  app.get('/csrf', async (request) => ({ token: await request.auth.csrfToken() }));
  app.post('/form', async (request, reply) => (handled.push(path(request)), reply.type('text/plain').send('accepted')));
  app.post<{ Body: JsonBody }>('/flash', async (request) => {
    request.auth.flash(request.body.message, request.body.category);
    return { ok: true };
  });
  app.get('/flashes', async (request) => ({ flashes: request.auth.getFlashedMessages() }));
  app.get('/next', async (request) => ({ target: request.auth.nextTarget(undefined, '/dashboard') }));
  app.post<{ Body: JsonBody }>('/begin-second-step', async (request) => {
    const body = request.body;
    return { ok: await request.auth.beginSecondStep(USERS[body.id] as TestUser, { remember: body.remember, next: body.next }) };
  });
  app.get('/pending-second-step', async (request) => ({ pending: await request.auth.pendingSecondStep() }));
  app.post<{ Body: JsonBody }>('/complete-second-step', async (request) => ({
    ok: await request.auth.completeSecondStep(USERS[request.body.id] as TestUser, { method: request.body.method }),
  }));
  app.post('/cancel-second-step', async (request) => (await request.auth.cancelSecondStep(), { ok: true }));
  return app;
}

/** A harness on a real server; redirects are not followed, as with Hono's `app.request`. */
export async function makeFastifyHarness(manager: LoginManager<TestUser>): Promise<Harness> {
  const handled: string[] = [];
  const app = await buildFastifyApp(manager, handled);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
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
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
