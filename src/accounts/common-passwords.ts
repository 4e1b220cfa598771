/**
 * The offline list of common passwords that {@link createPasswordPolicy} refuses by default
 * (security.md SEC-08; NIST SP 800-63B-4 §3.1.1.2 "commonly-used, expected, or compromised";
 * ASVS 6.2.4). It is Django 3.2's list of 19 727 passwords by Royce Williams (BSD-3-Clause, see
 * `data/README.md`), stored lower-case, one per line, in `data/common-passwords.txt`. The file is
 * read once, on first use, and never over the network: CI is offline and a login must not wait on
 * a third party.
 *
 * The path is relative to this module: `src/accounts/` and `dist/accounts/` are both two levels
 * below the package root, so the published package must ship `data/` next to `dist/`.
 *
 * @module accounts/common-passwords
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = join(import.meta.dirname, '..', '..', 'data', 'common-passwords.txt');

let cached: ReadonlySet<string> | undefined;

/**
 * The common-password list as a set of lower-case strings, read from disk on the first call and
 * shared afterwards (about 20 000 entries, 160 kB of text). Throws the `readFileSync` error if the
 * file is missing: a policy silently running without its blocklist would be a weaker policy.
 *
 * @example
 * ```ts
 * const common = loadCommonPasswords();
 * common.has('sunshine') // true
 * common.has('correct horse battery staple') // false
 * ```
 */
export function loadCommonPasswords(): ReadonlySet<string> {
  if (cached === undefined) {
    const set = new Set<string>();
    for (const line of readFileSync(FILE, 'utf8').split('\n')) {
      // Tolerate a CRLF checkout of the file; the entries themselves never end in "\r".
      const entry = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (entry !== '') set.add(entry);
    }
    cached = set;
  }
  return cached;
}
