/**
 * Password reset and email verification across two real app processes, A and B, on shared
 * stores (issue 13: "works on SQLite, PostgreSQL and Redis"): one SECRET_KEY, one PUBLIC_URL, one
 * SMTP relay, as behind a round-robin balancer. The relay is a real `smtp-server` in this process
 * (test/app/smtp.ts); every link is read from a mail that came over SMTP, parsed by `mailparser`.
 *
 * Three setups, two instances each:
 * - PostgreSQL: users, sessions, counters and one-time tokens in one database of this file's own;
 * - Redis sessions: users in PostgreSQL; sessions, counters and tokens in a private redis-server;
 * - SQLite: both processes on one DATA_DIR, so one database file.
 *
 * What each proves: a reset asked on A and finished on B ends the session A serves at its next
 * request, and the link is dead on A afterwards (SEC-57, SEC-59, SEC-60, SEC-33, R-07); one token
 * posted to A and to B at once resets once; an address verified through B is verified on A
 * (SEC-61), within the user cache's TTL that R-07 bounds (a change made on another instance reaches
 * A's cached copy of the account at most that late; every session check still reads the store).
 *
 * The PostgreSQL setups need PostgreSQL (a `latchkey_scale_<random>` database, dropped afterwards),
 * the Redis one also the redis-server binary: without them those skip, saying why (CI: fail).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startRedisServer } from '../fixtures/redis-server.ts';
import { probePostgres, requireService } from '../support/services.ts';
import { startSmtp, type SmtpSink } from '../app/smtp.ts';
import {
  Client, createDatabase, PASSWORD, poll, probeRedisServer, PUBLIC_URL, removeDir, startApp, tempDir, troubleLines, uniqueEmail,
  type AppProcess,
} from './support.ts';

const postgres = await requireService('postgres', probePostgres);
const redis = await requireService('redis', probeRedisServer);
const noPostgres = postgres.available ? false : postgres.reason;
const noRedis = noPostgres || (redis.available ? false : redis.reason);
if (noPostgres) console.log(`# skipping the PostgreSQL recovery setups: ${noPostgres}`);
else if (noRedis) console.log(`# skipping the Redis recovery setup: ${noRedis}`);

/** A new password that passes the default policy. */
const NEW_PASSWORD = 'quince lantern orbit meadow';
/** The answers the app's HTTP contract gives, word for word. */
const RESET_DONE = 'Your password has been reset. Please log in.';
const VERIFIED = 'Your email address is verified.';
const INVALID_LINK = 'This link is invalid or has expired.';
/** The user cache's TTL given to both instances: the most R-07 allows (≤ 5 s). */
const USER_CACHE_TTL_SECONDS = 5;
/** How long a mail may take from the request that causes it to the relay (a background queue, then SMTP). */
const MAIL_TIMEOUT = 10_000;
/**
 * Parallel POSTs of one reset token: this many tokens, each posted to A and to B at once.
 * The two hashings (argon2id) end a few ms apart, so one race rarely overlaps the consumptions;
 * ten give a non-atomic consume a fair chance to show. Every mail counts towards the recovery
 * limit per IP (30 an hour, app/throttles.ts) and every client here is 127.0.0.1: a setup sends
 * 3 + 2 × RACES of them, under it.
 */
const RACES = 10;

/** The stores of one setup, shared by A and B; `settings` are given to both. */
interface Stores {
  readonly settings: Record<string, string>;
  /** Whether each instance gets a DATA_DIR of its own (nothing shared through files). */
  readonly ownDataDir: boolean;
  close(): Promise<void>;
}

interface Setup {
  readonly name: string;
  readonly skip: string | false;
  open(): Promise<Stores>;
}

const SETUPS: Setup[] = [
  {
    name: 'PostgreSQL (users, sessions and tokens)',
    skip: noPostgres,
    async open() {
      const db = await createDatabase();
      return { settings: { DATABASE_URL: db.url }, ownDataDir: true, close: () => db.drop() };
    },
  },
  {
    name: 'Redis sessions and tokens, users in PostgreSQL',
    skip: noRedis,
    async open() {
      const db = await createDatabase();
      try {
        const server = await startRedisServer();
        return {
          settings: { DATABASE_URL: db.url, SESSION_STORE: server.url },
          ownDataDir: true,
          async close() {
            await server.stop();
            await db.drop();
          },
        };
      } catch (error) {
        await db.drop();
        throw error;
      }
    },
  },
  {
    name: 'SQLite, two processes on one file',
    skip: false,
    async open() {
      const dir = tempDir();
      return { settings: { DATA_DIR: dir }, ownDataDir: false, close: async () => removeDir(dir) };
    },
  },
];

