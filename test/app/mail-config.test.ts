/**
 * The mail settings (the app's HTTP contract: SMTP_URL, MAIL_FROM, EMAIL_VERIFICATION) and the
 * development outbox: one clear line per bad value, production refusing to start without
 * SMTP_URL, and `GET /dev/outbox` listing the kept mails (newest first, with their links) outside
 * production only.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../app/config.ts';
import { BROWSER_ACCEPT, ORIGIN, seedUser, setup } from './support.ts';

const BASE = { DATA_DIR: '/nonexistent/latchkey-test', PUBLIC_URL: 'https://app.example.com', SECRET_KEY: 'k'.repeat(64) };

function problems(env: Record<string, string>): string[] {
  const loaded = loadConfig({ ...BASE, ...env });
  return loaded.ok ? [] : loaded.problems;
}

test('A malformed SMTP_URL is one line naming SMTP_URL, its password not shown (SEC-69)', () => {
  for (const bad of ['http://mail.example.com', 'smtp://', 'smtp://mail.example.com/path', 'smtp://mail.example.com?x=1', 'not a url', 'smtp://user:hunter2@host:99999']) {
    const found = problems({ SMTP_URL: bad });
    assert.equal(found.length, 1, bad);
    assert.match(found[0]!, /^SMTP_URL: .* must be smtp:\/\/\[user:pass@\]host:port or smtps:\/\//, bad);
    assert.doesNotMatch(found[0]!, /hunter2/);
  }
  for (const good of ['smtp://127.0.0.1:2525', 'smtps://user:p%40ss@mail.example.com', 'smtp://mail.example.com']) {
    assert.deepEqual(problems({ SMTP_URL: good }), [], good);
  }
});

test('Production without SMTP_URL refuses to start, saying why; with it, it starts', () => {
  const found = problems({ NODE_ENV: 'production' });
  assert.deepEqual(found, [
    'SMTP_URL: required when NODE_ENV=production (without it no reset or verification mail could leave; the console outbox is for development only)',
  ]);
  assert.deepEqual(problems({ NODE_ENV: 'production', SMTP_URL: 'smtps://mail.example.com' }), []);
});

test('MAIL_FROM defaults to Latchkey <no-reply@HOST-OF-PUBLIC_URL>; a header injection in it is refused (CWE-93)', () => {
  const loaded = loadConfig(BASE);
  assert.ok(loaded.ok);
  assert.equal(loaded.config.mailFrom, 'Latchkey <no-reply@app.example.com>');
  assert.equal(loaded.config.emailVerification, 'optional');
  assert.equal(loaded.config.smtpUrl, null);
  assert.match(problems({ MAIL_FROM: 'a@example.com\r\nBcc: victim@example.com' })[0]!, /^MAIL_FROM: /);
  assert.match(problems({ MAIL_FROM: 'no address' })[0]!, /^MAIL_FROM: /);
  assert.deepEqual(problems({ MAIL_FROM: 'Support <help@example.com>' }), []);
});

test('EMAIL_VERIFICATION takes off, optional or required; anything else is one line', () => {
  for (const mode of ['off', 'optional', 'required']) {
    const loaded = loadConfig({ ...BASE, EMAIL_VERIFICATION: mode });
    assert.ok(loaded.ok && loaded.config.emailVerification === mode);
  }
  assert.deepEqual(problems({ EMAIL_VERIFICATION: 'sometimes' }), ['EMAIL_VERIFICATION: "sometimes" must be one of off, optional, required']);
});

test('Without SMTP_URL, a mail is printed as one log line and kept (0600) in DATA_DIR/outbox; GET /dev/outbox lists the mails newest first with their links', async (t) => {
  const app = await setup(t, {});
  await seedUser(app, 'ann@example.com');
  await seedUser(app, 'bob@example.com', 'Bob');
  await app.mailSent();
  const client = app.client();
  assert.equal((await client.json('/forgot-password', { email: 'ann@example.com' })).status, 202);
  await app.mailSent();
  assert.equal((await client.json('/forgot-password', { email: 'bob@example.com' })).status, 202);
  await app.mailSent();

  const files = readdirSync(join(app.config.dataDir, 'outbox'));
  assert.ok(files.length >= 2);
  for (const file of files) assert.equal(statSync(join(app.config.dataDir, 'outbox', file)).mode & 0o777, 0o600);
  assert.equal(statSync(join(app.config.dataDir, 'outbox')).mode & 0o777, 0o700);
  const printed = app.logs.filter((line) => line.event === 'mail_outbox');
  assert.equal(printed.length, files.length);

  const listed = await client.getJson('/dev/outbox');
  assert.equal(listed.status, 200);
  const [newest, previous] = listed.body.messages;
  assert.equal(newest.to, 'bob@example.com');
  assert.equal(previous.to, 'ann@example.com');
  assert.equal(newest.links.length, 1);
  assert.match(newest.links[0], new RegExp(`^${ORIGIN}/reset-password/[A-Za-z0-9_-]{43}$`));
  assert.equal(listed.response.headers.get('referrer-policy'), 'no-referrer');

  const html = await (await client.page('/dev/outbox')).text();
  assert.ok(html.indexOf('bob@example.com') < html.indexOf('ann@example.com'));
  assert.ok(html.includes(`href="${newest.links[0]}"`));
});

test('GET /dev/outbox is 404 in production (and with SMTP_URL set)', async (t) => {
  const production = await setup(t, { env: { NODE_ENV: 'production', SMTP_URL: 'smtp://127.0.0.1:9' } });
  assert.equal((await production.request('/dev/outbox', { headers: { accept: BROWSER_ACCEPT } })).status, 404);
  assert.equal((await production.request('/dev/outbox', { headers: { accept: 'application/json' } })).status, 404);
  const smtp = await setup(t, { env: { SMTP_URL: 'smtp://127.0.0.1:9' } });
  assert.equal((await smtp.request('/dev/outbox')).status, 404);
});
