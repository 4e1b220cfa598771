/**
 * The login, registration and re-authentication pages. Each form posts to its own URL with the
 * hidden `_csrf` field; the login and re-auth forms carry `next` (already made safe by
 * `auth.nextTarget`) as a hidden field and in their action's query, so the user lands where they
 * were going, and the address shown after a failed attempt (answered in place, 401) still leads
 * there when opened again.
 *
 * @module app/views/auth
 */
import { html } from 'hono/html';
import { accountLoginField, field, otherErrors, rememberBox, type Errors } from './forms.ts';
import { csrfField, type PageContent } from './layout.ts';
import { passkeyButton } from './passkeys.ts';

/** Longest login we accept: an email address (RFC 5321 §4.5.3.1.3 path limit, 254). */
const LOGIN_MAX = 254;

export interface LoginForm {
  readonly csrf: string;
  readonly next: string;
  readonly login?: string | undefined;
  readonly remember?: boolean;
  readonly errors?: Errors;
  /** Whether passkeys are on: the page offers "Log in with a passkey". */
  readonly passkeys?: boolean;
}

/** `/login?next=%2Faccount`: a form's own URL with its `next`. */
function withNext(path: string, next: string): string {
  return `${path}?next=${encodeURIComponent(next)}`;
}

export function loginPage(f: LoginForm): PageContent {
  return {
    title: 'Log in',
    current: 'login',
    scripts: f.passkeys === true,
    body: html`<section class="card narrow">
      <h1>Log in</h1>
      <form method="post" action="${withNext('/login', f.next)}">
        ${csrfField(f.csrf)}
        <input type="hidden" name="next" value="${f.next}">
        ${field({ name: 'login', label: 'Email or username', value: f.login, autocomplete: 'username', errors: f.errors, required: true, maxlength: LOGIN_MAX, autofocus: !f.login })}
        ${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', errors: f.errors, required: true, autofocus: Boolean(f.login) })}
        ${rememberBox(f.remember === true, f.errors)}
        ${otherErrors(f.errors, ['login', 'password', 'remember'])}
        <button type="submit" class="button primary">Log in</button>
      </form>
      ${f.passkeys
        ? passkeyButton({ ceremony: 'authenticate', label: 'Log in with a passkey', options: '/login/passkey/options', submit: '/login/passkey', next: f.next, fields: ['f-remember'], sendNext: true, id: 'passkey-login' })
        : ''}
      <p class="aside"><a href="/forgot-password">Forgot your password?</a></p>
      <p class="aside">No account yet? <a href="/register">Register</a>.</p>
    </section>`,
  };
}

export interface RegisterForm {
  readonly csrf: string;
  readonly minLength: number;
  readonly email?: string | undefined;
  readonly name?: string | undefined;
  readonly username?: string | undefined;
  readonly errors?: Errors;
}

export function registerPage(f: RegisterForm): PageContent {
  return {
    title: 'Register',
    current: 'register',
    body: html`<section class="card narrow">
      <h1>Create an account</h1>
      <form method="post" action="/register">
        ${csrfField(f.csrf)}
        ${field({ name: 'email', label: 'Email', type: 'email', value: f.email, autocomplete: 'email', errors: f.errors, required: true, maxlength: LOGIN_MAX, autofocus: true })}
        ${field({ name: 'name', label: 'Name', value: f.name, autocomplete: 'name', errors: f.errors, required: true, maxlength: 100, hint: 'How we greet you.' })}
        ${field({ name: 'username', label: 'Username (optional)', value: f.username, autocomplete: 'username', errors: f.errors, maxlength: 32, hint: 'Letters, digits, "_", "." and "-"; you can log in with it instead of your email.' })}
        ${field({
          name: 'password',
          label: 'Password',
          type: 'password',
          autocomplete: 'new-password',
          errors: f.errors,
          required: true,
          minlength: f.minLength,
          hint: `At least ${f.minLength} characters. A few unrelated words make a strong, memorable password.`,
        })}
        ${otherErrors(f.errors, ['email', 'name', 'username', 'password'])}
        <button type="submit" class="button primary">Register</button>
      </form>
      <p class="aside">Already registered? <a href="/login">Log in</a>.</p>
    </section>`,
  };
}

export interface ReauthForm {
  readonly csrf: string;
  readonly next: string;
  /** The user's email address, or username when there is none: for password managers. */
  readonly login: string;
  /**
   * The account's second factors (SEC-84: a step-up asks for one again): the code field with
   * `totp`, "Confirm with a passkey" with `passkey` (when passkeys are on); none, the password alone.
   */
  readonly methods: readonly ('totp' | 'passkey')[];
  readonly passkeys: boolean;
  readonly errors?: Errors;
}

export function reauthPage(f: ReauthForm): PageContent {
  const totp = f.methods.includes('totp');
  const passkey = f.passkeys && f.methods.includes('passkey');
  const factor = f.methods.length > 0;
  return {
    title: 'Confirm your password',
    scripts: passkey,
    body: html`<section class="card narrow">
      <h1>Confirm it is you</h1>
      <p>Changing your password or ending sessions needs your password again${factor ? ' and your second factor' : ''}: it has been a while since you typed it, or this login was restored from "remember me".</p>
      <form method="post" action="${withNext('/reauth', f.next)}">
        ${csrfField(f.csrf)}
        <input type="hidden" name="next" value="${f.next}">
        ${accountLoginField(f.login)}
        ${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', errors: f.errors, required: true, autofocus: true })}
        ${totp ? field({ name: 'code', label: 'Code from your authenticator app, or a recovery code', autocomplete: 'one-time-code', errors: f.errors, required: !passkey, maxlength: 32 }) : ''}
        ${otherErrors(f.errors, ['password', 'code'])}
        ${factor && !totp ? '' : html`<button type="submit" class="button primary">Confirm</button>`}
      </form>
      ${passkey
        ? passkeyButton({ ceremony: 'authenticate', label: 'Confirm with a passkey', options: '/reauth/passkey/options', submit: '/reauth/passkey', next: f.next, fields: ['f-password'], sendNext: true, style: totp ? 'button' : 'button primary', id: 'passkey-reauth' })
        : ''}
    </section>`,
  };
}