/** The path of the `PUBLIC_URL` link to `path…` in a mail that came to `to`, once one has. */
async function mailedLink(smtp: SmtpSink, to: string, path: '/reset-password/' | '/verify-email/'): Promise<string> {
  const prefix = `${PUBLIC_URL}${path}`;
  const found = await poll(async () => {
    for (const { mail, rcptTo } of smtp.received) {
      if (!rcptTo.includes(to)) continue;
      const link = (mail.text ?? '').split(/\r?\n/).find((line) => line.startsWith(prefix));
      if (link !== undefined) return new URL(link).pathname;
    }
    return undefined;
  }, MAIL_TIMEOUT);
  assert.ok(found.ok, `no mail to ${to} with a ${prefix}… link within ${MAIL_TIMEOUT / 1000} s; ${smtp.received.length} mails arrived`);
  return found.value as string;
}

/** The token at the end of a link's path. */
function tokenOf(path: string): string {
  const token = path.split('/').at(-1) as string;
  assert.match(token, /^[A-Za-z0-9_-]{43}$/, `a link's token: ${path}`);
  return token;
}

/** Registers `email` on `app` (logged in at once, EMAIL_VERIFICATION=optional) and asks for a reset on `app`. */
async function resetLinkFor(smtp: SmtpSink, app: AppProcess, email: string, browser = new Client()): Promise<string> {
  await browser.register(app, email);
  const asked = await new Client().post(app, '/forgot-password', { email });
  assert.equal(asked.status, 202, `forgot-password on ${app.name}: ${JSON.stringify(asked.body)}`);
  return mailedLink(smtp, email, '/reset-password/');
}

async function twoInstances(t: TestContext, setup: Setup): Promise<{ a: AppProcess; b: AppProcess; smtp: SmtpSink }> {
  // Registered before the relay's own `after` (t.after runs in order): the apps stop before it closes.
  const cleanups: Array<() => Promise<void> | void> = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const smtp = await startSmtp(t);
  const stores = await setup.open();
  cleanups.push(() => stores.close());
  const settings = { ...stores.settings, SMTP_URL: smtp.url, EMAIL_VERIFICATION: 'optional', USER_CACHE_TTL: `${USER_CACHE_TTL_SECONDS}s` };
  const dataDir = (): Record<string, string> => {
    if (!stores.ownDataDir) return {};
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    return { DATA_DIR: dir };
  };
  // One after the other: the first creates the tables.
  const a = await startApp('A', { ...settings, ...dataDir() });
  cleanups.push(() => a.stop());
  const b = await startApp('B', { ...settings, ...dataDir() });
  cleanups.push(() => b.stop());
  return { a, b, smtp };
}

