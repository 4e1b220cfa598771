/**
 * A user of the reference app for the benches that load GET /protected (`bench/scale.ts`,
 * `bench/sessions.ts`): registered through `POST /register`, logged in afresh many times through
 * `POST /login` (no remember-me), every session checked. Many sessions, because wrk sends each
 * connection's requests with the next one in turn: a store that coalesces concurrent reads
 * (src/lib/read-batch.ts) must still read one row per request, as it would for many users, not one
 * row for the whole batch.
 *
 * @module bench/scale/app-user
 */
import { CookieJar, send } from './http.ts';

export const APP_USER = Object.freeze({ email: 'ratio@example.com', name: 'Ratio', password: 'violet kettle drums under nine moons' });

/**
 * Registers {@link APP_USER} on the app at `base`, logs in `sessions` times for `userAgent`
 * (session protection compares it) and checks /protected with every session: 200 with the
 * cookie, 401 without. Errors name the app `label`.
 */
export async function loginSessions(base: string, label: string, userAgent: string, sessions: number): Promise<{ cookies: string[]; check: string }> {
  const headers = { 'user-agent': userAgent };
  const reg = await send(base, '/register', { method: 'POST', headers, json: APP_USER });
  if (reg.status !== 201) throw new Error(`${label}: POST /register answered ${reg.status} ${reg.body}`);
  const login = async (): Promise<string> => {
    const jar = new CookieJar();
    const answer = await send(base, '/login', { method: 'POST', headers, json: { login: APP_USER.email, password: APP_USER.password } });
    jar.take(answer.setCookies);
    if (answer.status !== 200 || !jar.has('session')) throw new Error(`${label}: POST /login answered ${answer.status} ${answer.body}`);
    return jar.header();
  };
  const cookies: string[] = [];
  while (cookies.length < sessions) cookies.push(...(await Promise.all(Array.from({ length: Math.min(8, sessions - cookies.length) }, login))));
  const checks = await Promise.all(cookies.map((cookie) => checkSession(base, cookie, `Hello, ${APP_USER.name}!`, userAgent)));
  return { cookies, check: checks[0] as string };
}

/** Throws unless GET /protected answers 200 naming the user with `cookie` and 401 without; `200 / 401`. */
export async function checkSession(base: string, cookie: string, expected: string, userAgent: string): Promise<string> {
  const inside = await send(base, '/protected', { headers: { cookie, 'user-agent': userAgent } });
  const outside = await send(base, '/protected', { headers: { 'user-agent': userAgent } });
  if (inside.status !== 200 || !inside.body.includes(expected) || outside.status !== 401) {
    throw new Error(`GET ${base}/protected answered ${inside.status} ${inside.body.slice(0, 100)} with the cookie and ${outside.status} without`);
  }
  return `200 / ${outside.status}`;
}
