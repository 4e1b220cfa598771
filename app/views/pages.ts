/**
 * The simple pages: home (anonymous and logged in) and the error page that 400,
 * 403, 404, 405, 413, 415, 429, 500 and 503 share in HTML: a short heading, the message itself
 * (verbatim, as the JSON answer has it) as a paragraph below it, and a way on: back to the page
 * the request came from when that is known, else home.
 *
 * @module app/views/pages
 */
import { html } from 'hono/html';
import type { UserRecord } from 'latchkey';
import { logoutButton, type Html, type PageContent } from './layout.ts';
import type { Errors } from './forms.ts';

export function homePage(user: UserRecord | null, csrf: string): PageContent {
  if (user === null) {
    return {
      title: 'Welcome',
      current: 'home',
      body: html`<section class="card hero">
        <h1>Welcome to Latchkey</h1>
        <p>A small site that shows logins done properly: sessions stored hashed on the server, remember-me that can be revoked, and a list of every device you are logged in on.</p>
        <div class="actions"><a class="button primary" href="/login">Log in</a> <a class="button" href="/register">Register</a></div>
      </section>`,
    };
  }
  return {
    title: 'Home',
    current: 'home',
    body: html`<section class="card hero">
      <h1>You are already logged in</h1>
      <p>Welcome back, <strong><bdi>${user.name}</bdi></strong>.</p>
      <div class="actions">
        <a class="button primary" href="/dashboard">Dashboard</a>
        <a class="button" href="/account">Account</a>
        ${logoutButton(csrf, 'Log out', 'button')}
      </div>
    </section>`,
  };
}

/** Headings of the error pages, by status, for messages too long to be one. */
const HEADINGS: Readonly<Record<number, string>> = {
  400: 'Invalid request',
  401: 'Not logged in',
  403: 'Not allowed',
  404: 'Page not found',
  405: 'Method not allowed',
  409: 'Already registered',
  413: 'The request body is too large',
  415: 'Unsupported form',
  429: 'Too many attempts',
  500: 'Something went wrong',
  503: 'Service unavailable',
};

/** What to say after a message that is its own heading. */
const HINTS: Readonly<Record<number, string>> = {
  404: 'The address may be mistyped, or the page no longer exists.',
};

/** Messages this long or longer, or of more than one sentence, get a heading of their own. */
const HEADING_MAX = 48;

/**
 * The heading of an error page and the paragraph under it. A short message ("Page not found.")
 * is the heading itself; a longer one becomes the paragraph, under a heading named after the
 * status, or after the CSRF refusal (an expired form and a cross-site post are both a 403).
 */
export function errorHeading(status: number, message: string): { heading: string; reason: string | null } {
  if (message.length < HEADING_MAX && !/[.!?]\s/.test(message)) return { heading: message, reason: HINTS[status] ?? null };
  let heading = HEADINGS[status] ?? (status >= 500 ? 'Something went wrong' : 'Something is wrong');
  if (status === 403 && /expired|CSRF/i.test(message)) heading = 'This form has expired';
  else if (status === 403 && /^cross-site|another website/i.test(message)) heading = 'Request refused';
  else if (status === 405 && /cannot be opened as a page/.test(message)) heading = 'This address is not a page';
  return { heading, reason: message };
}

export interface ErrorPageOptions {
  /**
   * A same-origin path to go back to (the page the refused form was on), already made safe by
   * the caller; without it the page links home.
   */
  readonly back?: string | null | undefined;
  /** More ways on, after the main one (the 405 page's form page, dashboard or login). */
  readonly links?: readonly { readonly href: string; readonly label: string }[];
}

/** The body of every HTML error page: heading, message, each field's reason, a way on. */
export function errorPage(status: number, message: string, errors?: Errors, options: ErrorPageOptions = {}): Html {
  const { heading, reason } = errorHeading(status, message);
  const back = options.back && options.back !== '/' ? options.back : null;
  return html`<section class="card narrow error-page">
    <p class="status">Error ${status}</p>
    <h1>${heading}</h1>
    ${reason ? html`<p class="reason">${reason}</p>` : ''}
    ${errors ? html`<ul class="form-errors">${Object.entries(errors).map(([name, why]) => html`<li><code>${name}</code>: ${why}</li>`)}</ul>` : ''}
    <div class="actions">
      ${back
        ? html`<a class="button primary" href="${back}">Go back and try again</a> <a class="button" href="/">Home page</a>`
        : html`<a class="button primary" href="/">Back to the home page</a>`}
      ${(options.links ?? []).map((l) => html` <a class="button" href="${l.href}">${l.label}</a>`)}
    </div>
  </section>`;
}

/** A whole error page, its title the same as its heading. */
export function errorContent(status: number, message: string, errors?: Errors, options: ErrorPageOptions = {}): PageContent {
  return { title: errorHeading(status, message).heading.replace(/\.$/, ''), body: errorPage(status, message, errors, options) };
}
