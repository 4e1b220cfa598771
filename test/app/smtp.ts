/**
 * A real SMTP server in the test process (`smtp-server`), receiving over the SMTP protocol what
 * the app sends through nodemailer; each message parsed with `mailparser`. Never a mocked
 * transport: what arrives here went through the app's queue, its transport and a TCP socket.
 *
 * @module test/app/smtp
 */
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { sparePort } from '../support/ports.ts';

export interface Received {
  readonly mail: ParsedMail;
  /** The envelope's recipients (RCPT TO). */
  readonly rcptTo: readonly string[];
  readonly mailFrom: string | null;
}

export interface SmtpSink {
  readonly url: string;
  readonly received: Received[];
  /** The next message to arrive (or one already there and not yet taken). */
  next(timeoutMs?: number): Promise<Received>;
}

/** Starts a server on a spare port, stopped after the test. */
export async function startSmtp(t: TestContext): Promise<SmtpSink> {
  const received: Received[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'], // plain smtp:// on loopback; smtp-server's self-signed certificate would be refused
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const from = session.envelope.mailFrom;
          received.push({ mail, rcptTo: session.envelope.rcptTo.map((r) => r.address), mailFrom: from === false ? null : from.address });
          for (const wake of waiters.splice(0)) wake();
          callback();
        })
        .catch(callback);
    },
  });
  const port = await sparePort();
  server.listen(port, '127.0.0.1');
  await once(server.server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length <= taken) {
        if (Date.now() > deadline) throw new Error(`no mail arrived within ${timeoutMs} ms`);
        await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), new Promise((resolve) => setTimeout(resolve, 100))]);
      }
      return received[taken++]!;
    },
  };
}
