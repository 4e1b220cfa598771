/**
 * Environment for tests that read `process.env` at construction.
 *
 * @module test/support/env
 */

/** Runs `body` with NODE_ENV set as given (`undefined`: unset), then puts the old value back. */
export function withNodeEnv<T>(value: string | undefined, body: () => T): T {
  const saved = process.env.NODE_ENV;
  if (value === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = value;
  try {
    return body();
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  }
}
