/**
 * The commands of the reference app's command line. Each takes the parsed invocation and the
 * opened accounts, writes what it did to `out`, and throws {@link CliError} for what went wrong;
 * app/cli.ts owns the configuration, the stores and the exit status.
 *
 * @module app/cli/commands
 */
import { canonicalizeEmail, canonicalizeUsername } from 'latchkey';
import type { Accounts, LoginManager, UserRecord, UserStore } from 'latchkey';
import { commandUsage } from './args.ts';
import { CliError } from './errors.ts';
import type { FlaskUsers } from './flask-users.ts';
import { importFlaskUsers } from './import-flask.ts';

/** What the commands work on: the app's own stores, opened by app/cli.ts. */
export interface CliContext {
  readonly accounts: Accounts;
  readonly users: UserStore;
  readonly manager: LoginManager<UserRecord>;
  readonly out: (line: string) => void;
  /** Where progress goes (stderr): lines for a person watching, not for a script reading stdout. */
  readonly progress: (line: string) => void;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "user 1 <ann@example.com>", or "user 2 (username dan)" for an account without an address. */
const describeUser = (user: UserRecord): string => `user ${user.id} ${user.email === null ? `(username ${user.username})` : `<${user.email}>`}`;

/**
 * Checks the identifiers before the password is asked for, so that nobody types a password twice
 * to learn that the address is taken; `register` still decides (the unique index, R-04).
 */
export async function checkNewAccount(context: CliContext, email: string | undefined, username: string | undefined): Promise<void> {
  const problems: string[] = [];
  if (email !== undefined) {
    const canonical = canonicalizeEmail(email);
    if (!canonical.ok) problems.push(`create-user: email: ${canonical.reason}`);
    else if ((await context.users.getUserByLogin(canonical.value)) !== null) problems.push(`create-user: ${email} is already registered`);
  }
  if (username !== undefined && username !== '') {
    const checked = canonicalizeUsername(username);
    if (!checked.ok) problems.push(`create-user: username: ${checked.reason}`);
    else if ((await context.users.getUserByLogin(checked.value)) !== null) problems.push(`create-user: the username ${username} is already registered`);
  }
  if (problems.length > 0) throw new CliError(problems.join('\n'));
}

/** `create-user`: registration under the full password policy, with an email address, a username or both. */
export async function createUser(context: CliContext, input: { email?: string; name?: string; username?: string; password: string }): Promise<void> {
  const username = input.username === '' ? undefined : input.username;
  const email = input.email ?? '';
  // Registration needs a display name; the CLI defaults it as the Flask import does.
  const name = input.name ?? username ?? email.slice(0, Math.max(email.lastIndexOf('@'), 0)).trim();
  const result = await context.accounts.register({ email: input.email, name, username, password: input.password });
  if (result.ok) {
    context.out('user' in result ? `created ${describeUser(result.user)}` : `created; the account is usable once ${input.email} is verified`);
    return;
  }
  if (result.reason === 'exists') {
    const taken = [input.email, username === undefined ? undefined : `the username ${username}`].filter((part) => part !== undefined);
    throw new CliError(`create-user: ${taken.join(' or ')} is already registered`);
  }
  if (result.reason === 'throttled') throw new CliError(`create-user: too many registrations; try again in ${result.retryAfter} s`);
  throw new CliError(Object.entries(result.errors).map(([field, reason]) => `create-user: ${field}: ${reason}`).join('\n'));
}

/** `list-users`: every account, in id order, as aligned columns under a header. */
export async function listUsers(context: CliContext): Promise<void> {
  const page = 1000;
  const rows: string[][] = [];
  for (let offset = 0; ; offset += page) {
    const batch = await context.users.listUsers({ limit: page, offset });
    for (const user of batch) rows.push([user.id, user.email ?? '-', user.username ?? '-', user.name, user.isActive ? 'active' : 'inactive']);
    if (batch.length < page) break;
  }
  if (rows.length === 0) {
    context.out('0 users');
    return;
  }
  const table = [['id', 'email', 'username', 'name', 'status'], ...rows];
  const width = (cell: string): number => [...cell].length;
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => width(row[column]!))));
  for (const row of table) {
    context.out(row.map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - width(cell)))).join('  '));
  }
}

/** `revoke-sessions`: "log out everywhere" for one account, named by its email address or its username. */
export async function revokeSessions(context: CliContext, by: { email?: string; username?: string }): Promise<void> {
  const [field, given, canonical] = by.email !== undefined
    ? ['email', `the email address ${by.email}`, canonicalizeEmail(by.email)] as const
    : ['username', `the username ${by.username}`, canonicalizeUsername(by.username)] as const;
  if (!canonical.ok) throw new CliError(`revoke-sessions: ${field}: ${canonical.reason}`);
  // getUserByLogin matches either identifier; the canonical forms never meet (only addresses have "@").
  const user = await context.users.getUserByLogin(canonical.value);
  if (user === null) throw new CliError(`revoke-sessions: no account with ${given}`);
  const ended = await context.manager.revokeUserSessions(user.id);
  context.out(`revoked ${plural(ended.sessions, 'session')} and ${plural(ended.rememberTokens, 'remember-me login')} of ${describeUser(user)}`);
}

/** `unlock`: clears the account's failed-login counter (SEC-51), found by exactly one of its address and its username. */
export async function unlock(context: CliContext, options: { email?: string; username?: string }): Promise<void> {
  const { email, username } = options;
  if ((email === undefined) === (username === undefined)) throw new CliError('unlock: give exactly one of --email and --username', 2, commandUsage('unlock'));
  const [what, given, canonical] = email !== undefined
    ? ['email address', email, canonicalizeEmail(email)] as const
    : ['username', username as string, canonicalizeUsername(username)] as const;
  if (!canonical.ok) throw new CliError(`unlock: ${what === 'username' ? 'username' : 'email'}: ${canonical.reason}`);
  const user = await context.users.getUserByLogin(canonical.value);
  // getUserByLogin matches both kinds; an address never is a username (usernames have no "@").
  if (user === null) throw new CliError(`unlock: no account with the ${what} ${given}`);
  await context.accounts.unlockAccount(user.id);
  context.out(`cleared the failed-login counter of user ${user.id} <${user.email}>: it can log in again at once`);
}

/** `import-flask-users`: the summary, then one line per skipped row and per note. */
export async function importUsers(context: CliContext, source: FlaskUsers): Promise<void> {
  const started = Date.now();
  const report = await importFlaskUsers(source, context.accounts, context.users, {
    onProgress: ({ done, total, imported, skipped }) => {
      const counts = `${plural(imported, 'imported', 'imported')}, ${skipped} skipped`;
      if (done < total) context.progress(`import-flask-users: ${done} of ${total} rows (${counts})`);
      else context.progress(`import-flask-users: done, ${plural(total, 'row')} in ${((Date.now() - started) / 1000).toFixed(1)} s (${counts})`);
    },
  });
  context.out(`imported ${plural(report.imported, 'user')}, skipped ${report.skipped.length}`);
  for (const { id, reason } of report.skipped) context.out(`  row ${id}: ${reason}`);
  for (const { id, note } of report.notes) context.out(`  row ${id}: ${note}`);
}
