/**
 * latchkey on Fastify 5: register, log in with "remember me", a dashboard, a JSON route, log out.
 * Accounts, sessions and login throttling in one SQLite file. `PORT=3000 node app.ts`.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyRequest } from 'fastify';
import { createAccounts, createLoginManager, createLoginThrottle, type UserRecord } from 'latchkey';
import { csrfProtection, latchkey, loginRequired } from 'latchkey/fastify';
import { SqliteStore, SqliteUserStore } from 'latchkey/sqlite';

declare module 'latchkey/fastify' {
  interface LatchkeyTypes { user: UserRecord } // request.auth.user(): Promise<UserRecord | null>
}

const secret = process.env.SECRET_KEY ?? randomBytes(32); // set it: a new key at each start logs everyone out
const file = process.env.DATABASE ?? 'app.db';
const store = new SqliteStore({ path: file }); // sessions, remember-me series, throttle counters
const accounts = createAccounts({
  users: new SqliteUserStore({ path: file }),
  throttle: createLoginThrottle({ store, secret }),
  revokeSessions: async (userId) => (await manager.revokeUserSessions(userId)).sessions,
});
const manager = createLoginManager<UserRecord>({
  store,
  secret,
  loadUser: (id) => accounts.loadUser(id),
  loginView: '/login',
  trustedOrigins: process.env.ORIGIN ? [process.env.ORIGIN] : [], // your https:// origin; required in production
});

const app = Fastify({ bodyLimit: 16 * 1024 });
// Fastify parses no forms. This line is what @fastify/formbody does (use it if you prefer): it must
// run before csrfProtection(), which reads `_csrf` from request.body.
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
  done(null, Object.fromEntries(new URLSearchParams(body as string))),
);
await app.register(latchkey, { manager });
app.addHook('preValidation', csrfProtection());

type Form = Record<string, string | undefined>;
const esc = (value: unknown) => String(value ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
function page(request: FastifyRequest, body: string): string {
  const flashes = request.auth.getFlashedMessages().map((f) => `<p class="${esc(f.category)}">${esc(f.message)}</p>`);
  return `<!doctype html><title>latchkey on Fastify</title>${flashes.join('')}${body}`;
}
const csrf = async (request: FastifyRequest) => `<input type="hidden" name="_csrf" value="${await request.auth.csrfToken()}">`;

const registerForm = async (request: FastifyRequest) => `<form method="post" action="/register">${await csrf(request)}
  <input name="email" type="email" placeholder="Email" required> <input name="name" placeholder="Name" required>
  <input name="password" type="password" placeholder="Password (15 characters or more)" required>
  <button>Register</button></form><a href="/login">Log in</a>`;
app.get('/register', async (request, reply) => reply.type('text/html').send(page(request, await registerForm(request))));
app.post<{ Body: Form }>('/register', async (request, reply) => {
  const { email, name, password } = request.body;
  const result = await accounts.register({ email, name, password, ip: request.auth.clientIp });
  if (result.ok && 'user' in result && (await request.auth.login(result.user))) return reply.redirect('/dashboard', 303);
  if (result.ok) return reply.redirect('/login', 303);
  const [why, status] =
    result.reason === 'invalid' ? [Object.values(result.errors).join(' '), 400]
    : result.reason === 'exists' ? ['That address is registered already: log in instead.', 409]
    : ['Too many registrations. Try again later.', 429];
  return reply.code(status).type('text/html').send(page(request, `<p class="error">${esc(why)}</p>${await registerForm(request)}`));
});

const loginForm = async (request: FastifyRequest, next: unknown) => `<form method="post" action="/login">${await csrf(request)}
  <input type="hidden" name="next" value="${typeof next === 'string' ? esc(next) : ''}">
  <input name="login" type="email" placeholder="Email" required> <input name="password" type="password" placeholder="Password" required>
  <label><input type="checkbox" name="remember"> Remember me</label> <button>Log in</button></form><a href="/register">Register</a>`;
app.get<{ Querystring: Form }>('/login', async (request, reply) =>
  reply.type('text/html').send(page(request, await loginForm(request, request.query.next))),
);
app.post<{ Body: Form }>('/login', async (request, reply) => {
  const { login, password, remember, next } = request.body;
  const result = await accounts.authenticate({ login, password, ip: request.auth.clientIp });
  if (result.ok && (await request.auth.login(result.user, { remember: remember === 'on' }))) {
    return reply.redirect(request.auth.nextTarget(next, '/dashboard'), 303); // `next` that leaves this site becomes /dashboard
  }
  const throttled = !result.ok && result.reason === 'throttled';
  const why = throttled ? 'Too many attempts. Try again later.' : 'Invalid email or password.';
  return reply.code(throttled ? 429 : 401).type('text/html').send(page(request, `<p class="error">${why}</p>${await loginForm(request, next)}`));
});

app.get('/', async (_request, reply) => reply.redirect('/dashboard'));
app.get('/dashboard', { preHandler: loginRequired() }, async (request, reply) => {
  const user = await request.auth.requireUser(); // the user, never null: loginRequired() ran first
  return reply.type('text/html').send(page(request, `<h1>Hello, ${esc(user.name)}!</h1>
    <form method="post" action="/logout">${await csrf(request)}<button>Log out</button></form>`));
});
app.get('/api/me', { preHandler: loginRequired() }, async (request) => {
  const user = await request.auth.requireUser(); // anonymous API clients got a JSON 401
  return { id: user.id, email: user.email, name: user.name };
});
app.post('/logout', async (request, reply) => {
  await request.auth.logout();
  request.auth.flash('You are logged out.');
  return reply.redirect('/login', 303);
});

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${address}`);
