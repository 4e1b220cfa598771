/**
 * The pages of the mailed links (the app's HTTP contract, "Account recovery, verification, email change"):
 * asking for a reset link, choosing the new password, the one-button pages that a verification or
 * email-change link opens (mail scanners follow GET links, so nothing happens until the button
 * POSTs the token: SEC-42), and the page of a link that is no good, with a way to ask again. Every
 * form carries `_csrf` (SEC-43); none loads anything from another origin (SEC-59).
 *
 * @module app/views/recovery
 */
import { html } from 'hono/html';
import { field, otherErrors, type Errors } from './forms.ts';
import { csrfField, type PageContent } from './layout.ts';

/** Longest address we take: RFC 5321 §4.5.3.1.3's path limit. */
const EMAIL_MAX = 254;

export function forgotPasswordPage(f: { csrf: string; email?: string | undefined; errors?: Errors }): PageContent {
  return {
    title: 'Forgot your password?',
    body: html`<section class="card narrow">
      <h1>Forgot your password?</h1>
      <p>Enter the address you registered with. If it belongs to an account, we send it a link to choose a new password; the link works once, for an hour.</p>
      <form method="post" action="/forgot-password">
        ${csrfField(f.csrf)}
        ${field({ name: 'email', label: 'Email', type: 'email', value: f.email, autocomplete: 'email', errors: f.errors, required: true, maxlength: EMAIL_MAX, autofocus: true })}
        ${otherErrors(f.errors, ['email'])}
        <button type="submit" class="button primary">Send me a link</button>
      </form>
      <p class="aside">Remembered it? <a href="/login">Log in</a>.</p>
    </section>`,
  };
}

export function resetPasswordPage(f: { csrf: string; minLength: number; errors?: Errors }): PageContent {
  return {
    title: 'Choose a new password',
    body: html`<section class="card narrow">
      <h1>Choose a new password</h1>
      <form method="post" action="/reset-password">
        ${csrfField(f.csrf)}
        ${field({
          name: 'password',
          label: 'New password',
          type: 'password',
          autocomplete: 'new-password',
          errors: f.errors,
          required: true,
          minlength: f.minLength,
          autofocus: true,
          hint: `At least ${f.minLength} characters. Every device logged in to your account will be logged out.`,
        })}
        ${otherErrors(f.errors, ['password'])}
        <button type="submit" class="button primary">Set the new password</button>
      </form>
    </section>`,
  };
}

/** What a one-button link page does. */
export interface TokenAction {
  readonly title: string;
  readonly explanation: string;
  /** Where the button posts the token. */
  readonly action: '/verify-email' | '/confirm-email';
  readonly button: string;
}

export const VERIFY_ACTION: TokenAction = {
  title: 'Verify your email address',
  explanation: 'Press the button to confirm that this address is yours.',
  action: '/verify-email',
  button: 'Verify my address',
};

export const CONFIRM_EMAIL_ACTION: TokenAction = {
  title: 'Confirm your new email address',
  explanation: 'Press the button to make this address the one of your account. Until then, your account keeps its old address.',
  action: '/confirm-email',
  button: 'Confirm the new address',
};

/** The page a verification or email-change link opens: one button that POSTs the token. */
export function tokenButtonPage(a: TokenAction, token: string, csrf: string): PageContent {
  return {
    title: a.title,
    body: html`<section class="card narrow">
      <h1>${a.title}</h1>
      <p>${a.explanation}</p>
      <form method="post" action="${a.action}">
        ${csrfField(csrf)}
        <input type="hidden" name="token" value="${token}">
        <button type="submit" class="button primary">${a.button}</button>
      </form>
    </section>`,
  };
}

/** The 400 page of a link that is invalid, used or expired, with the way to ask for a new one. */
export function invalidLinkPage(message: string, again: { href: string; label: string }): PageContent {
  return {
    title: 'Link invalid or expired',
    body: html`<section class="card narrow error-page">
      <p class="status">Error 400</p>
      <h1>${message}</h1>
      <p class="reason">Links in our mails work once, for a limited time.</p>
      <div class="actions"><a class="button primary" href="${again.href}">${again.label}</a> <a class="button" href="/">Home page</a></div>
    </section>`,
  };
}
