/**
 * latchkey on Express 5: register, log in with "remember me", a dashboard, a JSON route, log out.
 * Accounts, sessions and login throttling in one SQLite file. `PORT=3000 node app.ts`.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express, { type Request } from 'express';
import { createAccounts, createLoginManager, createLoginThrottle, type UserRecord } from 'latchkey';
import { csrfProtection, errorHandler, getAuth, latchkey, loginRequired } from 'latchkey/express';
import { SqliteStore, SqliteUserStore } from 'latchkey/sqlite';

declare module 'latchkey/express' {
  interface LatchkeyTypes { user: UserRecord } // getAuth(req) is typed for UserRecord, with no type argument
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

const app = express();
// The form parser comes before csrfProtection(): it reads the `_csrf` field.
app.use(express.urlencoded({ extended: false, limit: '16kb' }), latchkey(manager), csrfProtection());

const esc = (value: unknown) => String(value ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
function page(req: Request, body: string): string {
  const flashes = getAuth(req).getFlashedMessages().map((f) => `<p class="${esc(f.category)}">${esc(f.message)}</p>`);
  return `<!doctype html><title>latchkey on Express</title>${flashes.join('')}${body}`;
}
const csrf = async (req: Request) => `<input type="hidden" name="_csrf" value="${await getAuth(req).csrfToken()}">`;

const registerForm = async (req: Request) => `<form method="post" action="/register">${await csrf(req)}
  <input name="email" type="email" placeholder="Email" required> <input name="name" placeholder="Name" required>
  <input name="password" type="password" placeholder="Password (15 characters or more)" required>
  <button>Register</button></form><a href="/login">Log in</a>`;
app.get('/register', async (req, res) => void res.send(page(req, await registerForm(req))));
app.post('/register', async (req, res) => {
  const auth = getAuth(req);
  const result = await accounts.register({ email: req.body.email, name: req.body.name, password: req.body.password, ip: auth.clientIp });
  if (result.ok && 'user' in result && (await auth.login(result.user))) return res.redirect(303, '/dashboard');
  if (result.ok) return res.redirect(303, '/login');
  const [why, status] =
    result.reason === 'invalid' ? [Object.values(result.errors).join(' '), 400]
    : result.reason === 'exists' ? ['That address is registered already: log in instead.', 409]
    : ['Too many registrations. Try again later.', 429];
  res.status(status).send(page(req, `<p class="error">${esc(why)}</p>${await registerForm(req)}`));
});

const loginForm = async (req: Request, next: unknown) => `<form method="post" action="/login">${await csrf(req)}
  <input type="hidden" name="next" value="${typeof next === 'string' ? esc(next) : ''}">
  <input name="login" type="email" placeholder="Email" required> <input name="password" type="password" placeholder="Password" required>
  <label><input type="checkbox" name="remember"> Remember me</label> <button>Log in</button></form><a href="/register">Register</a>`;
app.get('/login', async (req, res) => void res.send(page(req, await loginForm(req, req.query.next))));
app.post('/login', async (req, res) => {
  const auth = getAuth(req);
  const result = await accounts.authenticate({ login: req.body.login, password: req.body.password, ip: auth.clientIp });
  if (result.ok && (await auth.login(result.user, { remember: req.body.remember === 'on' }))) {
    return res.redirect(303, auth.nextTarget(req.body.next, '/dashboard')); // `next` that leaves this site becomes /dashboard
  }
  const throttled = !result.ok && result.reason === 'throttled';
  const why = throttled ? 'Too many attempts. Try again later.' : 'Invalid email or password.';
  res.status(throttled ? 429 : 401).send(page(req, `<p class="error">${why}</p>${await loginForm(req, req.body.next)}`));
});

app.get('/', (_req, res) => res.redirect('/dashboard'));
app.get('/dashboard', loginRequired(), async (req, res) => {
  const user = await getAuth(req).requireUser(); // the user, never null: loginRequired() ran first
  res.send(page(req, `<h1>Hello, ${esc(user.name)}!</h1>
    <form method="post" action="/logout">${await csrf(req)}<button>Log out</button></form>`));
});
app.get('/api/me', loginRequired(), async (req, res) => {
  const user = await getAuth(req).requireUser(); // anonymous API clients got a JSON 401
  res.json({ id: user.id, email: user.email, name: user.name });
});
app.post('/logout', async (req, res) => {
  await getAuth(req).logout();
  getAuth(req).flash('You are logged out.');
  res.redirect(303, '/login');
});
app.use(errorHandler()); // last: a store that is down answers 503, never "logged out"

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () =>
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`),
);
