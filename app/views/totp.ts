/**
 * The second-factor pages: the authenticator setup (the QR code as an inline SVG made on the
 * server, so the strict CSP needs no script and no image source, SEC-64; the secret in groups of
 * four for typing by hand; the confirm form), the recovery codes shown once (SEC-81) with a
 * `<pre>` to copy and a `data:` link to download them as a text file (a download, which the CSP
 * does not govern, and nothing sent back to the server), and the login's two-factor step.
 *
 * @module app/views/totp
 */
import { html, raw } from 'hono/html';
import { field, type Errors } from './forms.ts';
import { csrfField, type PageContent } from './layout.ts';
import { passkeyButton } from './passkeys.ts';

/** `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP`: easier to read off and type. */
export function groupSecret(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(' ') ?? secret;
}

function codeField(errors: Errors): ReturnType<typeof field> {
  return field({ name: 'code', label: 'Code', autocomplete: 'one-time-code', errors, required: true, maxlength: 32, autofocus: true });
}

export interface TotpSetupView {
  readonly csrf: string;
  readonly secret: string;
  /** `qrcode`'s SVG of the otpauth URI: our own markup from a library, not user input. */
  readonly qrSvg: string;
}

export function totpSetupPage(v: TotpSetupView): PageContent {
  return {
    title: 'Set up two-factor authentication',
    current: 'account',
    body: html`<section class="card narrow">
      <h1>Set up two-factor authentication</h1>
      <p>Scan this code with your authenticator app, then type the 6-digit code it shows.</p>
      <figure class="qr">${raw(v.qrSvg)}</figure>
      <p>Or enter this key by hand: <code class="secret">${groupSecret(v.secret)}</code></p>
      <form method="post" action="/account/totp/confirm">
        ${csrfField(v.csrf)}
        ${codeField(undefined)}
        <button type="submit" class="button primary">Turn on</button>
      </form>
    </section>`,
  };
}

export function recoveryCodesPage(v: { readonly codes: readonly string[]; readonly heading: string }): PageContent {
  const file = `Latchkey recovery codes\nEach code works once.\n\n${v.codes.join('\n')}\n`;
  return {
    title: 'Your recovery codes',
    current: 'account',
    body: html`<section class="card narrow">
      <h1>${v.heading}</h1>
      <p>Keep these recovery codes somewhere safe. Each one logs you in once without your authenticator app. They are shown only now.</p>
      <pre class="recovery-codes">${v.codes.join('\n')}</pre>
      <p><a class="button" download="latchkey-recovery-codes.txt" href="data:text/plain;charset=utf-8,${encodeURIComponent(file)}">Download as a text file</a></p>
      <p><a href="/account">Back to your account</a></p>
    </section>`,
  };
}

export interface TwoFactorView {
  readonly csrf: string;
  /** The account's second factors: the code field with `totp`, the passkey button with `passkey`. */
  readonly methods: readonly ('totp' | 'passkey')[];
  /** Whether the app has passkeys on (a secure PUBLIC_URL). */
  readonly passkeys: boolean;
  readonly errors?: Errors;
}

export function twoFactorPage(v: TwoFactorView): PageContent {
  const totp = v.methods.includes('totp');
  const passkey = v.passkeys && v.methods.includes('passkey');
  return {
    title: 'Two-factor authentication',
    current: 'login',
    scripts: passkey,
    body: html`<section class="card narrow">
      <h1>Two-factor authentication</h1>
      ${totp
        ? html`<p>Type the code your authenticator app shows, or one of your recovery codes.</p>
      <form method="post" action="/login/two-factor">
        ${csrfField(v.csrf)}
        ${codeField(v.errors)}
        <button type="submit" class="button primary">Log in</button>
      </form>`
        : html`<p>Confirm with your passkey: your device asks for its screen lock, fingerprint or face.</p>`}
      ${passkey
        ? html`${totp ? html`<p class="aside">Or:</p>` : ''}${passkeyButton({
            ceremony: 'authenticate',
            label: 'Use a passkey',
            options: '/login/two-factor/passkey/options',
            submit: '/login/two-factor/passkey',
            next: '/dashboard',
            style: totp ? 'button' : 'button primary',
            id: 'passkey-step',
          })}`
        : ''}
      <p class="aside"><a href="/login">Start again</a></p>
    </section>`,
  };
}
