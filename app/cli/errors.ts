/**
 * The command line's expected failures: a {@link CliError} is one line for stderr and an exit
 * status, never a stack trace (1 failed, 2 wrong usage, 130 interrupted); app/cli.ts prints it.
 * Every part of the command line throws them, the grammar, the commands, the Flask reader and
 * the password prompt alike.
 *
 * @module app/cli/errors
 */

/** An expected failure: one line for stderr and the exit status; never a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;
  /** Printed after the message (the usage of the command, for usage errors). */
  readonly detail: string | null;

  constructor(message: string, exitCode = 1, detail: string | null = null) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.detail = detail;
  }
}

/** The user pressed Ctrl-C (or Ctrl-D at an empty prompt): 130 is 128 + SIGINT, as shells report it. */
export class Interrupted extends CliError {
  constructor() {
    super('interrupted', 130);
  }
}
