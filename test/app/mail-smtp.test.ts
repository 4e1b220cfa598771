/**
 * Mail over a real SMTP server (smtp-server in this process, parsed with mailparser; never a
 * mocked transport): what arrives, where its links lead whatever the request's headers say
 * (SEC-58), and what happens while the server is down (the answers stay the same, the failure is
 * a warn line without the address, SEC-16, SEC-69).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { serve } from '@hono/node-server';
import { sparePort } from '../support/ports.ts';
import { ORIGIN, PASSWORD, seedUser, setup, type TestApp } from './support.ts';
import { startSmtp } from './smtp.ts';

const TOKEN_LINK = new RegExp(`^${ORIGIN}/reset-password/[A-Za-z0-9_-]{43}$`);

/** Serves the app over real HTTP, so that `Host` is what the client sends. */
async function listen(t: TestContext, app: TestApp): Promise<number> {
  const server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** A raw JSON POST with the headers given, Host included. */
function post(port: number, path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

test('SEC-58: a reset mail arrives over SMTP with From, To, subject and the link on its own line, built from PUBLIC_URL despite Host: evil.example and X-Forwarded-Host', async (t) => {
  const smtp = await startSmtp(t);
  const app = await setup(t, { env: { SMTP_URL: smtp.url, TRUST_PROXY: 'true', EMAIL_VERIFICATION: 'off' } });
  await seedUser(app, 'ann@example.com');
  const port = await listen(t, app);

  const answer = await post(port, '/forgot-password', { email: 'ann@example.com' }, { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
  assert.equal(answer.status, 202);
  assert.deepEqual(JSON.parse(answer.body), { message: 'If that address is registered, we have sent a link to reset the password.' });

  const { mail, rcptTo, mailFrom } = await smtp.next();
  assert.equal(mail.from?.text, '"Latchkey" <no-reply@127.0.0.1>');
  assert.equal(mailFrom, 'no-reply@127.0.0.1');
  assert.equal(mail.to && !Array.isArray(mail.to) ? mail.to.text : null, 'ann@example.com');
  assert.deepEqual(rcptTo, ['ann@example.com']);
  assert.ok(mail.subject && mail.subject.length > 0);
  const lines = (mail.text ?? '').split(/\r?\n/);
  const links = lines.filter((line) => line.includes('://'));
  assert.equal(links.length, 1, mail.text);
  assert.match(links[0]!, TOKEN_LINK);
  assert.doesNotMatch(`${mail.text}${mail.html || ''}`, /evil\.example/);

  // SEC-59 over Node's server, where the app-wide headers are set first: the page's own no-referrer wins.
  const opened = await fetch(`http://127.0.0.1:${port}${new URL(links[0]!).pathname}`, { redirect: 'manual', headers: { accept: 'text/html' } });
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get('referrer-policy'), 'no-referrer');
  assert.match(opened.headers.get('content-security-policy') ?? '', /default-src 'none'/);
});

test('SEC-16, SEC-69 (fault): with the SMTP server down, a known address gets the same answer as an unknown one, and the failure is a warn line naming the recipient by keyed hash only', async (t) => {
  const down = `smtp://127.0.0.1:${await sparePort()}`; // nothing listens there
  const app = await setup(t, { env: { SMTP_URL: down, EMAIL_VERIFICATION: 'off' } });
  await seedUser(app, 'ann@example.com');
  const client = app.client();

  const known = await client.json('/forgot-password', { email: 'ann@example.com' });
  const unknown = await client.json('/forgot-password', { email: 'nobody@example.com' });
  assert.deepEqual([known.status, known.body], [unknown.status, unknown.body]);
  assert.equal(known.status, 202);
  await app.mailSent();

  const failed = app.logs.filter((line) => line.event === 'mail_failed');
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.level, 'warn');
  assert.match(String(failed[0]!.to_hash), /^[A-Za-z0-9_-]{22}$/);
  assert.equal(failed[0]!.error, 'ESOCKET');
  assert.equal(failed[0]!.path, '/forgot-password');
  for (const line of app.lines) assert.doesNotMatch(line, /ann@example\.com/);

  // Nothing is lost that the user cannot ask for again: once the server is back, asking again works.
  // (The registration path too: an unsent verification mail never turns a registration into an error.)
  const registered = await client.json('/register', { email: 'bob@example.com', name: 'Bob', password: PASSWORD });
  assert.equal(registered.status, 201);
});

test('A verification mail (EMAIL_VERIFICATION=optional) arrives over SMTP after registering, its link to PUBLIC_URL/verify-email/TOKEN', async (t) => {
  const smtp = await startSmtp(t);
  const app = await setup(t, { env: { SMTP_URL: smtp.url } });
  const client = app.client();
  assert.equal((await client.json('/register', { email: 'ann@example.com', name: 'Ann', password: PASSWORD })).status, 201);
  const { mail } = await smtp.next();
  const link = (mail.text ?? '').split(/\r?\n/).find((line) => line.startsWith(ORIGIN));
  assert.match(link ?? '', new RegExp(`^${ORIGIN}/verify-email/[A-Za-z0-9_-]{43}$`));
});
