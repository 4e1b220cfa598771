/**
 * The account page: every session of the user (device in plain words, where from, last seen in
 * UTC, this one marked) with a button to end each other one, "log out other sessions", and the
 * password change form (SEC-10, SEC-32), whether the address is verified (with a button for a
 * new link, SEC-61) and the form to change it (SEC-63). When the login is not fresh, it says that
 * these actions will ask for the password first (SEC-35), rather than letting the user find out
 * after typing.
 *
 * @module app/views/account
 */
import { html } from 'hono/html';
import type { PasskeyCredential, SessionInfo, UserRecord } from 'latchkey';
import { describeAuthMethods } from './auth-methods.ts';
import { describeDevice, formatUtc } from './device.ts';
import { idleNote, isIdle } from './session-status.ts';
import { accountLoginField, field, otherErrors, type Errors } from './forms.ts';
import { csrfField, type Html, type PageContent } from './layout.ts';
import { passkeySection } from './passkeys.ts';

export interface AccountView {
  readonly user: UserRecord;
  readonly sessions: readonly SessionInfo[];
  /** The clock, to tell idle sessions (views/session-status.ts). */
  readonly now: number;
  readonly csrf: string;
  readonly fresh: boolean;
  readonly minLength: number;
  /** `UserRecord.emailVerified`. */
  readonly emailVerified: boolean;
  /** Whether TOTP is on, and the unused recovery codes left (SEC-81: the count is shown). */
  readonly totp: { readonly enabled: boolean; readonly codesLeft: number };
  /** The user's passkeys; null while passkeys are off (no section). */
  readonly passkeys: readonly PasskeyCredential[] | null;
  readonly errors?: Errors;
  /** The action to finish after re-authenticating (views/confirm.ts), shown first. */
  readonly confirm?: Html;
  /** The field to focus: the form the user was sent back to. */
  readonly focus?: 'current_password' | 'email';
}

/** The address, whether it is verified, and the button that sends a new link when it is not. */
function emailFact(v: AccountView): Html {
  if (!v.user.email) return html``;
  return html`<dt>Email</dt><dd><bdi>${v.user.email}</bdi> ${v.emailVerified
    ? html`<span class="badge">Verified</span>`
    : html`<span class="badge muted">Not verified</span>
        <form class="inline" method="post" action="/verify-email/resend">${csrfField(v.csrf)}<button type="submit" class="link-button">Send a new verification link</button></form>`}</dd>`;
}

/** A POST button of the two-factor section. */
function factorButton(action: string, label: string, csrf: string, style = 'button'): Html {
  return html`<form class="inline" method="post" action="${action}">${csrfField(csrf)}<button type="submit" class="${style}">${label}</button></form>`;
}

/** Two-factor authentication: on (recovery codes left, new codes, turn off) or off (set up). */
function twoFactorSection(v: AccountView): Html {
  if (!v.totp.enabled) {
    return html`<section class="card">
      <h2>Authenticator app</h2>
      <p>Off. With an authenticator app, logging in also asks for a code from your phone.</p>
      ${factorButton('/account/totp/setup', 'Set up an authenticator app', v.csrf, 'button primary')}
    </section>`;
  }
  const left = v.totp.codesLeft;
  return html`<section class="card">
      <h2>Authenticator app</h2>
      <p><span class="badge">On</span> ${left === 1 ? '1 recovery code' : `${left} recovery codes`} left.</p>
      ${factorButton('/account/recovery-codes', 'New recovery codes', v.csrf)}
      ${factorButton('/account/totp/disable', 'Turn off two-factor authentication', v.csrf, 'button danger')}
    </section>`;
}

