/**
 * The links put in mails (the accounts' `links` option), built from PUBLIC_URL and nothing else:
 * never from `Host` or `X-Forwarded-Host`, which a client chooses (SEC-58, Host header injection:
 * a reset link pointing at the attacker's site would hand them the token).
 *
 * @module app/mail/links
 */

export interface MailLinks {
  resetPassword(token: string): string;
  verifyEmail(token: string): string;
  confirmEmail(token: string): string;
}

/** The app's links on `publicUrl` (an origin, no trailing slash: config.ts). */
export function mailLinks(publicUrl: string): MailLinks {
  const link = (path: string) => (token: string) => `${publicUrl}/${path}/${encodeURIComponent(token)}`;
  return Object.freeze({ resetPassword: link('reset-password'), verifyEmail: link('verify-email'), confirmEmail: link('confirm-email') });
}
