/**
 * The dashboard: the contract's greeting, then what a user looks for after logging in: who they
 * are logged in as and how (SEC-84: the methods this session proved), where else they are logged
 * in, the account's security status (two-factor on or off, address verified or not, SEC-61) with
 * the way to fix what is missing, and the download. After a login that asked for the download
 * (`/login?next=/download`), the page offers it and starts it: the file is an attachment, so the
 * browser stays on this page, which shows the user logged in, instead of on the login form.
 *
 * @module app/views/dashboard
 */
import { html } from 'hono/html';
import type { SessionInfo, UserRecord } from 'latchkey';
import { describeAuthMethods } from './auth-methods.ts';
import { describeDevice, formatUtc } from './device.ts';
import type { Html, PageContent } from './layout.ts';

/** The file `GET /download` serves, and the path login sends to the dashboard instead. */
export const DOWNLOAD_PATH = '/download';
export const DOWNLOAD_NAME = 'latchkey-welcome.txt';
/** The dashboard that offers and starts the download after a login that asked for it. */
export const DOWNLOAD_LANDING = '/dashboard?download=1';

export interface DashboardView {
  readonly user: UserRecord;
  /** This browser's session, if the list had it. */
  readonly session: SessionInfo | null;
  /** How many other sessions the user has. */
  readonly others: number;
  readonly twoFactor: boolean;
  /** Unused recovery codes, when two-factor is on. */
  readonly codesLeft: number;
  /** The download was asked for at login: start it and offer it. */
  readonly download: boolean;
}

function loginFacts(v: DashboardView): Html {
  const login = v.user.email ?? v.user.username ?? '';
  const s = v.session;
  return html`<dl class="facts">
      <dt>Logged in as</dt><dd><bdi>${login}</bdi>${v.user.email && v.user.username ? html` (<bdi>${v.user.username}</bdi>)` : ''}</dd>
      ${s
        ? html`<dt>This login</dt><dd>with ${describeAuthMethods(s.methods)}, on ${describeDevice(s.userAgent)}, since ${formatUtc(s.createdAt)}${
            s.remembered ? ' (remembered on this device)' : ''
          }</dd>`
        : ''}
      <dt>Other sessions</dt><dd>${v.others === 0 ? 'None: you are logged in only here.' : html`${v.others} (<a href="/account">see where</a>)`}</dd>
    </dl>`;
}

function securityStatus(v: DashboardView): Html {
  const left = v.codesLeft;
  return html`<section class="card" aria-labelledby="security-heading">
      <h2 id="security-heading">Security</h2>
      <ul class="links">
        <li>Two-factor authentication: ${v.twoFactor
          ? html`<strong>on</strong>, ${left === 1 ? '1 recovery code' : `${left} recovery codes`} left.`
          : html`<strong>off</strong>. <a href="/account">Set it up on your account page</a> so that a stolen password is not enough.`}</li>
        ${v.user.email
          ? html`<li>Email address: ${v.user.emailVerified
              ? html`<strong>verified</strong>.`
              : html`<strong>not verified</strong>. Open the link we sent you, or <a href="/account">ask for a new one</a>; a verified address lets you reset a forgotten password.`}</li>`
          : ''}
        <li>Password: <a href="/account">change it on your account page</a>.</li>
      </ul>
    </section>`;
}

export function dashboardPage(v: DashboardView): PageContent {
  return {
    title: 'Dashboard',
    current: 'dashboard',
    // A zero-delay refresh to an attachment downloads it and leaves this page in place (HTML §4.2.5.3);
    // no script, which the CSP forbids. Zero delay: not a timed refresh (WCAG 2.2 SC 2.2.1).
    ...(v.download && { head: html`<meta http-equiv="refresh" content="0; url=${DOWNLOAD_PATH}">` }),
    body: html`<section class="card">
      <h1>Hello, <bdi>${v.user.name}</bdi>! Welcome to your dashboard.</h1>
      ${v.download
        ? html`<p class="notice">Your download of ${DOWNLOAD_NAME} is starting. If it does not, <a href="${DOWNLOAD_PATH}" download>download it here</a>.</p>`
        : ''}
      ${loginFacts(v)}
      <ul class="links">
        <li><a href="${DOWNLOAD_PATH}" download>Download your welcome note</a> (a small text file)</li>
        <li><a href="/account">Your account</a>: devices you are logged in on, password, two-factor authentication</li>
      </ul>
    </section>
    ${securityStatus(v)}`,
  };
}