function sessionItem(s: SessionInfo, csrf: string, now: number): Html {
  const seen = new Date(s.lastSeenAt).toISOString();
  const idle = isIdle(s, now);
  return html`<li class="session${s.current ? ' current' : ''}">
      <div class="session-main">
        <span class="device">${describeDevice(s.userAgent)}</span>
        ${s.current ? html`<span class="badge">This session</span>` : ''}
        ${s.remembered ? html`<span class="badge muted">Remembered</span>` : ''}
        ${idle ? html`<span class="badge muted">Idle</span>` : ''}
      </div>
      <div class="session-meta">
        <span>Last seen <time datetime="${seen}">${formatUtc(s.lastSeenAt)}</time></span>${s.ipAddress ? html` · <span>from ${s.ipAddress}</span>` : ''}
        · <span>logged in ${formatUtc(s.createdAt)}</span>
        · <span class="methods">with ${describeAuthMethods(s.methods)}</span>
      </div>
      ${idle ? html`<div class="session-meta idle">${idleNote(s, now)}</div>` : ''}
      ${s.current
        ? ''
        : html`<form class="inline" method="post" action="/account/sessions/${s.id}/revoke">
            ${csrfField(csrf)}<button type="submit" class="button small danger">Log out this session</button>
          </form>`}
    </li>`;
}

export function accountPage(v: AccountView): PageContent {
  const others = v.sessions.filter((s) => !s.current).length;
  // This session first, then the others in the order the store gives them.
  const sessions = [...v.sessions].sort((a, b) => Number(b.current) - Number(a.current));
  return {
    title: 'Your account',
    current: 'account',
    scripts: v.passkeys !== null,
    body: html`${v.confirm ?? ''}<section class="card">
      <h1>Your account</h1>
      <dl class="facts">
        <dt>Name</dt><dd><bdi>${v.user.name}</bdi></dd>
        ${emailFact(v)}
        ${v.user.username ? html`<dt>Username</dt><dd><bdi>${v.user.username}</bdi></dd>` : ''}
      </dl>
      ${v.fresh
        ? ''
        : html`<p class="notice">To change your password or address, end sessions or change two-factor authentication, you will be asked for your password first. <a href="/reauth?next=%2Faccount">Confirm it now</a>.</p>`}
    </section>
    ${twoFactorSection(v)}
    ${v.passkeys === null ? '' : passkeySection({ passkeys: v.passkeys, csrf: v.csrf })}
    <section class="card">
      <h2>Where you are logged in</h2>
      <ul class="sessions">${sessions.map((s) => sessionItem(s, v.csrf, v.now))}</ul>
      ${sessions.some((s) => isIdle(s, v.now))
        ? html`<p class="aside">An idle session is often what a browser leaves behind when it is closed or clears its cookies: it ends on its own, or you can log it out now.</p>`
        : ''}
      ${others > 0
        ? html`<form method="post" action="/account/sessions/revoke-others">
            ${csrfField(v.csrf)}<button type="submit" class="button danger">Log out other sessions (${others})</button>
          </form>`
        : html`<p class="aside">You are not logged in anywhere else.</p>`}
    </section>
    <section class="card">
      <h2>Change password</h2>
      <form method="post" action="/account/password">
        ${csrfField(v.csrf)}
        ${accountLoginField(v.user.email ?? v.user.username ?? '')}
        ${field({ name: 'current_password', label: 'Current password', type: 'password', autocomplete: 'current-password', errors: v.errors, required: true, autofocus: v.focus === 'current_password' })}
        ${field({
          name: 'new_password',
          label: 'New password',
          type: 'password',
          autocomplete: 'new-password',
          errors: v.errors,
          required: true,
          minlength: v.minLength,
          hint: `At least ${v.minLength} characters. Your other sessions will be logged out.`,
        })}
        ${otherErrors(v.errors, ['current_password', 'new_password'])}
        <button type="submit" class="button primary">Change password</button>
      </form>
    </section>
    <section class="card">
      <h2>Change email address</h2>
      <form method="post" action="/account/email">
        ${csrfField(v.csrf)}
        ${field({ name: 'email', label: 'New email address', type: 'email', autocomplete: 'email', errors: v.errors, required: true, maxlength: 254, autofocus: v.focus === 'email', hint: 'We send a link to the new address; your address changes when you open it. Your current address is told of the change.' })}
        <button type="submit" class="button">Send a confirmation link</button>
      </form>
    </section>`,
  };
}
