/**
 * What only the Fastify adapter has to prove, beside the behaviour suite it runs
 * (behaviour-fastify.test.ts): the plugin's encapsulation and registration, the body the CSRF
 * check sees when Fastify parses it (SEC-43, SEC-67), the app's own error handler next to the
 * 503 of a store failure, and cookies of the app's beside the core's. Requests go through
 * `app.inject`, Fastify's own test client: no socket.
 *
 * @module test/fastify
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { csrfProtection, getAuth, latchkey, loginRequired } from '../src/fastify.ts';
import { createLoginManager, type LoginManager } from '../src/manager.ts';
import { loginTestUser, MemoryStore } from '../src/testing/index.ts';
import { addFormParser } from './support/fastify-app.ts';
import { USERS, type TestUser } from './support/harness.ts';

const NOTCH = USERS['1'] as TestUser;

function makeManager(fault = { on: false }): LoginManager<TestUser> {
  return createLoginManager<TestUser>({
    store: new MemoryStore(),
    secret: 'fastify-adapter-secret-0123456789abcdef',
    loadUser: (id) => {
      if (fault.on) throw new Error('users table is locked');
      return USERS[id] ?? null;
    },
    sessionProtection: null,
  });
}

/** An app with the plugin, a form parser and the CSRF hook; `handled` records the handlers that ran. */
async function formApp(manager: LoginManager<TestUser>, handled: string[]): Promise<FastifyInstance> {
  const app = Fastify();
  addFormParser(app);
  await app.register(latchkey, { manager });
  app.addHook('preValidation', csrfProtection());
  app.get('/csrf', async (request) => ({ token: await request.auth.csrfToken() }));
  app.post('/form', { preHandler: loginRequired() }, async () => (handled.push('/form'), 'accepted'));
  return app;
}

describe('fastify: the CSRF check reads the body Fastify parsed', () => {
  it('SEC-67 (attacker): a body no content-type parser accepts is refused with 415 before any hook, and no handler runs', async (t) => {
    const manager = makeManager();
    const handled: string[] = [];
    const app = await formApp(manager, handled);
    t.after(() => app.close());
    const cookie = await loginTestUser(manager, NOTCH);
    const res = await app.inject({ method: 'POST', url: '/form', headers: { cookie, 'content-type': 'multipart/form-data; boundary=zz' }, payload: '--zz\r\ngarbage' });
    assert.equal(res.statusCode, 415);
    assert.deepEqual(handled, []);
  });

  it('SEC-43 (attacker): a valid token in a text/plain body is not read as the form field, 403; the same token as X-CSRF-Token passes', async (t) => {
    const manager = makeManager();
    const handled: string[] = [];
    const app = await formApp(manager, handled);
    t.after(() => app.close());
    const cookie = await loginTestUser(manager, NOTCH);
    const token = (await app.inject({ url: '/csrf', headers: { cookie } })).json().token as string;
    // Fastify's built-in text/plain parser makes the body a string: it has no `_csrf` field.
    const plain = await app.inject({ method: 'POST', url: '/form', headers: { cookie, 'content-type': 'text/plain' }, payload: `_csrf=${token}` });
    assert.equal(plain.statusCode, 403);
    assert.deepEqual(handled, []);
    const header = await app.inject({ method: 'POST', url: '/form', headers: { cookie, 'content-type': 'text/plain', 'x-csrf-token': token }, payload: 'x' });
    assert.equal(header.statusCode, 200);
    const form = await app.inject({ method: 'POST', url: '/form', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(token)}` });
    assert.equal(form.statusCode, 200);
    assert.deepEqual(handled, ['/form', '/form']);
  });

  it('SEC-43 (attacker): a token given twice in the form is refused, whatever the first one', async (t) => {
    const manager = makeManager();
    const handled: string[] = [];
    const app = Fastify();
    // @fastify/formbody's default (node:querystring) makes a repeated field an array.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      const params = new URLSearchParams(body as string);
      done(null, Object.fromEntries([...params.keys()].map((name) => [name, params.getAll(name).length > 1 ? params.getAll(name) : params.get(name)])));
    });
    await app.register(latchkey, { manager });
    app.addHook('preValidation', csrfProtection());
    app.get('/csrf', async (request) => ({ token: await request.auth.csrfToken() }));
    app.post('/form', async () => (handled.push('/form'), 'accepted'));
    t.after(() => app.close());
    const cookie = await loginTestUser(manager, NOTCH);
    const token = (await app.inject({ url: '/csrf', headers: { cookie } })).json().token as string;
    const res = await app.inject({ method: 'POST', url: '/form', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${token}&_csrf=${token}` });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(handled, []);
  });
});

