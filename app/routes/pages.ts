/**
 * The pages of the app's HTTP contract that only read: home, dashboard, the download and the JSON-only
 * `/protected` (with the stylesheet and the icon). Anonymous visitors of the dashboard and the
 * download get latchkey's `loginRequired()`: a redirect to `/login?next=…` with the flash "Please
 * log in to access this page.", or JSON 401 for API clients.
 *
 * @module app/routes/pages
 */
import { loginRequired } from 'latchkey/hono';
import { isJson, json, page } from '../answers.ts';
import type { AppContext, Deps, Route } from '../types.ts';
import { favicon, passkeysScript, stylesheet, webauthnScript } from '../static.ts';
import { dashboardPage } from '../views/dashboard.ts';
import { homePage } from '../views/pages.ts';

/** The user of a route behind `loginRequired()`. */
async function user(c: AppContext) {
  return (await c.get('auth').user())!;
}

export function pageRoutes(deps: Deps): Route[] {
  const loginMessage = deps.manager.options.loginMessage ?? 'Please log in to access this page.';

  async function home(c: AppContext): Promise<Response> {
    const current = await c.get('auth').user();
    if (isJson(c)) {
      return current
        ? json(c, 200, { message: 'You are already logged in', user: { id: Number(current.id), name: current.name } })
        : json(c, 200, { message: 'Welcome! Log in or register.', links: { login: '/login', register: '/register' } });
    }
    return page(c, (v) => homePage(v.user, v.csrf));
  }

  async function dashboard(c: AppContext): Promise<Response> {
    const current = await user(c);
    if (isJson(c)) return json(c, 200, { message: `Hello, ${current.name}! Welcome to your dashboard.` });
    const sessions = await c.get('auth').listSessions();
    const twoFactor = await deps.accounts.hasSecondFactor(current.id);
    return page(
      c,
      dashboardPage({
        user: current,
        session: sessions.find((s) => s.current) ?? null,
        others: sessions.filter((s) => !s.current).length,
        twoFactor,
        codesLeft: twoFactor ? await deps.accounts.countRecoveryCodes(current.id) : 0,
        download: c.req.query('download') === '1',
      }),
    );
  }

  async function download(c: AppContext): Promise<Response> {
    const current = await user(c);
    const note = `Hello, ${current.name}!\n\nThis file was downloaded from your Latchkey dashboard on ${new Date().toISOString()}.\nOnly a logged-in user can fetch it.\n`;
    return new Response(note, {
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        // A fixed ASCII name: nothing from the user goes into a header (RFC 6266).
        'content-disposition': 'attachment; filename="latchkey-welcome.txt"',
      },
    });
  }

  /** Always JSON, whoever asks: it is the API route of the contract. */
  async function protectedRoute(c: AppContext): Promise<Response> {
    const current = await c.get('auth').user();
    if (!current) return json(c, 401, { message: loginMessage });
    return json(c, 200, { message: `Hello, ${current.name}! This is a protected route.` });
  }

  return [
    { path: '/', GET: [home] },
    { path: '/dashboard', GET: [loginRequired(), dashboard] },
    { path: '/download', GET: [loginRequired(), download] },
    { path: '/protected', GET: [protectedRoute] },
    { path: '/static/style.css', GET: [stylesheet] },
    { path: '/static/webauthn.js', GET: [webauthnScript] },
    { path: '/static/passkeys.js', GET: [passkeysScript] },
    { path: '/favicon.ico', GET: [favicon] },
  ];
}