for (const setup of SETUPS) {
  test(`recovery over two instances: ${setup.name}`, { skip: setup.skip, timeout: 180_000 }, async (t) => {
    const { a, b, smtp } = await twoInstances(t, setup);

    await t.test('SEC-59, SEC-60, SEC-33, SEC-57, R-07: a reset asked on A and done through B ends the session on A at its next request; the link is dead on A; the new password logs in on A', async () => {
      const email = uniqueEmail('reset');
      const laptop = new Client(); // logged in on A by registering
      const link = await resetLinkFor(smtp, a, email, laptop);
      const token = tokenOf(link);
      const remembered = new Client();
      await remembered.login(a, email, PASSWORD, true);
      remembered.closeBrowser();
      assert.equal((await remembered.get(a, '/protected')).status, 200, 'the remember-me login brought the closed browser back on A');
      // A served both a moment ago: any per-instance cache of them is warm.
      assert.equal((await laptop.get(a, '/protected')).status, 200, 'logged in on A before the reset');

      // The link, opened on B: the token moves into a cookie and out of the address (SEC-59).
      const mailbox = new Client();
      const opened = await mailbox.get(b, link);
      assert.equal(opened.status, 303, `GET of the link on B: ${JSON.stringify(opened.body)}`);
      assert.equal(opened.headers.get('location'), '/reset-password');
      assert.equal(opened.headers.get('referrer-policy'), 'no-referrer');
      assert.ok([...mailbox.jar.values()].includes(token), 'the token went into a cookie');

      const reset = await mailbox.post(b, '/reset-password', { password: NEW_PASSWORD });
      assert.deepEqual([reset.status, reset.body], [200, { message: RESET_DONE }], 'POST of the new password on B');
      assert.ok(!mailbox.jar.has('session') && !mailbox.jar.has('__Host-session'), 'SEC-60: a reset logs nobody in');

      // SEC-33, R-07: every session of the user ends, on the instance that did not do the reset, at its very next request.
      const next = await laptop.get(a, '/protected');
      assert.equal(next.status, 401, `A still served a session the reset on B ended: ${JSON.stringify(next.body)}`);
      remembered.closeBrowser();
      assert.equal((await remembered.get(a, '/protected')).status, 401, 'A still honoured a remember-me login the reset on B ended');

      // SEC-57: used once, dead everywhere.
      assert.equal((await new Client().get(a, link)).status, 400, 'the used link opened on A');
      const replay = await new Client().post(a, '/reset-password', { token, password: `${NEW_PASSWORD} again` });
      assert.deepEqual([replay.status, replay.body], [400, { message: INVALID_LINK }], 'the used token posted to A');

      // As the attacker who knew the old password: refused on A; the owner's new one works there.
      assert.equal((await new Client().post(a, '/login', { login: email, password: PASSWORD })).status, 401, 'the old password on A');
      await new Client().login(a, email, NEW_PASSWORD);

      // SEC-60: the owner is told, whichever instance did the reset.
      const notice = await poll(async () => smtp.received.some(({ mail, rcptTo }) => rcptTo.includes(email) && /password was changed/i.test(mail.subject ?? '')), MAIL_TIMEOUT);
      assert.ok(notice.ok, `no "password changed" notice to ${email} within ${MAIL_TIMEOUT / 1000} s`);
    });

    await t.test(`R-05, SEC-57: one reset token posted to A and to B at once resets once: exactly one 200, and only its password works (${RACES} tokens)`, async () => {
      for (let race = 0; race < RACES; race++) {
        const email = uniqueEmail('race');
        const token = tokenOf(await resetLinkFor(smtp, race % 2 === 0 ? a : b, email));
        const passwords = [`${NEW_PASSWORD} via A`, `${NEW_PASSWORD} via B`] as const;
        const answers = await Promise.all([a, b].map((app, i) => new Client().post(app, '/reset-password', { token, password: passwords[i] })));
        const statuses = answers.map((answer) => answer.status);
        assert.deepEqual([...statuses].sort(), [200, 400], `race ${race}: statuses on A, B: ${statuses.join(', ')}`);
        const winner = statuses.indexOf(200);
        assert.deepEqual(answers[1 - winner]!.body, { message: INVALID_LINK }, `race ${race}: the loser's answer`);
        // The loser set nothing: its password is refused, the winner's works, on either instance.
        assert.equal((await new Client().post(a, '/login', { login: email, password: passwords[1 - winner] })).status, 401, `race ${race}: the losing password`);
        await new Client().login(b, email, passwords[winner]);
      }
    });

    await t.test(`SEC-61, R-07: an address registered on A and verified through B's link is verified on A (within the ${USER_CACHE_TTL_SECONDS} s user cache), once`, async () => {
      const email = uniqueEmail('verify');
      const browser = new Client();
      await browser.register(a, email);
      const before = await browser.get(a, '/account');
      assert.equal(before.status, 200, JSON.stringify(before.body));
      assert.equal(before.body.user.email_verified, false, 'unverified before the link was used');

      const link = await mailedLink(smtp, email, '/verify-email/');
      const token = tokenOf(link);
      // GET consumes nothing (SEC-42); the POST does.
      assert.equal((await browser.get(b, link)).status, 200, 'GET of the verification link on B');
      const verified = await browser.post(b, '/verify-email', { token });
      assert.deepEqual([verified.status, verified.body], [200, { message: VERIFIED }], 'POST of the token on B');
      assert.equal((await browser.get(b, '/account')).body.user.email_verified, true, 'verified on B, which did it');

      // A read the account a moment ago and may keep that copy for the user cache's TTL (R-07: ≤ 5 s).
      const onA = await poll(async () => (await browser.get(a, '/account')).body.user?.email_verified === true, USER_CACHE_TTL_SECONDS * 1_000 + 3_000, 250);
      assert.ok(onA.ok, `A still says email_verified false ${Math.round(onA.ms)} ms after B verified it`);
      console.log(`# ${setup.name}: A showed the verification made on B after ${Math.round(onA.ms)} ms`);

      // Single use across instances.
      const again = await new Client().post(a, '/verify-email', { token });
      assert.deepEqual([again.status, again.body], [400, { message: INVALID_LINK }], 'the used verification token posted to A');
    });

    for (const app of [a, b]) assert.deepEqual(troubleLines(app.output()), [], `app ${app.name} logged errors`);
  });
}
