/**
 * The development outbox page (`GET /dev/outbox`): the mails the app would have sent, newest
 * first, each with its links ready to click, so that a reset or a verification can be tried on a
 * machine without a mail server.
 *
 * @module app/views/outbox
 */
import { html } from 'hono/html';
import type { OutboxEntry } from '../mail/outbox.ts';
import type { PageContent } from './layout.ts';

export function outboxPage(entries: readonly OutboxEntry[]): PageContent {
  return {
    title: 'Outbox',
    body: html`<section class="card">
      <h1>Outbox</h1>
      <p class="aside">Development only: without <code>SMTP_URL</code>, mails are kept here instead of being sent. Newest first.</p>
      ${entries.length === 0
        ? html`<p>No mail yet.</p>`
        : html`<ol class="outbox">
            ${entries.map(
              (m) => html`<li class="mail">
                <h2>${m.subject}</h2>
                <p class="aside">To <bdi>${m.to}</bdi> · <time datetime="${m.date}">${m.date}</time></p>
                ${m.links.length > 0 ? html`<ul class="links">${m.links.map((link) => html`<li><a href="${link}">${link}</a></li>`)}</ul>` : ''}
                <pre>${m.text}</pre>
              </li>`,
            )}
          </ol>`}
    </section>`,
  };
}
