/**
 * Mail over SMTP with nodemailer (a dependency of the app, never of the library: the core keeps
 * zero runtime dependencies), from `SMTP_URL`: `smtp://[user:pass@]host[:port]` (STARTTLS when the
 * server offers it, port 587 by default) or `smtps://…` (TLS from the first byte, port 465). Every
 * step has a deadline: a relay that accepts the connection and never answers costs a queue
 * slot for at most a few seconds, never a request.
 *
 * @module app/mail/smtp
 */
import nodemailer from 'nodemailer';
import type { MailTransport } from './mailer.ts';

/** Deadlines of one delivery, ms: connecting, the server's greeting, and silence on the socket. */
export const SMTP_TIMEOUTS = Object.freeze({ connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: 10_000, dnsTimeout: 5_000 });

/** A transport to the relay `url` names (checked by config.ts). Nothing connects before the first mail. */
export function smtpTransport(url: string): MailTransport {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'smtps:';
  const user = decodeURIComponent(parsed.username);
  const transporter = nodemailer.createTransport({
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? (secure ? 465 : 587) : Number(parsed.port),
    secure,
    ...(user !== '' && { auth: { user, pass: decodeURIComponent(parsed.password) } }),
    ...SMTP_TIMEOUTS,
  });
  return {
    async deliver(message) {
      await transporter.sendMail({ from: message.from, to: message.to, subject: message.subject, text: message.text, ...(message.html !== undefined && { html: message.html }) });
    },
    close: () => transporter.close(),
  };
}
