/**
 * How the app answers, in the client's representation (the app's HTTP contract, "Representations": JSON
 * to API clients, HTML to browsers): JSON answers, redirects, error answers in the shape
 * `{"message": …, "errors": {field: reason}}`, and the page renderer that gives every HTML page
 * the same nav, CSRF token and flash messages. Above the views, which it renders; below the body
 * reader, the guards and the routes, which answer through it.
 *
 * @module app/answers
 */
import { wantsJson } from 'latchkey';
import type { AppContext, FieldErrors } from './types.ts';
import { errorPage } from './views/pages.ts';
import { layout, type PageContent, type Visitor } from './views/layout.ts';

/** An empty {@link FieldErrors}. */
export function fieldErrors(): FieldErrors {
  return Object.create(null) as FieldErrors;
}

/** The 429 of a throttled attempt: the same whichever limit was hit (SEC-17). */
export function throttledMessage(seconds: number): string {
  return `Too many failed attempts. Please wait ${seconds} second${seconds === 1 ? '' : 's'} and try again.`;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** True when the client wants JSON (the app's HTTP contract, "Representations"). */
export function isJson(c: AppContext): boolean {
  // The auth context's request reads Node's own header object on @hono/node-server: cheaper.
  return wantsJson(c.get('auth')?.request ?? c.req.raw);
}

/** A JSON answer, `Content-Type` with its charset (SEC-64). */
export function json(c: AppContext, status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': JSON_TYPE, ...headers } });
}

/** A redirect after a POST (303, RFC 9110 §15.4.4) or after a GET (302). */
export function redirect(c: AppContext, location: string): Response {
  const status = c.req.method === 'GET' || c.req.method === 'HEAD' ? 302 : 303;
  return new Response(null, { status, headers: { location } });
}

/**
 * An error answer in the client's representation: JSON `{message, errors?}`, or an HTML page
 * with the message and each field's reason.
 */
export async function problem(
  c: AppContext,
  status: number,
  message: string,
  options: { errors?: FieldErrors; headers?: Record<string, string> } = {},
): Promise<Response> {
  const errors = options.errors && Object.keys(options.errors).length > 0 ? options.errors : undefined;
  if (isJson(c)) return json(c, status, errors ? { message, errors } : { message }, options.headers);
  return page(c, { title: TITLES[status] ?? 'Something went wrong', body: errorPage(status, message, errors) }, status, options.headers);
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Not logged in',
  403: 'Forbidden',
  404: 'Page not found',
  405: 'Method not allowed',
  409: 'Already registered',
  413: 'Too large',
  415: 'Unsupported form',
  429: 'Too many attempts',
  500: 'Something went wrong',
  503: 'Temporarily unavailable',
};

/** The visitor of this request; consumes the flash messages (they are shown once, SEC-50). */
async function visitor(c: AppContext): Promise<Visitor> {
  const auth = c.get('auth');
  const user = await auth.user();
  return { user, csrf: await auth.csrfToken(), flashes: auth.getFlashedMessages() };
}

/** An HTML page inside the layout; `content` may be built from the visitor (forms need its CSRF token). */
export async function page(
  c: AppContext,
  content: PageContent | ((visitor: Visitor) => PageContent),
  status = 200,
  headers: Record<string, string> = {},
): Promise<Response> {
  const v = await visitor(c);
  const markup = layout(typeof content === 'function' ? content(v) : content, v);
  return c.html(markup, status as 200, headers);
}
