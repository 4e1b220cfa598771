/**
 * The command line's grammar: the commands, their options, the usage text and the parsing of
 * `process.argv`, with every mistake turned into a {@link CliError} of exit status 2 (the usage
 * convention of BSD `sysexits` and GNU tools: 2 is "you called it wrong", 1 is "it failed").
 *
 * @module app/cli/args
 */
import { parseArgs } from 'node:util';
import { CliError } from './errors.ts';

interface CommandSpec {
  readonly synopsis: string;
  readonly summary: string;
  readonly options: Readonly<Record<string, { type: 'string'; required: boolean }>>;
  /** How many positional arguments, and their name in the synopsis. */
  readonly positionals: readonly string[];
  /** Options of which at least one must be given, and with `exclusive` at most one. */
  readonly oneOf?: { readonly options: readonly string[]; readonly exclusive: boolean };
}

const COMMANDS = {
  'create-user': {
    synopsis: 'create-user [--email E] [--name N] [--username U]',
    summary: 'creates an account with an email address, a username or both; the password is the first line of stdin, or prompted twice when stdin is a terminal',
    options: { email: { type: 'string', required: false }, name: { type: 'string', required: false }, username: { type: 'string', required: false } },
    positionals: [],
    oneOf: { options: ['email', 'username'], exclusive: false },
  },
  'list-users': {
    synopsis: 'list-users',
    summary: 'lists every account: id, email, username, name, active or inactive',
    options: {},
    positionals: [],
  },
  'revoke-sessions': {
    synopsis: 'revoke-sessions --email E | --username U',
    summary: 'ends every session and remember-me login of the account ("log out everywhere")',
    options: { email: { type: 'string', required: false }, username: { type: 'string', required: false } },
    positionals: [],
    oneOf: { options: ['email', 'username'], exclusive: true },
  },
  unlock: {
    synopsis: 'unlock --email E | --username U',
    summary: 'clears the failed-login throttle of the account: its delay or lock after too many wrong passwords',
    options: { email: { type: 'string', required: false }, username: { type: 'string', required: false } },
    positionals: [],
  },
  'import-flask-users': {
    synopsis: 'import-flask-users <users.db>',
    summary: "imports the users of a Flask-SQLAlchemy database (table user or users); werkzeug, Django, bcrypt and argon2 hashes keep working and become argon2id at each user's next login",
    options: {},
    positionals: ['users.db'],
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** A parsed command line. */
export type Invocation =
  | { readonly command: 'help'; readonly text: string }
  | { readonly command: CommandName; readonly options: Readonly<Record<string, string | undefined>>; readonly positionals: readonly string[] };

/** The full usage text. */
export function usage(): string {
  const lines = ['usage: npm run cli -- <command> [options]', '', 'commands:'];
  for (const spec of Object.values(COMMANDS)) lines.push(`  ${spec.synopsis}`, `      ${spec.summary}`);
  lines.push(
    '',
    'The configuration is the app\'s: DATA_DIR, DATABASE_URL, SESSION_STORE, PASSWORD_MIN_LENGTH, … (see app/config.ts).',
    'Exit status: 0 done, 1 failed (the reason is on stderr), 2 wrong usage, 130 interrupted.',
  );
  return lines.join('\n');
}

/** The usage of one command, for its usage errors. */
export function commandUsage(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  return `usage: npm run cli -- ${spec.synopsis}\n  ${spec.summary}`;
}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** `node:util` explains a bad option in two sentences; the first is the one a user needs. */
function firstSentence(message: string): string {
  const end = message.indexOf('. ');
  return end === -1 ? message : message.slice(0, end + 1);
}

/** Parses the arguments after the script name. Throws {@link CliError} (status 2) on misuse. */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined) throw new CliError('no command given', 2, usage());
  if (first === '--help' || first === '-h' || first === 'help') return { command: 'help', text: usage() };
  if (!isCommand(first)) {
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command "${first}"`;
    throw new CliError(what, 2, usage());
  }
  if (rest.includes('--help') || rest.includes('-h')) return { command: 'help', text: commandUsage(first) };
  const spec: CommandSpec = COMMANDS[first];
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    const options = Object.fromEntries(Object.keys(spec.options).map((key) => [key, { type: 'string' as const }]));
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new CliError(`${first}: ${firstSentence((error as Error).message)}`, 2, commandUsage(first));
  }
  for (const [key, option] of Object.entries(spec.options)) {
    if (option.required && parsed.values[key] === undefined) throw new CliError(`${first}: --${key} is required`, 2, commandUsage(first));
  }
  if (spec.oneOf !== undefined) {
    const { options, exclusive } = spec.oneOf;
    const given = options.filter((key) => parsed.values[key] !== undefined);
    const names = options.map((key) => `--${key}`).join(' or ');
    if (given.length === 0) throw new CliError(`${first}: ${names} is required`, 2, commandUsage(first));
    if (exclusive && given.length > 1) throw new CliError(`${first}: give only one of ${names}`, 2, commandUsage(first));
  }
  if (parsed.positionals.length !== spec.positionals.length) {
    const expected = spec.positionals.length === 0 ? 'no arguments' : spec.positionals.map((p) => `<${p}>`).join(' ');
    throw new CliError(`${first}: expected ${expected}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => JSON.stringify(p)).join(' ')}`, 2, commandUsage(first));
  }
  return { command: first, options: parsed.values as Record<string, string | undefined>, positionals: parsed.positionals };
}
