/**
 * The page frame: document head (viewport for phones, the one stylesheet), a nav that shows who
 * is logged in (name and a logout button) or links to log in and register, the flash messages
 * (escaped like everything else, one class per category: SEC-50), then the page's own content.
 * Every value goes through `html```, which escapes it; user names sit in `<bdi>` so that
 * right-to-left marks in a name cannot reorder the text around it.
 *
 * @module app/views/layout
 */
import { html } from 'hono/html';
import type { FlashMessage, UserRecord } from 'latchkey';
import { SCRIPT_URLS, STYLESHEET_URL } from '../static.ts';

/** Markup made by `html```: already escaped. */
export type Html = ReturnType<typeof html>;

/** The nav entries a page can be: its link is marked `aria-current="page"`. */
export type NavItem = 'home' | 'login' | 'register' | 'dashboard' | 'account';

/** What a page puts in the frame. */
export interface PageContent {
  readonly title: string;
  readonly body: Html;
  /** Which nav entry this page is, if any. */
  readonly current?: NavItem;
  /** Whether the page has passkey buttons: it loads their scripts (files of this origin, never inline, SEC-64). */
  readonly scripts?: boolean;
  /** Extra `<head>` markup (the download page's `<meta http-equiv="refresh">`). */
  readonly head?: Html;
}

/** What a page needs about the visitor: the nav, the forms' CSRF token, the flashes. */
export interface Visitor {
  readonly user: UserRecord | null;
  readonly csrf: string;
  readonly flashes: readonly FlashMessage[];
}

/** Flash categories the stylesheet knows; anything else shows as a plain message. */
const CATEGORIES = new Set(['message', 'success', 'error', 'info', 'warning']);

/** The hidden CSRF field every form carries (SEC-43). */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** The logout button: a POST form, since logout changes state (SEC-31, SEC-42). */
export function logoutButton(token: string, label = 'Log out', style: 'link-button' | 'button' = 'link-button'): Html {
  return html`<form class="inline" method="post" action="/logout">${csrfField(token)}<button type="submit" class="${style}">${label}</button></form>`;
}

/** `aria-current="page"` on the link of the page being shown (WAI-ARIA 1.2 §6.8). */
function here(item: NavItem, current: NavItem | undefined): Html {
  return item === current ? html` aria-current="page"` : html``;
}

/**
 * Both states keep one row of the same height (the stylesheet gives every item the Register
 * button's height), so the page does not move at login or logout.
 */
function nav(user: UserRecord | null, token: string, current: NavItem | undefined): Html {
  if (user === null) {
    return html`<ul class="nav-links">
        <li><a class="nav-link" href="/login"${here('login', current)}>Log in</a></li>
        <li><a class="button small" href="/register"${here('register', current)}>Register</a></li>
      </ul>`;
  }
  return html`<ul class="nav-links">
        <li class="who">Signed in as <strong><bdi>${user.name}</bdi></strong></li>
        <li><a class="nav-link" href="/dashboard"${here('dashboard', current)}>Dashboard</a></li>
        <li><a class="nav-link" href="/account"${here('account', current)}>Account</a></li>
        <li>${logoutButton(token)}</li>
      </ul>`;
}

/**
 * The flashes: paragraphs in a plain container (a `role` on an `li` breaks the list, axe `list`).
 * A live region present at load is not reliably announced, so the title says them too
 * ({@link pageTitle}); the roles still help when a screen reader reads the page from the top.
 */
function flashes(list: readonly FlashMessage[]): Html {
  if (list.length === 0) return html``;
  return html`<div class="flashes">
      ${list.map((f) => {
        const category = CATEGORIES.has(f.category) ? f.category : 'message';
        return html`<p class="flash flash-${category}" role="${category === 'error' ? 'alert' : 'status'}">${f.message}</p>`;
      })}
    </div>`;
}

/**
 * The document title, prefixed with the flashes ("Error: Invalid username or password. · Log in"):
 * screen readers read the title when a page loads, which makes it the one announcement that needs
 * no script (WCAG 2.2 SC 4.1.3, technique G194-like; the CSP allows no inline script).
 */
function pageTitle(title: string, list: readonly FlashMessage[]): string {
  const said = list.map((f) => (f.category === 'error' ? `Error: ${f.message}` : f.message));
  return [...said, title, 'Latchkey'].join(' · ');
}

/** A whole HTML document. */
export function layout(content: PageContent, visitor: Visitor): Html {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${pageTitle(content.title, visitor.flashes)}</title>
  <link rel="stylesheet" href="${STYLESHEET_URL}">${content.head ?? ''}
  <link rel="icon" type="image/svg+xml" href="/favicon.ico">
  ${content.scripts ? SCRIPT_URLS.map((url) => html`<script src="${url}" defer></script>`) : ''}
</head>
<body>
  <header class="site-header">
    <nav class="site-nav" aria-label="Main">
      <a class="brand" href="/"${here('home', content.current)}>Latchkey</a>
      ${nav(visitor.user, visitor.csrf, content.current)}
    </nav>
  </header>
  <main class="content">
    ${flashes(visitor.flashes)}
    ${content.body}
  </main>
  <footer class="site-footer">Your devices and sessions are listed on your account page, where you can log any of them out. Inactive sessions end on their own.</footer>
</body>
</html>
`;
}
