/**
 * The reference app's command line (`npm run cli`), run as a user runs it: a child process on a
 * fresh DATA_DIR per test, its stdout, stderr and exit status checked, and its effects checked
 * through the library's public API on the same database. The key check of the Flask import: a
 * user imported from a real Flask-Login tutorial database (test/fixtures/flask, made by
 * make-flask-db.py with Debian's Flask, Flask-SQLAlchemy and werkzeug) logs in with the original
 * password, and the stored hash is argon2id afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it, type TestContext } from 'node:test';
import { createAccounts, createLoginManager, createLoginThrottle, PasswordHasher, StoreUnavailableError, type UserRecord } from 'latchkey';
import { SqliteStore, SqliteUserStore } from 'latchkey/sqlite';
import { loginTestUser } from 'latchkey/testing';
import { describeError } from '../app/cli.ts';
import { checkHashFormat } from '../app/cli/hash-format.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'app', 'cli.ts');
const FIXTURES = join(import.meta.dirname, 'fixtures', 'flask');
const TUTORIAL_DB = join(FIXTURES, 'users.db');
const MICROBLOG_DB = join(FIXTURES, 'users-username.db');
const USERNAME_ONLY_DB = join(FIXTURES, 'users-username-only.db');
const SECRET = 'cli-test-secret-0123456789abcdef-0123456789';
const GOOD = 'correct horse battery staple';
/** The password rule create-user shows on a terminal before the first prompt. */
const RULE = 'The new password needs at least 15 characters; a few unrelated words make a strong one. It must not be a common password or contain your email address, name or username.';
const PYTHON = '/usr/bin/python3';
const vectors: Array<{ scheme: string; password: string; hash: string }> = JSON.parse(
  readFileSync(join(import.meta.dirname, 'vectors', 'password-hashes.json'), 'utf8'),
);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function collect(child: ReturnType<typeof spawn>, input: string | null): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin?.end(input ?? undefined);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh DATA_DIR, removed after the test. */
function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `node --conditions=source app/cli.ts …args` as `npm run cli` does, with only the given environment. */
function cli(dir: string, args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env = { PATH: process.env.PATH ?? '', DATA_DIR: dir, SECRET_KEY: SECRET, MALLOC_ARENA_MAX: '1', ...options.env };
  const child = spawn(process.execPath, ['--conditions=source', CLI, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  return collect(child, options.stdin ?? '');
}

/** The library on the CLI's database, as the app opens it: users, sessions, manager, accounts. */
function library(t: TestContext, dir: string) {
  const path = join(dir, 'app.db');
  const users = new SqliteUserStore({ path });
  const store = new SqliteStore({ path, sweepInterval: 0 });
  const manager = createLoginManager<UserRecord>({ store, secret: SECRET, loadUser: (id) => users.getUserById(id) });
  const accounts = createAccounts({ users, throttle: false, revokeSessions: async (id) => (await manager.revokeUserSessions(id)).sessions, appName: 'Latchkey' });
  t.after(async () => {
    await store.close();
    await users.close();
  });
  return { users, store, manager, accounts };
}

async function createUser(dir: string, email: string, password = GOOD, extra: string[] = []): Promise<Run> {
  return cli(dir, ['create-user', '--email', email, ...extra], { stdin: `${password}\n` });
}

/** No stack trace ever reaches the user. */
function assertNoStack(run: Run): void {
  assert.doesNotMatch(run.stderr, /^\s+at /m);
  assert.doesNotMatch(run.stderr, /Error:|node:internal/);
}

describe('the command line', () => {
  describe('usage', () => {
    it('prints the usage to stderr and exits 2 when no command is given', async (t) => {
      const run = await cli(dataDir(t), []);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /^no command given\nusage: npm run cli -- <command>/);
      assert.equal(run.stdout, '');
    });

    it('rejects an unknown command with exit status 2', async (t) => {
      const run = await cli(dataDir(t), ['drop-users']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /^unknown command "drop-users"\nusage:/);
      assertNoStack(run);
    });

    it('rejects an unknown option with exit status 2 and the usage of the command', async (t) => {
      const run = await cli(dataDir(t), ['list-users', '--all']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /^list-users: Unknown option '--all'\.\nusage: npm run cli -- list-users/);
    });

    it('rejects a missing required option and a missing argument with exit status 2', async (t) => {
      const dir = dataDir(t);
      const noEmail = await cli(dir, ['revoke-sessions']);
      assert.equal(noEmail.code, 2);
      assert.match(noEmail.stderr, /^revoke-sessions: --email or --username is required/);
      const both = await cli(dir, ['revoke-sessions', '--email', 'kate@example.com', '--username', 'kate']);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /^revoke-sessions: give only one of --email or --username\nusage: npm run cli -- revoke-sessions --email E \| --username U/);
      const noIdentifier = await cli(dir, ['create-user', '--name', 'Nobody'], { stdin: `${GOOD}\n` });
      assert.equal(noIdentifier.code, 2);
      assert.match(noIdentifier.stderr, /^create-user: --email or --username is required\nusage: npm run cli -- create-user \[--email E\] \[--name N\] \[--username U\]/);
      const noFile = await cli(dir, ['import-flask-users']);
      assert.equal(noFile.code, 2);
      assert.match(noFile.stderr, /^import-flask-users: expected <users\.db>, got none/);
    });

    it('describes a store failure as the database being unavailable, in one line', () => {
      const locked = new StoreUnavailableError('SqliteUserStore.createUser() failed', { cause: new Error('database is locked') });
      assert.equal(describeError(locked), 'error: the database is unavailable (database is locked); try again');
      assert.equal(describeError(new Error('first line\nsecond line')), 'error: first line');
    });

    it('prints the usage to stdout and exits 0 for --help', async (t) => {
      const run = await cli(dataDir(t), ['--help']);
      assert.equal(run.code, 0);
      for (const command of ['create-user', 'list-users', 'revoke-sessions', 'import-flask-users']) assert.match(run.stdout, new RegExp(`  ${command}`));
    });

    it('reports each configuration problem on its own line and exits 1', async (t) => {
      const run = await cli(dataDir(t), ['list-users'], { env: { SESSION_IDLE_TIMEOUT: 'soon', PASSWORD_MIN_LENGTH: '4' } });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^configuration: SESSION_IDLE_TIMEOUT: "soon" is not a duration/m);
      assert.match(run.stderr, /^configuration: PASSWORD_MIN_LENGTH: "4" must be a whole number from 8 to 64/m);
      assertNoStack(run);
    });

    it('says in one line that the database cannot be opened', async (t) => {
      const dir = dataDir(t);
      mkdirSync(join(dir, 'app.db')); // a directory where the SQLite file should be
      const run = await cli(dir, ['list-users']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^error: DATABASE_URL: cannot open the SQLite database .*app\.db/);
      assert.equal(run.stderr.trim().split('\n').length, 1);
      assertNoStack(run);
    });
  });

  describe('create-user', () => {
    it('creates a user whose password is the first line of stdin, and that user can log in', async (t) => {
      const dir = dataDir(t);
      const run = await createUser(dir, 'Alice@Example.com', GOOD, ['--name', 'Alice Liddell', '--username', 'alice']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'created user 1 <Alice@Example.com>\n');
      const { accounts, users } = library(t, dir);
      const user = await users.getUserByLogin('alice@example.com');
      assert.equal(user?.name, 'Alice Liddell');
      assert.equal(user?.username, 'alice');
      assert.match(user?.passwordHash ?? '', /^\$argon2id\$/);
      assert.equal((await accounts.authenticate({ login: 'alice', password: GOOD })).ok, true);
    });

    it('takes only the first line of stdin, without its CRLF, and keeps other spaces', async (t) => {
      const dir = dataDir(t);
      const run = await cli(dir, ['create-user', '--email', 'bob@example.com'], { stdin: ` ${GOOD} \r\nsecond line\n` });
      assert.equal(run.code, 0, run.stderr);
      const { accounts } = library(t, dir);
      assert.equal((await accounts.authenticate({ login: 'bob@example.com', password: ` ${GOOD} ` })).ok, true);
      assert.equal((await accounts.authenticate({ login: 'bob@example.com', password: GOOD })).ok, false);
    });

    it('defaults the name to the local part of the address', async (t) => {
      const dir = dataDir(t);
      assert.equal((await createUser(dir, 'carol@example.com')).code, 0);
      const run = await cli(dir, ['list-users']);
      assert.match(run.stdout, /^1 +carol@example\.com +- +carol +active$/m);
    });

    it('refuses a weak password with the policy reason and exit status 1, and creates nothing', async (t) => {
      const dir = dataDir(t);
      const short = await createUser(dir, 'dave@example.com', 'tr0ub4dor&3');
      assert.equal(short.code, 1);
      assert.equal(short.stderr, 'create-user: password: Password must be at least 15 characters long.\n');
      const common = await createUser(dir, 'dave@example.com', 'passwordpassword');
      assert.equal(common.code, 1);
      assert.match(common.stderr, /^create-user: password: This password is too common/);
      const personal = await createUser(dir, 'dave.jones@example.com', 'davejonesdavejones');
      assert.equal(personal.code, 1);
      assert.match(personal.stderr, /^create-user: password: Password must not be based on your email address\.$/m);
      assert.equal((await cli(dir, ['list-users'])).stdout, '0 users\n');
    });

    it('applies PASSWORD_MIN_LENGTH from the configuration, as the app does', async (t) => {
      const dir = dataDir(t);
      const refused = await cli(dir, ['create-user', '--email', 'erin@example.com'], { stdin: `${GOOD}\n`, env: { PASSWORD_MIN_LENGTH: '30' } });
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr, 'create-user: password: Password must be at least 30 characters long.\n');
    });

    it('refuses an address already registered, in any case, with exit status 1', async (t) => {
      const dir = dataDir(t);
      assert.equal((await createUser(dir, 'frank@example.com')).code, 0);
      const again = await createUser(dir, 'FRANK@example.COM', 'another long passphrase');
      assert.equal(again.code, 1);
      assert.equal(again.stderr, 'create-user: FRANK@example.COM is already registered\n');
      const username = await createUser(dir, 'frank2@example.com', GOOD, ['--username', 'frank']);
      assert.equal(username.code, 0);
      const taken = await createUser(dir, 'frank3@example.com', GOOD, ['--username', 'Frank']);
      assert.equal(taken.code, 1);
      assert.equal(taken.stderr, 'create-user: the username Frank is already registered\n');
    });

    it('refuses an invalid address or username before reading a password', async (t) => {
      const dir = dataDir(t);
      const run = await cli(dir, ['create-user', '--email', 'v@x.io\r\nBcc: a@evil.io', '--username', 'no spaces']);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        'create-user: email: Email address must not contain control characters such as line breaks or NUL.\n' +
          'create-user: username: Username may contain only letters, digits, "_", "." and "-".\n',
      );
    });

    it('finding 13: creates an account with --username and no --email, which logs in by its username', async (t) => {
      const dir = dataDir(t);
      const run = await cli(dir, ['create-user', '--username', 'Dan_the_Man'], { stdin: `${GOOD}\n` });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'created user 1 (username Dan_the_Man)\n');
      assert.equal(
        (await cli(dir, ['list-users'])).stdout,
        'id  email  username     name         status\n' +
          '1   -      Dan_the_Man  Dan_the_Man  active\n',
      );
      const { accounts } = library(t, dir);
      const login = await accounts.authenticate({ login: 'dan_the_man', password: GOOD });
      assert.equal(login.ok && login.user.email, null);
      // As the attacker: a username that is an address, or another account's once canonical.
      const address = await cli(dir, ['create-user', '--username', 'dan@example.com'], { stdin: `${GOOD}\n` });
      assert.equal(address.code, 1);
      assert.equal(address.stderr, 'create-user: username: Username must not contain "@": a name with "@" is read as an email address.\n');
      const fullwidth = await cli(dir, ['create-user', '--username', 'ＤＡＮ_the_man'], { stdin: `${GOOD}\n` });
      assert.equal(fullwidth.code, 1);
      assert.equal(fullwidth.stderr, 'create-user: the username ＤＡＮ_the_man is already registered\n');
      assert.match((await cli(dir, ['list-users'])).stdout, /^id.*\n1 .*\n$/); // still one account
    });

    it('fails clearly when stdin is empty', async (t) => {
      const run = await cli(dataDir(t), ['create-user', '--email', 'gina@example.com'], { stdin: '' });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^create-user: no password on standard input/);
    });

    it('prompts twice without echo on a terminal, with backspace, escape sequences, and Ctrl-C', { skip: !existsSync(PYTHON) && 'needs /usr/bin/python3 for a pseudo-terminal' }, async (t) => {
      const dir = dataDir(t);
      // A typo erased with backspace, and an arrow key (ESC [ D) that must not end up in the password.
      const created = await onTerminal(dir, ['create-user', '--email', 'hal@example.com'], [`${GOOD}X\x7f\r`, `correct horse \x1b[Dbattery staple\r`]);
      assert.equal(created.code, 0, created.output);
      // The rule first, then the prompts; nothing echoed.
      assert.equal(created.output, `${RULE}\r\nPassword: \r\nPassword (again): \r\ncreated user 1 <hal@example.com>\r\n`);
      const { accounts } = library(t, dir);
      assert.equal((await accounts.authenticate({ login: 'hal@example.com', password: GOOD })).ok, true);

      // Entries that differ, three times: the command gives up.
      const mismatch = await onTerminal(dir, ['create-user', '--email', 'ida@example.com'], [`${GOOD}\r`, `${GOOD}!\r`, `${GOOD}\r`, `${GOOD}!\r`, `${GOOD}\r`, `${GOOD}!\r`]);
      assert.equal(mismatch.code, 1, mismatch.output);
      assert.match(mismatch.output, /create-user: the two entries do not match; try again \(2 tries left\)/);
      assert.match(mismatch.output, /create-user: the two entries do not match \(no tries left\)\r\n$/);

      const pasted = await onTerminal(dir, ['create-user', '--email', 'joe@example.com'], [`${GOOD}\r${GOOD}\r`]); // both entries in one paste
      assert.equal(pasted.code, 0, pasted.output);

      const interrupted = await onTerminal(dir, ['create-user', '--email', 'ida@example.com'], ['correct hor\x03']);
      assert.equal(interrupted.code, 130);
      assert.equal(interrupted.output, `${RULE}\r\nPassword: \r\ninterrupted\r\n`);
      assert.deepEqual((await cli(dir, ['list-users'])).stdout.split('\n').map((line) => line.split(' ')[0]), ['id', '1', '2', '']); // hal and joe only
    });

    it('on a terminal, shows the rule first and asks again after a refused password instead of exiting', { skip: !existsSync(PYTHON) && 'needs /usr/bin/python3 for a pseudo-terminal' }, async (t) => {
      const dir = dataDir(t);
      // A short password, then a good one typed twice.
      const run = await onTerminal(dir, ['create-user', '--email', 'kim@example.com'], ['too short\r', `${GOOD}\r`, `${GOOD}\r`]);
      assert.equal(run.code, 0, run.output);
      assert.equal(
        run.output,
        `${RULE}\r\nPassword: \r\ncreate-user: password must be at least 15 characters long; try again (2 tries left)\r\nPassword: \r\nPassword (again): \r\ncreated user 1 <kim@example.com>\r\n`,
        'the refused password is not asked for a second time; the rule comes before any prompt',
      );
      const { accounts } = library(t, dir);
      assert.equal((await accounts.authenticate({ login: 'kim@example.com', password: GOOD })).ok, true);
      // As the attacker of the policy: three refused passwords end the command, creating nothing.
      const refused = await onTerminal(dir, ['create-user', '--email', 'lee@example.com'], ['password\r', 'still short\r', 'short\r']);
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, /create-user: password must be at least 15 characters long \(no tries left\)\r\n$/);
      assert.deepEqual((await cli(dir, ['list-users'])).stdout.split('\n').map((line) => line.split(' ')[0]), ['id', '1', '']);
    });
  });

  describe('list-users', () => {
    it('prints 0 users for an empty database', async (t) => {
      const run = await cli(dataDir(t), ['list-users']);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, '0 users\n');
    });

    it('prints a header, then id, email, username, name and status of each user in aligned columns', async (t) => {
      const dir = dataDir(t);
      await createUser(dir, 'ann@example.com', GOOD, ['--name', 'Ann Žižek', '--username', 'ann']);
      await createUser(dir, 'bartholomew@example.com', GOOD, ['--name', 'Bart']);
      const { accounts, users } = library(t, dir);
      await accounts.deactivate((await users.getUserByLogin('bartholomew@example.com'))!.id);
      const run = await cli(dir, ['list-users']);
      assert.equal(run.code, 0);
      assert.equal(
        run.stdout,
        'id  email                    username  name       status\n' +
          '1   ann@example.com          ann       Ann Žižek  active\n' +
          '2   bartholomew@example.com  -         Bart       inactive\n',
      );
    });
  });

  describe('revoke-sessions', () => {
    it("ends every session and remember-me login of the user, and no one else's", async (t) => {
      const dir = dataDir(t);
      await createUser(dir, 'kate@example.com');
      await createUser(dir, 'liam@example.com');
      const { users, manager } = library(t, dir);
      const kate = (await users.getUserByLogin('kate@example.com'))!;
      const liam = (await users.getUserByLogin('liam@example.com'))!;
      await loginTestUser(manager, kate, { remember: true });
      await loginTestUser(manager, kate, { remember: true });
      await loginTestUser(manager, kate);
      await loginTestUser(manager, liam, { remember: true });
      assert.equal((await manager.listUserSessions(kate.id)).length, 3);

      const run = await cli(dir, ['revoke-sessions', '--email', 'KATE@example.com']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'revoked 3 sessions and 2 remember-me logins of user 1 <kate@example.com>\n');
      assert.deepEqual(await manager.listUserSessions(kate.id), []);
      assert.equal((await manager.listUserSessions(liam.id)).length, 1);

      const again = await cli(dir, ['revoke-sessions', '--email', 'kate@example.com']);
      assert.equal(again.stdout, 'revoked 0 sessions and 0 remember-me logins of user 1 <kate@example.com>\n');
    });

    it('finding 13: ends the sessions of an account with only a username, named by --username in any case', async (t) => {
      const dir = dataDir(t);
      assert.equal((await cli(dir, ['create-user', '--username', 'dan'], { stdin: `${GOOD}\n` })).code, 0);
      await createUser(dir, 'liam@example.com');
      const { users, manager } = library(t, dir);
      const dan = (await users.getUserByLogin('dan'))!;
      const liam = (await users.getUserByLogin('liam@example.com'))!;
      await loginTestUser(manager, dan, { remember: true });
      await loginTestUser(manager, dan);
      await loginTestUser(manager, liam);
      const run = await cli(dir, ['revoke-sessions', '--username', 'DAN']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'revoked 2 sessions and 1 remember-me login of user 1 (username dan)\n');
      assert.deepEqual(await manager.listUserSessions(dan.id), []);
      assert.equal((await manager.listUserSessions(liam.id)).length, 1);
      const unknown = await cli(dir, ['revoke-sessions', '--username', 'nobody']);
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr, 'revoke-sessions: no account with the username nobody\n');
      const address = await cli(dir, ['revoke-sessions', '--username', 'liam@example.com']); // an address is not a username
      assert.equal(address.code, 1);
      assert.match(address.stderr, /^revoke-sessions: username: Username must not contain "@"/);
      assert.equal((await manager.listUserSessions(liam.id)).length, 1);
    });

    it('refuses an unknown or invalid address with exit status 1', async (t) => {
      const dir = dataDir(t);
      const unknown = await cli(dir, ['revoke-sessions', '--email', 'nobody@example.com']);
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr, 'revoke-sessions: no account with the email address nobody@example.com\n');
      const invalid = await cli(dir, ['revoke-sessions', '--email', 'nobody']);
      assert.equal(invalid.code, 1);
      assert.equal(invalid.stderr, 'revoke-sessions: email: Email address must contain exactly one "@".\n');
    });
  });

  describe('unlock', () => {
    it('finding 8: after an attacker locked the account, unlock --email or --username clears the failed-login counter and the owner logs in (SEC-51, SEC-52)', async (t) => {
      const dir = dataDir(t);
      await createUser(dir, 'kate@example.com', GOOD, ['--username', 'kate']);
      const { users, store } = library(t, dir);
      // The app's login throttle (same secret and scope, so the same counter), locking at 10 to keep the test short.
      const throttle = createLoginThrottle({ store, secret: SECRET, account: { freeFailures: 10, hardLimit: 10 } });
      const accounts = createAccounts({ users, throttle, appName: 'Latchkey' });
      const lock = async () => {
        for (let i = 0; i < 10; i++) await accounts.authenticate({ login: 'kate@example.com', password: `guess ${i} of the attacker` });
        assert.deepEqual(await accounts.authenticate({ login: 'kate', password: GOOD }), { ok: false, reason: 'throttled', retryAfter: 900 });
      };
      await lock();
      const run = await cli(dir, ['unlock', '--email', 'KATE@example.com']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'cleared the failed-login counter of user 1 <kate@example.com>: it can log in again at once\n');
      assert.ok((await accounts.authenticate({ login: 'kate@example.com', password: GOOD })).ok);
      await lock();
      const byName = await cli(dir, ['unlock', '--username', 'Kate']);
      assert.equal(byName.code, 0, byName.stderr);
      assert.ok((await accounts.authenticate({ login: 'kate', password: GOOD })).ok);
    });

    it('refuses both or neither option with exit status 2, and an unknown or invalid account with exit status 1', async (t) => {
      const dir = dataDir(t);
      for (const args of [['unlock'], ['unlock', '--email', 'a@example.com', '--username', 'a']]) {
        const run = await cli(dir, args);
        assert.equal(run.code, 2, args.join(' '));
        assert.match(run.stderr, /^unlock: give exactly one of --email and --username\nusage: npm run cli -- unlock --email E \| --username U/);
      }
      const unknown = await cli(dir, ['unlock', '--username', 'nobody']);
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr, 'unlock: no account with the username nobody\n');
      const invalid = await cli(dir, ['unlock', '--email', 'nobody']);
      assert.equal(invalid.code, 1);
      assert.equal(invalid.stderr, 'unlock: email: Email address must contain exactly one "@".\n');
      assertNoStack(invalid);
    });
  });

  describe('import-flask-users', () => {
    it('names what a skipped row clashes with: its address or username and the account that has it, never the hash', async (t) => {
      const dir = dataDir(t);
      assert.equal((await createUser(dir, 'Alice@example.com')).code, 0); // user 1, made before the import
      const run = await cli(dir, ['import-flask-users', TUTORIAL_DB]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^  row 1: already registered: the email alice@example\.com is user 1's$/m, 'a clash with an account that was there before');
      assert.match(run.stdout, /^  row 5: already registered: the email ALICE@Example\.COM is user 1's$/m);
      assert.doesNotMatch(run.stdout + run.stderr, /pbkdf2|scrypt|\$[0-9a-f]{16,}/, 'no hash is ever printed');
    });

    it('shows the progress of a large import on stderr, every 1000 rows, and a summary; stdout keeps the report', async (t) => {
      const dir = dataDir(t);
      const file = join(dir, 'large.db');
      const db = new DatabaseSync(file);
      db.exec('CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT, password TEXT)');
      const hash = `pbkdf2:sha256:1000$saltsalt$${pbkdf2Sync(GOOD, 'saltsalt', 1000, 32, 'sha256').toString('hex')}`;
      const insert = db.prepare('INSERT INTO user (email, password) VALUES (?, ?)');
      db.exec('BEGIN');
      for (let i = 1; i <= 2500; i++) insert.run(i === 2500 ? 'user1@example.com' : `user${i}@example.com`, hash); // the last row clashes with the first
      db.exec('COMMIT');
      db.close();
      const run = await cli(dir, ['import-flask-users', file]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^imported 2499 users, skipped 1\n  row 2500: already registered: the email user1@example\.com is user 1's \(imported from row 1 of this file\)\n$/);
      assert.match(run.stderr, /^import-flask-users: 1000 of 2500 rows \(1000 imported, 0 skipped\)$/m);
      assert.match(run.stderr, /^import-flask-users: 2000 of 2500 rows \(2000 imported, 0 skipped\)$/m);
      assert.match(run.stderr, /\nimport-flask-users: done, 2500 rows in \d+\.\d s \(2499 imported, 1 skipped\)\n$/, 'the summary comes last');
    });

    it('imports the Flask-Login tutorial database and skips each unusable row with its reason', async (t) => {
      const dir = dataDir(t);
      const run = await cli(dir, ['import-flask-users', TUTORIAL_DB]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stdout,
        'imported 3 users, skipped 4\n' +
          '  row 4: not a password hash latchkey can verify (plain text?): never imported\n' +
          "  row 5: already registered: the email ALICE@Example.COM is user 1's (imported from row 1 of this file)\n" +
          '  row 6: werkzeug "sha256$" hash (one salted HMAC round, removed in werkzeug 3.0): latchkey cannot verify it; the user must reset the password\n' +
          '  row 7: Email address must contain exactly one "@".\n',
      );
      assert.doesNotMatch(run.stdout + run.stderr, /carolrocks/); // a plain-text password is never printed
      const listed = await cli(dir, ['list-users']);
      assert.equal(
        listed.stdout,
        'id  email              username  name                status\n' +
          '1   alice@example.com  -         Alice Liddell       active\n' +
          '2   zoe@example.org    -         Zoë Ångström-Núñez  active\n' +
          '3   bob@example.net    -         Bob                 active\n',
      );
    });

    it('imports nothing the second time', async (t) => {
      const dir = dataDir(t);
      assert.equal((await cli(dir, ['import-flask-users', TUTORIAL_DB])).code, 0);
      const again = await cli(dir, ['import-flask-users', TUTORIAL_DB]);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /^imported 0 users, skipped 7\n  row 1: already registered: the email alice@example.com is user 1's\n  row 2: already registered: the email zoe@example.org is user 2's\n  row 3: already registered: the email bob@example.net is user 3's\n/);
    });

    it('lets a Flask user log in with the original password, and the hash is argon2id afterwards', async (t) => {
      const dir = dataDir(t);
      assert.equal((await cli(dir, ['import-flask-users', TUTORIAL_DB])).code, 0);
      const { accounts, users } = library(t, dir);
      const before = (await users.getUserByLogin('alice@example.com'))!;
      assert.match(before.passwordHash, /^pbkdf2:sha256:260000\$[^$]{16}\$[0-9a-f]{64}$/); // stored as werkzeug wrote it

      assert.equal((await accounts.authenticate({ login: 'alice@example.com', password: 'correct horse battery stapler' })).ok, false);
      assert.match((await users.getUserByLogin('alice@example.com'))!.passwordHash, /^pbkdf2:/); // a failure rehashes nothing
      const login = await accounts.authenticate({ login: 'ALICE@example.com', password: GOOD });
      assert.equal(login.ok, true);
      assert.equal(login.ok && login.user.id, before.id);
      const after = (await users.getUserByLogin('alice@example.com'))!;
      assert.match(after.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.equal((await accounts.authenticate({ login: 'alice@example.com', password: GOOD })).ok, true); // and again, on argon2id

      // UTF-8 both ways: werkzeug hashed the UTF-8 bytes of a non-ASCII password; pbkdf2:sha512 too.
      assert.equal((await accounts.authenticate({ login: 'zoe@example.org', password: 'grüße aus köln 🦜 und mehr' })).ok, true);
      assert.equal((await accounts.authenticate({ login: 'bob@example.net', password: 'bobs very long passphrase' })).ok, true);
      assert.match((await users.getUserByLogin('bob@example.net'))!.passwordHash, /^\$argon2id\$/);
      // The plain-text row was not imported: there is nothing to log in to.
      assert.equal((await accounts.authenticate({ login: 'carol@example.com', password: 'carolrocks' })).ok, false);
      assert.equal(await users.getUserByLogin('carol@example.com'), null);
    });

    it('imports the microblog database: usernames kept, a row without an email by its username (finding 13), a row without a hash skipped', async (t) => {
      const dir = dataDir(t);
      const run = await cli(dir, ['import-flask-users', MICROBLOG_DB]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stdout,
        'imported 5 users, skipped 1\n' +
          '  row 6: no password hash\n' +
          '  row 3: imported without its username (Username must be 3 to 32 characters long.)\n',
      );
      const { accounts, users } = library(t, dir);
      const miguel = await accounts.authenticate({ login: 'miguel', password: GOOD }); // by username
      assert.equal(miguel.ok && miguel.user.email, 'miguel@example.com');
      assert.match((await users.getUserByLogin('miguel'))!.passwordHash, /^\$argon2id\$/);
      assert.equal((await accounts.authenticate({ login: 'susan@example.com', password: 'susans secret passphrase' })).ok, true);
      const kim = await accounts.authenticate({ login: 'kim@example.com', password: 'kims passphrase here' }); // the username was the address
      assert.equal(kim.ok && kim.user.username, null);
      assert.equal((await accounts.authenticate({ login: 'x@example.com', password: 'a passphrase for x' })).ok, true);
      const nomail = await accounts.authenticate({ login: 'nomail', password: 'no mail passphrase' });
      assert.equal(nomail.ok && nomail.user.email, null);
      assert.match((await cli(dir, ['import-flask-users', MICROBLOG_DB])).stdout, /^imported 0 users, skipped 6\n/);
    });

    it('finding 13: imports seed 002\'s database (a username, no email): its users log in by username with their werkzeug passwords', async (t) => {
      const dir = dataDir(t);
      const run = await cli(dir, ['import-flask-users', USERNAME_ONLY_DB]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stdout,
        'imported 3 users, skipped 3\n' +
          "  row 4: already registered: the username ＡＤＡ.lovelace is user 2's (imported from row 2 of this file)\n" +
          '  row 5: no email address, and the username cannot be kept (Username must be 3 to 32 characters long.)\n' +
          '  row 6: no email address, and the username cannot be kept (Username must not contain invisible formatting characters such as zero-width spaces or direction overrides.)\n',
      );
      assert.equal(
        (await cli(dir, ['list-users'])).stdout,
        'id  email            username      name          status\n' +
          '1   -                test_user     test_user     active\n' +
          '2   -                Ada.Lovelace  Ada.Lovelace  active\n' +
          '3   kim@example.com  -             kim           active\n',
      );
      const { accounts, users } = library(t, dir);
      assert.match((await users.getUserByLogin('test_user'))!.passwordHash, /^pbkdf2:sha256:260000\$/); // as werkzeug wrote it
      const login = await accounts.authenticate({ login: 'test_user', password: 'test_password' }); // the walkthrough's own user
      assert.ok(login.ok);
      assert.equal(login.user.email, null);
      assert.match((await users.getUserByLogin('test_user'))!.passwordHash, /^\$argon2id\$/);
      assert.equal((await accounts.authenticate({ login: 'test_user', password: 'test_password' })).ok, true); // and again, on argon2id
      assert.equal((await accounts.authenticate({ login: 'ADA.LOVELACE', password: 'analytical engine notes' })).ok, true);
      // Row 4 was a fullwidth "ＡＤＡ.lovelace": it did not take over Ada's account, nor get one of its own.
      assert.equal((await accounts.authenticate({ login: 'ada.lovelace', password: 'someone elses passphrase' })).ok, false);
      assert.equal((await accounts.authenticate({ login: 'kim@example.com', password: 'kims passphrase here' })).ok, true);
      assert.match((await cli(dir, ['import-flask-users', USERNAME_ONLY_DB])).stdout, /^imported 0 users, skipped 6\n  row 1: already registered: the username \S+ is user 1's\n  row 2: already registered: the username \S+ is user 2's\n  row 3: already registered: the email \S+ is user 3's\n/);
    });

    it('imports werkzeug, Django, bcrypt, scrypt and argon2 hashes from a users table, and each user logs in', async (t) => {
      const dir = dataDir(t);
      const file = join(dir, 'mixed.db');
      const db = new DatabaseSync(file);
      db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, password TEXT, active BOOLEAN)');
      const picked = ['werkzeug-pbkdf2', 'werkzeug-scrypt', 'django-pbkdf2', 'bcrypt', 'argon2id', 'argon2i', 'argon2d', 'scrypt'].map(
        (scheme) => vectors.find((v) => v.scheme === scheme && v.password.length >= 8)!,
      );
      for (const [i, v] of picked.entries()) db.prepare('INSERT INTO users (email, password, active) VALUES (?, ?, ?)').run(`${v.scheme}@example.com`, v.hash, i === 0 ? 0 : 1);
      db.close();
      const run = await cli(dir, ['import-flask-users', file]);
      assert.equal(run.stdout, 'imported 8 users, skipped 0\n', run.stderr);
      const { accounts, users } = library(t, dir);
      assert.equal((await users.getUserByLogin('werkzeug-pbkdf2@example.com'))!.isActive, false); // the active column is kept
      for (const v of picked.slice(1)) {
        const login = await accounts.authenticate({ login: `${v.scheme}@example.com`, password: v.password });
        assert.equal(login.ok, true, v.scheme);
        assert.match((await users.getUserByLogin(`${v.scheme}@example.com`))!.passwordHash, /^\$argon2id\$/, v.scheme);
      }
    });

    it('reads a user table with only a username column, using it as the address when it is one (finding 13)', async (t) => {
      const dir = dataDir(t);
      const file = join(dir, 'usernames.db');
      const werkzeug = (password: string) => `pbkdf2:sha256:1000$saltsalt$${pbkdf2Sync(password, 'saltsalt', 1000, 32, 'sha256').toString('hex')}`;
      const db = new DatabaseSync(file);
      db.exec('CREATE TABLE "User" (id INTEGER PRIMARY KEY, username TEXT, password TEXT)');
      const insert = db.prepare('INSERT INTO "User" (username, password) VALUES (?, ?)');
      insert.run('pat@example.com', werkzeug(GOOD));
      insert.run('sam', werkzeug(GOOD));
      insert.run('lee@example.com', createHash('md5').update(GOOD).digest('hex'));
      insert.run('max@example.com', `plain$$${GOOD}`);
      insert.run('kai@example.com', `pbkdf2:sha256$saltsalt$${pbkdf2Sync(GOOD, 'saltsalt', 260000, 32, 'sha256').toString('hex')}`);
      insert.run('ben@example.com', Buffer.from(werkzeug('bens passphrase'))); // stored as a BLOB
      db.close();
      const run = await cli(dir, ['import-flask-users', file]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stdout,
        'imported 3 users, skipped 3\n' +
          '  row 3: an unsalted hex digest (MD5 or SHA): latchkey cannot verify it; the user must reset the password\n' +
          '  row 4: plain-text password (werkzeug method="plain"): never imported\n' +
          '  row 5: werkzeug pbkdf2 hash without an iteration count (its meaning changed between werkzeug versions): latchkey cannot verify it; the user must reset the password\n',
      );
      assert.doesNotMatch(run.stdout, new RegExp(GOOD));
      const { accounts } = library(t, dir);
      const pat = await accounts.authenticate({ login: 'pat@example.com', password: GOOD });
      assert.equal(pat.ok && pat.user.name, 'pat');
      assert.equal((await accounts.authenticate({ login: 'ben@example.com', password: 'bens passphrase' })).ok, true);
      const sam = await accounts.authenticate({ login: 'sam', password: GOOD });
      assert.equal(sam.ok && sam.user.username, 'sam');
    });

    it('opens the Flask database read-only and leaves it byte for byte unchanged', async (t) => {
      const dir = dataDir(t);
      const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
      const before = [digest(TUTORIAL_DB), digest(MICROBLOG_DB), digest(USERNAME_ONLY_DB)];
      await cli(dir, ['import-flask-users', TUTORIAL_DB]);
      await cli(dir, ['import-flask-users', MICROBLOG_DB]);
      await cli(dir, ['import-flask-users', USERNAME_ONLY_DB]);
      assert.deepEqual([digest(TUTORIAL_DB), digest(MICROBLOG_DB), digest(USERNAME_ONLY_DB)], before);
      assert.equal(existsSync(`${TUTORIAL_DB}-journal`) || existsSync(`${TUTORIAL_DB}-wal`), false);
    });

    it('refuses a missing file, a file that is not SQLite, and a database without a usable user table, with exit status 1', async (t) => {
      const dir = dataDir(t);
      const cases: Array<[string, (file: string) => void, RegExp]> = [
        ['missing.db', () => {}, /^import-flask-users: .*missing\.db: no such file\n$/],
        ['notes.txt', (file) => writeFileSync(file, 'id,email,password\n1,a@b.co,hunter2\n'), /^import-flask-users: .*notes\.txt: not a SQLite database \(file is not a database\)\n$/],
        ['posts.db', (file) => sqlite(file, 'CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT)'), /^import-flask-users: .*posts\.db: no table named "user" or "users" \(tables: post\)\n$/],
        ['nopassword.db', (file) => sqlite(file, 'CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT, name TEXT)'), /^import-flask-users: .*: table "user" has neither a "password_hash" nor a "password" column\n$/],
        ['noidentifier.db', (file) => sqlite(file, 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, password_hash TEXT)'), /^import-flask-users: .*: table "users" has neither an "email" nor a "username" column\n$/],
        ['.', () => {}, /^import-flask-users: .*: not a file\n$/],
      ];
      for (const [name, make, expected] of cases) {
        const file = join(dir, name);
        make(file);
        const run = await cli(dir, ['import-flask-users', file]);
        assert.equal(run.code, 1, name);
        assert.match(run.stderr, expected, name);
        assert.equal(run.stdout, '', name);
      }
      // Nothing was imported, and the app's database was not even created.
      assert.equal(existsSync(join(dir, 'app.db')), false);
    });
  });

  describe('the hash format check', () => {
    it('accepts exactly the stored strings the hasher can verify', async () => {
      const hasher = new PasswordHasher();
      const samples = new Set<string>(['', 'hunter2', 'plain$$hunter2', createHash('md5').update('x').digest('hex')]);
      for (const { hash } of vectors) {
        samples.add(hash);
        samples.add(hash.slice(0, -1));
        samples.add(`${hash}0`);
        samples.add(hash.replace(/\$2([aby])\$\d\d\$/, '$$2$1$$17$$')); // bcrypt cost past 16
        samples.add(hash.replace(/:1000\$/, ':10000001$')); // PBKDF2 past 10 000 000 iterations
        samples.add(hash.replace(/^scrypt:16384:/, 'scrypt:16000:')); // N not a power of two
        samples.add(hash.replace(/m=\d+,t=\d+/, 'm=1048576,t=8')); // argon2 past 4 GiB·passes
        samples.add(hash.replace('$v=19$', '$v=16$'));
        samples.add(hash.replace(/^pbkdf2:(\w+):\d+\$/, 'pbkdf2:$1$'));
      }
      const tutorial = new DatabaseSync(TUTORIAL_DB, { readOnly: true });
      for (const row of tutorial.prepare('SELECT password FROM user').all()) samples.add(row.password as string);
      tutorial.close();
      for (const stored of samples) {
        // A hash it can read answers a wrong password with needsRehash false; an unreadable one with true.
        const { ok, needsRehash } = await hasher.verify('not the password', stored);
        assert.equal(ok, false);
        assert.equal(checkHashFormat(stored).ok, !needsRehash, `${stored.slice(0, 40)}…: format check and hasher disagree`);
      }
    });
  });
});

function sqlite(file: string, sql: string): void {
  const db = new DatabaseSync(file);
  db.exec(sql);
  db.close();
}

/**
 * Runs the CLI on a pseudo-terminal (Python's `pty`, as Node has none) and types each chunk after
 * the next "Password" prompt appears; returns everything the terminal showed.
 */
async function onTerminal(dir: string, args: string[], keys: string[]): Promise<{ code: number | null; output: string }> {
  const driver = `
import json, os, pty, select, sys, time
keys = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b''
def pump(until):
    global out
    deadline = time.time() + 20
    while not until() and time.time() < deadline:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            out += data
for i, chunk in enumerate(keys):
    pump(lambda: out.count(b'Password') > i)
    os.write(fd, chunk.encode('utf-8'))
pump(lambda: False)
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'output': out.decode('utf-8')}))
`;
  const env = { PATH: process.env.PATH ?? '', DATA_DIR: dir, SECRET_KEY: SECRET, MALLOC_ARENA_MAX: '1' };
  const child = spawn(PYTHON, ['-c', driver, JSON.stringify(keys), process.execPath, '--conditions=source', CLI, ...args], { cwd: ROOT, env });
  const run = await collect(child, null);
  if (run.code !== 0) throw new Error(`the terminal driver failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { code: number | null; output: string };
}
