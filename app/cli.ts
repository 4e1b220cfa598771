/**
 * The reference app's command line (the app's HTTP contract, "Command line"): `npm run cli -- <command>`.
 * It reads the app's configuration (`loadConfig(process.env)`: DATA_DIR, DATABASE_URL, …), opens
 * the same stores, and goes through latchkey's public API only: registration under the password
 * policy, the user store, the login manager's "log out everywhere", `importUser` for foreign
 * hashes, `unlockAccount` on the app's login throttle. Output is for people and scripts: what was done on stdout, one line per problem on
 * stderr, never a stack trace; exit status 0 done, 1 failed, 2 wrong usage, 130 interrupted.
 *
 * @module app/cli
 */
import { createAccounts, createLoginManager, createPasswordPolicy, isServiceUnavailable } from 'latchkey';
import type { PasswordPolicy, UserRecord } from 'latchkey';
import { APP_NAME, loadConfig } from './config.ts';
import { openStores } from './stores.ts';
import { createThrottles } from './throttles.ts';
import { parseCommandLine, type Invocation } from './cli/args.ts';
import { CliError } from './cli/errors.ts';
import { checkNewAccount, createUser, importUsers, listUsers, revokeSessions, unlock, type CliContext } from './cli/commands.ts';
import { readFlaskUsers, type FlaskUsers } from './cli/flask-users.ts';
import { readNewPassword } from './cli/password-input.ts';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

/** Runs one invocation; resolves to the exit status. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const invocation = parseCommandLine(argv);
  if (invocation.command === 'help') {
    out(invocation.text);
    return 0;
  }
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    for (const problem of loaded.problems) err(`configuration: ${problem}`);
    return 1;
  }
  const { config } = loaded;
  for (const warning of config.warnings) err(warning);

  // The Flask file is read before our database is opened: a bad file changes nothing.
  let source: FlaskUsers | null = null;
  if (invocation.command === 'import-flask-users') source = readFlaskUsers(invocation.positionals[0] as string);

  const stores = await openStores(config);
  try {
    const manager = createLoginManager<UserRecord>({
      store: stores.sessions,
      secret: config.secretKey,
      loadUser: (id) => stores.users.getUserById(id),
      idleTimeout: config.idleTimeout,
      absoluteTimeout: config.absoluteTimeout,
      rememberDuration: config.rememberDuration,
    });
    const policy = createPasswordPolicy({ minLength: config.passwordMinLength, appName: APP_NAME });
    const accounts = createAccounts({
      users: stores.users,
      // The web app's login throttle, same store and keys, so that `unlock` clears the counter the
      // app reads; the command line itself never checks a password.
      throttle: createThrottles(config, stores.sessions).login,
      revokeSessions: async (id) => (await manager.revokeUserSessions(id)).sessions,
      policy,
    });
    const context: CliContext = { accounts, users: stores.users, manager, out, progress: err };
    await run(invocation, context, source, policy);
    return 0;
  } finally {
    // The work is committed or failed already; a failing close must not hide which.
    await stores.close().catch(() => {});
  }
}

async function run(invocation: Exclude<Invocation, { command: 'help' }>, context: CliContext, source: FlaskUsers | null, policy: PasswordPolicy): Promise<void> {
  const { options } = invocation;
  switch (invocation.command) {
    case 'create-user': {
      await checkNewAccount(context, options.email, options.username);
      const who = { email: options.email ?? null, name: options.name ?? null, username: options.username ?? null };
      const password = await readNewPassword({
        rule: passwordRule(policy.minLength),
        check: (candidate) => {
          const checked = policy.check(candidate, who);
          return checked.ok ? null : checked.reason;
        },
      });
      await createUser(context, { email: options.email, name: options.name, username: options.username, password });
      return;
    }
    case 'list-users':
      return listUsers(context);
    case 'revoke-sessions':
      return revokeSessions(context, { email: options.email, username: options.username });
    case 'unlock':
      return unlock(context, options);
    case 'import-flask-users':
      return importUsers(context, source as FlaskUsers);
  }
}

/** The rule, in words, before a person types a password (lower-case "password": see password-input.ts). */
export function passwordRule(minLength: number): string {
  return `The new password needs at least ${minLength} characters; a few unrelated words make a strong one. It must not be a common password or contain your email address, name or username.`;
}

/** One line for any failure: ours as written, the database's as "unavailable", the rest by message. */
export function describeError(error: unknown): string {
  if (isServiceUnavailable(error)) {
    const cause = (error as Error & { cause?: unknown }).cause;
    const detail = cause instanceof Error ? cause.message : error.message;
    return `error: the database is unavailable (${detail}); try again`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `error: ${message.split('\n')[0]}`;
}

if (import.meta.main) {
  // `npm run cli -- list-users | head -1`: a reader that went away is not an error worth a trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') err(describeError(error));
    process.exit(error.code === 'EPIPE' ? 0 : 1);
  });
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (error instanceof CliError) {
      err(error.message);
      if (error.detail !== null) err(error.detail);
      process.exitCode = error.exitCode;
    } else {
      err(describeError(error));
      process.exitCode = 1;
    }
  }
  // stdin may still be open (a pipe nobody closed, a terminal): it must not keep the process alive.
  if (!process.stdin.destroyed) process.stdin.destroy();
}
