/**
 * The app's mail queue: the function the accounts call to send a message (their `mail`
 * option). `send` queues and returns at once, so that no answer ever waits on a mail server
 * (SEC-16: the same time for a known and an unknown address; SEC-15: mail via an async queue).
 * Messages go out two at a time through the transport (SMTP, or the dev outbox); one that fails is
 * logged at `warn` as `mail_failed`, its recipient named only by a keyed hash (SEC-69), and is not
 * retried: every mail of the app is one the user can simply ask for again. A queue that grows past
 * {@link MAX_QUEUED} (a mail server down under load) drops new messages, logged as `mail_dropped`,
 * rather than holding memory without bound.
 *
 * @module app/mail/mailer
 */
import type { KeyedHasher } from '../keyed-hash.ts';
import type { Logger } from '../log.ts';
import { requestFields } from '../request-log.ts';

/** One message, as the accounts hand it over: plain text with each link on a line of its own. */
export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

/** Delivers one message (with its sender) or rejects; the queue's deadline is the transport's own. */
export type Deliver = (message: MailMessage & { readonly from: string }) => Promise<void>;

/** A transport: how messages leave, and how it is closed at shutdown. */
export interface MailTransport {
  readonly deliver: Deliver;
  close(): void;
}

export interface Mailer {
  /** Queues a message and returns at once; never throws for a delivery problem. */
  send(message: MailMessage): void;
  /** Resolves once every message queued so far was delivered or logged as failed. */
  idle(): Promise<void>;
  /** Waits for the queue (at most `drainMs`), then closes the transport. */
  close(drainMs?: number): Promise<void>;
}

export interface MailerOptions {
  readonly transport: MailTransport;
  /** `MAIL_FROM`. */
  readonly from: string;
  readonly logger: Logger;
  readonly hash: KeyedHasher;
}

/** Messages in flight at once: enough for a burst of resets, few enough not to flood the relay. */
const CONCURRENCY = 2;
/** Messages waiting at most; more are dropped (and logged) while the mail server does not keep up. */
export const MAX_QUEUED = 1_000;

/** Builds the queue. */
export function createMailer(options: MailerOptions): Mailer {
  const { transport, from, logger, hash } = options;
  const waiting: Array<{ message: MailMessage; context: Record<string, unknown> }> = [];
  let running = 0;
  let idleWaiters: Array<() => void> = [];

  // Recipients by keyed hash of the address as given, lowercased: the same address, the same hash.
  const who = (message: MailMessage) => ({ to_hash: hash('email', message.to.toLowerCase()), subject: message.subject });

  function settle(): void {
    if (running > 0 || waiting.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  function pump(): void {
    while (running < CONCURRENCY && waiting.length > 0) {
      const { message, context } = waiting.shift()!;
      running++;
      transport
        .deliver({ ...message, from })
        .catch((error: unknown) => {
          // The error's code only: an SMTP reply may quote the address (SEC-69).
          const e = error as { code?: unknown; responseCode?: unknown; name?: unknown };
          logger.log('warn', 'mail_failed', {
            ...context,
            ...who(message),
            error: typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'unknown',
            response_code: typeof e?.responseCode === 'number' ? e.responseCode : null,
          });
        })
        .finally(() => {
          running--;
          pump();
          settle();
        });
    }
  }

  return Object.freeze({
    send(message: MailMessage): void {
      // The request that caused the mail, for the failure line: read now, while it is current.
      const context = requestFields();
      if (waiting.length >= MAX_QUEUED) {
        logger.log('warn', 'mail_dropped', { ...context, ...who(message), queued: waiting.length });
        return;
      }
      waiting.push({ message, context });
      // Started on the next turn: the caller's answer is on its way before any socket is opened.
      setImmediate(pump);
    },
    idle(): Promise<void> {
      if (running === 0 && waiting.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close(drainMs = 5_000): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, drainMs);
      });
      await Promise.race([this.idle(), deadline]).finally(() => clearTimeout(timer));
      transport.close();
    },
  });
}
