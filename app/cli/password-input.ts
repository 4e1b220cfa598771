/**
 * Reading a new password: the first line of stdin when it is a pipe or a file (scripts, CI), or
 * a prompt without echo, asked twice, when it is a terminal. On a terminal the rule is shown before
 * the first prompt, and a refused password (the policy, or two entries that differ) is asked for
 * again, a few times, rather than ending the command: a person at a keyboard can fix it. The prompt reads the terminal in raw
 * mode and echoes nothing at all (no `*`), so neither the password nor its length is on screen;
 * it handles backspace, Ctrl-U, Ctrl-C, Ctrl-D and skips escape sequences (arrow keys, bracketed
 * paste markers). The password is never an argument: argv is visible to every user in `ps`.
 *
 * @module app/cli/password-input
 */
import { CliError, Interrupted } from './errors.ts';

/** A line longer than this is not a password (the policy's own maximum is 1024 UTF-8 bytes). */
const MAX_LINE = 4096;

/** How often a terminal user may try before the command gives up. */
const TRIES = 3;

export interface NewPasswordOptions {
  /** The password rule, shown before the first prompt on a terminal. */
  readonly rule?: string;
  /** The policy: null for a password it accepts, else the reason it refuses it. */
  readonly check?: (password: string) => string | null;
}

/** "Password must… long." → "password must… long": a clause of our line; "Password" starts only the prompts. */
const lowerFirst = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1).replace(/\.$/, '');

/**
 * The new password: from stdin's first line (the caller's registration applies the policy), or
 * prompted on a terminal, checked after the first entry and confirmed by a second, up to three
 * tries. Throws {@link CliError} when there is none, or when the last try is refused too.
 */
export async function readNewPassword(options: NewPasswordOptions = {}, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!input.isTTY) {
    const line = await readFirstLine(input);
    if (line === null) throw new CliError('create-user: no password on standard input (pipe it in, or run in a terminal to be prompted)');
    return line;
  }
  if (options.rule) output.write(`${options.rule}\n`);
  // Raw mode for every prompt: keys typed ahead between them are not echoed by the terminal either.
  input.setRawMode(true);
  try {
    for (let attempt = 1; ; attempt++) {
      const first = await promptHidden('Password: ', input, output);
      // Checked before it is typed again: nobody types a refused password twice.
      let problem = options.check?.(first) ?? null;
      if (problem === null && first !== (await promptHidden('Password (again): ', input, output))) problem = 'the two entries do not match';
      if (problem === null) return first;
      const left = TRIES - attempt;
      if (left === 0) throw new CliError(`create-user: ${lowerFirst(problem)} (no tries left)`);
      output.write(`create-user: ${lowerFirst(problem)}; try again (${left} ${left === 1 ? 'try' : 'tries'} left)\n`);
    }
  } finally {
    input.setRawMode(false);
    input.pause();
  }
}

/** The first line of a stream without its line ending (`\n` or `\r\n`); null when it is empty. */
export async function readFirstLine(input: NodeJS.ReadableStream): Promise<string | null> {
  input.setEncoding('utf8'); // decodes multi-byte characters split across chunks
  let buffered = '';
  // Leaving the loop early destroys the stream: nothing else reads stdin.
  for await (const chunk of input) {
    buffered += chunk as string;
    const end = buffered.indexOf('\n');
    if (end !== -1) return buffered.slice(0, end).replace(/\r$/, '');
    if (buffered.length > MAX_LINE) throw new CliError(`create-user: the first line of standard input is longer than ${MAX_LINE} characters`);
  }
  return buffered === '' ? null : buffered.replace(/\r$/, '');
}

/**
 * Reads one line from a terminal that is in raw mode, echoing nothing. What follows the line in
 * the same chunk (a paste of both entries) is put back for the next prompt.
 */
export function promptHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  output.write(prompt);
  input.setEncoding('utf8');
  return new Promise<string>((resolve, reject) => {
    let chars: string[] = [];
    let escape: 'none' | 'start' | 'sequence' = 'none';
    const finish = (error: CliError | null, rest = ''): void => {
      input.off('data', onData);
      input.pause();
      if (rest !== '') input.unshift(rest);
      output.write('\n');
      if (error) reject(error);
      else resolve(chars.join(''));
    };
    const onData = (chunk: string): void => {
      const all = [...chunk];
      for (const [index, char] of all.entries()) {
        const code = char.codePointAt(0) as number;
        if (escape === 'start') {
          // ESC [ and ESC O start a sequence (CSI, SS3); any other character ends a two-byte one.
          escape = char === '[' || char === 'O' ? 'sequence' : 'none';
          continue;
        }
        if (escape === 'sequence') {
          if (code >= 0x40 && code <= 0x7e) escape = 'none'; // the final byte of ECMA-48 §5.4
          continue;
        }
        if (char === '\r' || char === '\n') {
          // A terminal sends CR for Enter; skip the LF of a pasted CRLF.
          const rest = all.slice(index + 1).join('');
          return finish(null, char === '\r' && rest.startsWith('\n') ? rest.slice(1) : rest);
        }
        if (char === '\u0003') return finish(new Interrupted()); // Ctrl-C: raw mode sends it as a byte, not SIGINT
        if (char === '\u0004') {
          if (chars.length === 0) return finish(new Interrupted()); // Ctrl-D on an empty line: end of input
          return finish(null);
        }
        if (char === '\u007f' || char === '\b') chars.pop(); // backspace removes one code point
        else if (char === '\u0015') chars = []; // Ctrl-U clears the line
        else if (char === '\u001b') escape = 'start';
        else if (code >= 0x20 && !(code >= 0x80 && code < 0xa0)) {
          if (chars.length >= MAX_LINE) return finish(new CliError(`create-user: a password is at most ${MAX_LINE} characters`));
          chars.push(char);
        }
        // Other control characters are ignored, as a terminal's line editor would.
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
