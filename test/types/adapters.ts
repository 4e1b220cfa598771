/**
 * A type fixture, compiled by `npm run typecheck` (test/types/tsconfig.json, its own program, so
 * that its module augmentations do not reach the other tests) and never run. It must compile,
 * and each `@ts-expect-error` line must be an error, so that what must not type-check does not.
 *
 * What it pins (the newcomer's first hour): the user type is named once per app, never at each
 * call (Hono: the app's `Env`; Express and Fastify: `LatchkeyTypes`), and behind `loginRequired()`
 * `auth.requireUser()` gives the user without `!`; the explicit `getAuth<U>(req)` still works.
 *
 * @module test/types/adapters
 */
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createLoginManager } from 'latchkey';
import * as lkExpress from 'latchkey/express';
import * as lkFastify from 'latchkey/fastify';
import * as lkHono from 'latchkey/hono';
import { MemoryStore } from 'latchkey/testing';

interface User {
  id: string;
  name: string;
}

declare module 'latchkey/express' {
  interface LatchkeyTypes {
    user: User;
  }
}
declare module 'latchkey/fastify' {
  interface LatchkeyTypes {
    user: User;
  }
}

const manager = createLoginManager<User>({ store: new MemoryStore(), secret: 'x'.repeat(32), loadUser: () => null });

// Hono: the user type is the app's Env, named once.
const hono = new Hono<lkHono.LatchkeyEnv<User>>();
hono.use(lkHono.latchkey(manager), lkHono.csrfProtection());
hono.get('/dashboard', lkHono.loginRequired(), async (c) => {
  const user: User = await c.var.auth.requireUser();
  // @ts-expect-error user() is `User | null`: without the guard it may be nobody
  const maybe: User = await c.var.auth.user();
  return c.text(`${user.name} ${maybe.name}`);
});

// Express: no type argument at the calls, the user is the one of LatchkeyTypes.
const app = express();
app.use(lkExpress.latchkey(manager), lkExpress.csrfProtection());
app.get('/dashboard', lkExpress.loginRequired(), async (req, res) => {
  const auth = lkExpress.getAuth(req);
  const user: User = await auth.requireUser();
  // @ts-expect-error user() is `User | null`
  const maybe: User = await auth.user();
  // @ts-expect-error login() takes the declared user type, not any object
  await auth.login({ id: 1 });
  res.send(`${user.name} ${maybe.name}`);
});
// The explicit type argument of before still works, and wins.
export const explicit: (req: express.Request) => Promise<{ n: number } | null> = (req) => lkExpress.getAuth<{ n: number }>(req).user();

// Fastify: request.auth is typed by LatchkeyTypes.
const fastify = Fastify();
await fastify.register(lkFastify.latchkey, { manager });
fastify.addHook('preValidation', lkFastify.csrfProtection());
fastify.get('/dashboard', { preHandler: lkFastify.loginRequired() }, async (request) => {
  const user: User = await request.auth.requireUser();
  // @ts-expect-error user() is `User | null`
  const maybe: User = await request.auth.user();
  const same: User = await lkFastify.getAuth(request).requireUser();
  return `${user.name} ${maybe.name} ${same.name}`;
});
