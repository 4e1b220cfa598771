/**
 * The simple pages: home (anonymous and logged in), the dashboard, and the error page that 400,
 * 403, 404, 405, 413, 415, 429, 500 and 503 share in HTML.
 *
 * @module app/views/pages
 */
import { html } from 'hono/html';
import type { UserRecord } from 'latchkey';
import { logoutButton, type Html, type PageContent } from './layout.ts';

export function homePage(user: UserRecord | null, csrf: string): PageContent {
  if (user === null) {
    return {
      title: 'Welcome',
      body: html`<section class="card hero">
        <h1>Welcome to Latchkey</h1>
        <p>A small site that shows logins done properly: sessions stored hashed on the server, remember-me that can be revoked, and a list of every device you are logged in on.</p>
        <div class="actions"><a class="button primary" href="/login">Log in</a> <a class="button" href="/register">Register</a></div>
      </section>`,
    };
  }
  return {
    title: 'Home',
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

export function dashboardPage(user: UserRecord): PageContent {
  return {
    title: 'Dashboard',
    body: html`<section class="card">
      <h1>Hello, <bdi>${user.name}</bdi>! Welcome to your dashboard.</h1>
      <p>This page is only for logged-in users.</p>
      <ul class="links">
        <li><a href="/download" download>Download your welcome note</a> (a small text file)</li>
        <li><a href="/account">Your account</a>: devices you are logged in on, password</li>
      </ul>
    </section>`,
  };
}

/** The body of every HTML error page: the message, each field's reason, a way back. */
export function errorPage(status: number, message: string, errors?: Readonly<Record<string, string>>): Html {
  return html`<section class="card narrow error-page">
    <p class="status">Error ${status}</p>
    <h1>${message}</h1>
    ${errors ? html`<ul class="form-errors">${Object.entries(errors).map(([name, reason]) => html`<li><code>${name}</code>: ${reason}</li>`)}</ul>` : ''}
    <p><a href="/">Back to the home page</a></p>
  </section>`;
}
