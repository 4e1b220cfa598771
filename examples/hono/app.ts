/**
 * latchkey on Hono: register, log in with "remember me", a dashboard, a JSON route, log out.
 * Accounts, sessions and login throttling in one SQLite file. `PORT=3000 node app.ts`.
 */
import { randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { html } from 'hono/html';
import { createAccounts, createLoginManager, createLoginThrottle, type UserRecord } from 'latchkey';
import { csrfProtection, latchkey, loginRequired, type LatchkeyEnv } from 'latchkey/hono';
import { SqliteStore, SqliteUserStore } from 'latchkey/sqlite';

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

type Env = LatchkeyEnv<UserRecord>;
const app = new Hono<Env>();
app.use(bodyLimit({ maxSize: 16 * 1024 }), latchkey(manager), csrfProtection());

async function page(c: Context<Env>, body: unknown, status: 200 | 400 | 401 | 409 | 429 = 200) {
  const flashes = c.var.auth.getFlashedMessages().map((f) => html`<p class="${f.category}">${f.message}</p>`);
  return c.html(html`<!doctype html><title>latchkey on Hono</title>${flashes}${body}`, status);
}
const csrf = async (c: Context<Env>) => html`<input type="hidden" name="_csrf" value="${await c.var.auth.csrfToken()}">`;

const registerForm = async (c: Context<Env>) => html`<form method="post" action="/register">${await csrf(c)}
  <input name="email" type="email" placeholder="Email" required> <input name="name" placeholder="Name" required>
  <input name="password" type="password" placeholder="Password (15 characters or more)" required>
  <button>Register</button></form><a href="/login">Log in</a>`;
app.get('/register', async (c) => page(c, await registerForm(c)));
app.post('/register', async (c) => {
  const form = await c.req.parseBody();
  const result = await accounts.register({ email: form.email, name: form.name, password: form.password, ip: c.var.auth.clientIp });
  if (result.ok && 'user' in result && (await c.var.auth.login(result.user))) return c.redirect('/dashboard', 303);
  if (result.ok) return c.redirect('/login', 303);
  const [why, status] =
    result.reason === 'invalid' ? [Object.values(result.errors).join(' '), 400 as const]
    : result.reason === 'exists' ? ['That address is registered already: log in instead.', 409 as const]
    : ['Too many registrations. Try again later.', 429 as const];
  return page(c, html`<p class="error">${why}</p>${await registerForm(c)}`, status);
});

const loginForm = async (c: Context<Env>, next: unknown) => html`<form method="post" action="/login">${await csrf(c)}
  <input type="hidden" name="next" value="${typeof next === 'string' ? next : ''}">
  <input name="login" type="email" placeholder="Email" required> <input name="password" type="password" placeholder="Password" required>
  <label><input type="checkbox" name="remember"> Remember me</label> <button>Log in</button></form><a href="/register">Register</a>`;
app.get('/login', async (c) => page(c, await loginForm(c, c.req.query('next'))));
app.post('/login', async (c) => {
  const form = await c.req.parseBody();
  const auth = c.var.auth;
  const result = await accounts.authenticate({ login: form.login, password: form.password, ip: auth.clientIp });
  if (result.ok && (await auth.login(result.user, { remember: form.remember === 'on' }))) {
    return c.redirect(auth.nextTarget(form.next, '/dashboard'), 303); // `next` that leaves this site becomes /dashboard
  }
  const throttled = !result.ok && result.reason === 'throttled';
  const why = throttled ? 'Too many attempts. Try again later.' : 'Invalid email or password.';
  return page(c, html`<p class="error">${why}</p>${await loginForm(c, form.next)}`, throttled ? 429 : 401);
});

app.get('/', (c) => c.redirect('/dashboard'));
app.get('/dashboard', loginRequired(), async (c) => {
  const user = await c.var.auth.requireUser(); // the user, never null: loginRequired() ran first
  return page(c, html`<h1>Hello, ${user.name}!</h1>
    <form method="post" action="/logout">${await csrf(c)}<button>Log out</button></form>`);
});
app.get('/api/me', loginRequired(), async (c) => {
  const user = await c.var.auth.requireUser(); // anonymous API clients got a JSON 401
  return c.json({ id: user.id, email: user.email, name: user.name });
});
app.post('/logout', async (c) => {
  await c.var.auth.logout();
  c.var.auth.flash('You are logged out.');
  return c.redirect('/login', 303);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port}`),
);