describe('fastify: the plugin', () => {
  it('carries fastify-plugin\'s metadata: not encapsulated, named latchkey, for Fastify 5', () => {
    const meta = latchkey as unknown as Record<symbol, unknown>;
    assert.equal(meta[Symbol.for('skip-override')], true);
    assert.equal(meta[Symbol.for('fastify.display-name')], 'latchkey');
    assert.deepEqual(meta[Symbol.for('plugin-meta')], { name: 'latchkey', fastify: '5.x' });
  });

  it('reaches every route of the scope that registers it and its children, and no sibling scope', async (t) => {
    const manager = makeManager();
    const app = Fastify();
    t.after(() => app.close());
    await app.register(async (withAuth) => {
      await withAuth.register(latchkey, { manager });
      assert.equal(withAuth.hasPlugin('latchkey'), true);
      withAuth.get('/inside', async (request) => ({ user: (await request.auth.user())?.name ?? null }));
      await withAuth.register(async (child) => {
        child.get('/child', { preHandler: loginRequired() }, async (request) => ({ user: (await getAuth(request).user())?.name }));
      });
    });
    await app.register(async (sibling) => {
      sibling.get('/sibling', async (request) => ({ decorated: 'auth' in request }));
      sibling.get('/sibling-guarded', { preHandler: loginRequired() }, async () => 'reached');
    });
    const cookie = await loginTestUser(manager, NOTCH);
    assert.deepEqual((await app.inject({ url: '/inside', headers: { cookie } })).json(), { user: 'Notch' });
    assert.deepEqual((await app.inject({ url: '/child', headers: { cookie } })).json(), { user: 'Notch' });
    assert.equal((await app.inject({ url: '/child' })).statusCode, 401);
    assert.deepEqual((await app.inject({ url: '/sibling', headers: { cookie } })).json(), { decorated: false });
    // A guard where the plugin is not registered throws TypeError (misuse), never lets the request through.
    const guarded = await app.inject({ url: '/sibling-guarded', headers: { cookie } });
    assert.equal(guarded.statusCode, 500);
    assert.notEqual(guarded.body, 'reached');
  });

  it('refuses to register without a login manager (TypeError), and twice in one scope', async () => {
    const bare = Fastify();
    await assert.rejects(async () => { await bare.register(latchkey, {} as never); await bare.ready(); }, TypeError);
    const twice = Fastify();
    await twice.register(latchkey, { manager: makeManager() });
    await assert.rejects(async () => { await twice.register(latchkey, { manager: makeManager() }); await twice.ready(); }, { code: 'FST_ERR_DEC_ALREADY_PRESENT' });
    await twice.close();
  });

  it('appends the core\'s Set-Cookie beside the app\'s own cookies, and marks the response no-store (SEC-25)', async (t) => {
    const manager = makeManager();
    const app = Fastify();
    t.after(() => app.close());
    await app.register(latchkey, { manager });
    app.post('/login', async (request, reply) => {
      reply.header('set-cookie', 'theme=dark; Path=/');
      return { ok: await request.auth.login(NOTCH) };
    });
    const res = await app.inject({ method: 'POST', url: '/login' });
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    assert.ok(cookies.includes('theme=dark; Path=/'), cookies.join('\n'));
    assert.ok(cookies.some((c) => c.startsWith('session=')), cookies.join('\n'));
    assert.equal(res.headers['cache-control'], 'no-store');
  });
});

describe('fastify: store failures beside the app\'s error handler (R-01)', () => {
  async function failingApp(errorHandler: 'none' | '500' | '503'): Promise<{ app: FastifyInstance; cookie: string; fault: { on: boolean } }> {
    const fault = { on: false };
    const manager = makeManager(fault);
    const app = Fastify();
    if (errorHandler !== 'none') {
      app.setErrorHandler(async (_error, _request, reply) => reply.code(Number(errorHandler)).type('text/plain').send(`the app's ${errorHandler}`));
    }
    await app.register(latchkey, { manager });
    app.get('/whoami', async (request) => ({ user: (await request.auth.user())?.name ?? null }));
    app.get('/boom', async () => { throw new Error('a bug of the app'); });
    const cookie = await loginTestUser(manager, NOTCH);
    fault.on = true;
    return { app, cookie, fault };
  }

  it('a store failure in a handler answers 503 with Retry-After, JSON to an API client, without Fastify\'s error body', async (t) => {
    const { app, cookie } = await failingApp('none');
    t.after(() => app.close());
    const res = await app.inject({ url: '/whoami', headers: { cookie, accept: 'application/json' } });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '5');
    assert.deepEqual(res.json(), { message: 'The service is temporarily unavailable. Please try again shortly.' });
    // Not the length of Fastify's error body it replaced: none (chunked), or the right one.
    const length = res.headers['content-length'];
    assert.ok(length === undefined || Number(length) === Buffer.byteLength(res.body), `content-length ${length}`);
  });

  it('an app error handler that answers 500 to everything still gives 503 for a store failure, and its own 500 for a bug', async (t) => {
    const { app, cookie } = await failingApp('500');
    t.after(() => app.close());
    const res = await app.inject({ url: '/whoami', headers: { cookie, accept: 'text/html' } });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /temporarily unavailable/);
    const bug = await app.inject({ url: '/boom' });
    assert.equal(bug.statusCode, 500);
    assert.equal(bug.body, 'the app\'s 500');
  });

  it('an app error handler that answers 503 itself keeps its own page', async (t) => {
    const { app, cookie } = await failingApp('503');
    t.after(() => app.close());
    const res = await app.inject({ url: '/whoami', headers: { cookie } });
    assert.equal(res.statusCode, 503);
    assert.equal(res.body, 'the app\'s 503');
  });
});
