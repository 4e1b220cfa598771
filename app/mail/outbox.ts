/**
 * The development outbox: without `SMTP_URL`, outside production, each mail is printed as one
 * JSON log line (`mail_outbox`, at `info`) and kept as a file in `DATA_DIR/outbox/` (the folder
 * 0700, each file 0600: the links in them open accounts), so that `npm start` works on a machine
 * with no mail server. `GET /dev/outbox` lists them (routes/outbox.ts). Production never uses it:
 * config.ts refuses to start without SMTP_URL there.
 *
 * @module app/mail/outbox
 */
import { mkdirSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import type { MailMessage, MailTransport } from './mailer.ts';

/** A kept mail, as the outbox page shows it. */
export interface OutboxEntry {
  readonly id: string;
  /** When it was sent, ISO 8601 UTC. */
  readonly date: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** The app's own links in the text (lines that start with PUBLIC_URL). */
  readonly links: readonly string[];
}

/** The folder of the outbox in `dataDir`. */
export function outboxDir(dataDir: string): string {
  return join(dataDir, 'outbox');
}

/** Files sort by name in the order they were written: a timestamp, then a per-process sequence. */
let sequence = 0;

/** The outbox as a transport. */
export function outboxTransport(options: { dataDir: string; logger: Logger; now?: () => number }): MailTransport {
  const dir = outboxDir(options.dataDir);
  const now = options.now ?? Date.now;
  return {
    async deliver(message) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const sent = now();
      const id = `${String(sent).padStart(15, '0')}-${String(++sequence).padStart(9, '0')}`;
      const kept = { id, date: new Date(sent).toISOString(), from: message.from, to: message.to, subject: message.subject, text: message.text };
      await writeFile(join(dir, `${id}.json`), `${JSON.stringify(kept, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      // Development only: the line carries the link, which is the point of it (no mail server).
      options.logger.log('info', 'mail_outbox', { to: message.to, subject: message.subject, text: message.text, file: `${id}.json` });
    },
    close: () => {},
  };
}

/** The kept mails, newest first, each with the links in it that lead to `origin`. */
export async function listOutbox(dataDir: string, origin: string): Promise<OutboxEntry[]> {
  const dir = outboxDir(dataDir);
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const files = names.filter((name) => /^\d{15}-\d{9}\.json$/.test(name)).sort().reverse();
  const entries: OutboxEntry[] = [];
  for (const name of files) {
    const kept = JSON.parse(await readFile(join(dir, name), 'utf8')) as Omit<OutboxEntry, 'links'>;
    entries.push({ ...kept, links: linksIn(kept.text, origin) });
  }
  return entries;
}

/** Each line of `text` that is a link to `origin` (mails put every link on a line of its own). */
export function linksIn(text: MailMessage['text'], origin: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith(`${origin}/`) && !/\s/.test(line));
}
