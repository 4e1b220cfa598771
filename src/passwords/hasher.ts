/**
 * The password hasher the accounts layer uses: argon2id for every new hash (SEC-01),
 * verification of argon2, scrypt, werkzeug, Django and bcrypt hashes with a flag saying when a
 * successful login should store a fresh hash (SEC-03), one dummy verification for unknown users
 * and unreadable hashes so that timing does not tell them apart (SEC-14, SEC-04), and a bound on
 * how many hashes run at once (SEC-12): each argon2id holds 19 MiB and a libuv thread, so at most
 * `maxConcurrent` run, at most `maxQueue` wait, and the next caller is refused at once with
 * {@link HasherBusyError}, a {@link ServiceUnavailableError}: the adapters answer 503 and `Retry-After`.
 *
 * Passwords are hashed exactly as given, as UTF-8: normalisation (NFKC, SEC-09) and policy belong
 * to the accounts layer. The hasher only refuses what is not a string or is longer than 1024
 * UTF-8 bytes, before any hashing (SEC-06).
 *
 * **Memory**: on glibc, every libuv thread that ran an argon2id keeps those 19 MiB (twice, at
 * worst) in a malloc arena of its own; start the process with `MALLOC_ARENA_MAX=1` (read by glibc
 * only at start-up) to keep one arena: 111 MiB at peak instead of 211 in a process hashing on 4
 * threads, 73 MiB after, at the same CPU per hash. Add
 * `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304:glibc.malloc.hugetlb=1`, so that each block
 * is unmapped after its hash instead of staying in the heap (README, "Memory on Linux").
 *
 * @module passwords/hasher
 */
import { randomBytes } from 'node:crypto';
import { HasherBusyError } from '../errors.ts';
import type { Argon2Hash } from './argon2.ts';
import type { LegacyHash } from './legacy.ts';
import { ARGON2_DEFAULTS, argon2Available, isVerifiableArgon2, SCRYPT_DEFAULTS } from './parameters.ts';

/** Options of {@link PasswordHasher}; all optional. */
export interface PasswordHasherOptions {
  /** argon2id memory in KiB. Default 19456 (19 MiB, SEC-01); less needs `allowWeakParameters`. */
  memory?: number;
  /** argon2id passes. Default 2 (SEC-01); fewer needs `allowWeakParameters`. */
  passes?: number;
  /** argon2id lanes. Default 1 (SEC-01). */
  parallelism?: number;
  /** Hashes and verifications running at once. Default 2: memory ≈ maxConcurrent × 19 MiB (SEC-12). */
  maxConcurrent?: number;
  /** Calls allowed to wait for a slot; one more is refused with {@link HasherBusyError}. Default 64. */
  maxQueue?: number;
  /**
   * For tests only: accepts memory below 19456 KiB or a single pass. Hashes made so are cheaper
   * to crack offline; never set it in production.
   */
  allowWeakParameters?: boolean;
}

/** What {@link PasswordHasher.verify} found. */
export interface VerifyResult {
  /** The password matches the stored hash. */
  readonly ok: boolean;
  /**
   * Store `await hasher.hash(password)` in place of the old hash: true when `ok` and the stored
   * hash is not argon2id with at least the current parameters (SEC-03), and also true (with `ok`
   * false) when the stored string could not be read at all.
   */
  readonly needsRehash: boolean;
}

/** A snapshot of the hasher's load, for tests and metrics. */
export interface HasherStats {
  readonly running: number;
  readonly queued: number;
}

/**
 * The code of each scheme, loaded on its first use and shared afterwards: an app that only checks
 * sessions loads no hasher, and one whose users all have argon2id hashes never loads bcrypt or the
 * legacy verifiers. One `await` of a settled promise is nothing beside a hash.
 */
let argon2: Promise<typeof import('./argon2.ts')> | undefined;
let bcrypt: Promise<typeof import('./bcrypt.ts')> | undefined;
let legacy: Promise<typeof import('./legacy.ts')> | undefined;
const loadArgon2 = () => (argon2 ??= import('./argon2.ts'));
const loadBcrypt = () => (bcrypt ??= import('./bcrypt.ts'));
const loadLegacy = () => (legacy ??= import('./legacy.ts'));

/** SEC-06: at most 1024 UTF-8 bytes are ever hashed. */
const MAX_PASSWORD_BYTES = 1024;
/** A stored hash longer than this is not parsed (the longest accepted format is far shorter). */
const MAX_STORED_LENGTH = 4096;
const OPTION_KEYS = new Set(['memory', 'passes', 'parallelism', 'maxConcurrent', 'maxQueue', 'allowWeakParameters']);

type ValidatedOptions = Readonly<Required<PasswordHasherOptions>>;

function integer(options: PasswordHasherOptions, name: keyof PasswordHasherOptions, fallback: number, min: number, max: number): number {
  const value = options[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`PasswordHasher: ${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function validate(options: PasswordHasherOptions): ValidatedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('PasswordHasher: options must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`PasswordHasher: unknown option ${key}`);
  }
  const weak = options.allowWeakParameters ?? false;
  if (typeof weak !== 'boolean') throw new TypeError('PasswordHasher: allowWeakParameters must be a boolean');
  const validated = {
    parallelism: integer(options, 'parallelism', ARGON2_DEFAULTS.parallelism, 1, 16),
    memory: integer(options, 'memory', ARGON2_DEFAULTS.memory, weak ? 8 : ARGON2_DEFAULTS.memory, 1_048_576),
    passes: integer(options, 'passes', ARGON2_DEFAULTS.passes, weak ? 1 : ARGON2_DEFAULTS.passes, 100),
    maxConcurrent: integer(options, 'maxConcurrent', 2, 1, 1024),
    maxQueue: integer(options, 'maxQueue', 64, 0, 1_000_000),
    allowWeakParameters: weak,
  };
  // Our own hashes must pass the DoS bounds that verification applies to stored hashes.
  if (!isVerifiableArgon2(validated)) throw new TypeError('PasswordHasher: memory × passes is beyond what verify() accepts');
  return Object.freeze(validated);
}

function checkPassword(password: unknown): asserts password is string {
  if (typeof password !== 'string') throw new TypeError('PasswordHasher: the password must be a string');
  // UTF-16 length first: more than 1024 code units is more than 1024 UTF-8 bytes, without encoding 1 MB.
  if (password.length > MAX_PASSWORD_BYTES || Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new TypeError(`PasswordHasher: the password is longer than ${MAX_PASSWORD_BYTES} UTF-8 bytes`);
  }
}

/**
 * Hashes and verifies passwords with bounded concurrency.
 *
 * @example
 * ```ts
 * const hasher = new PasswordHasher();
 * const stored = await hasher.hash('correct horse battery staple');
 * const { ok, needsRehash } = await hasher.verify('correct horse battery staple', stored);
 * if (ok && needsRehash) await users.setPasswordHash(id, await hasher.hash(password));
 * ```
 */
export class PasswordHasher {
  /** The validated, frozen options. */
  readonly options: ValidatedOptions;
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  /** A hash of nothing, with the current parameters: verifying against it costs one real verification. */
  readonly #dummy: Argon2Hash | LegacyHash;

  constructor(options: PasswordHasherOptions = {}) {
    this.options = validate(options);
    const { memory, passes, parallelism } = this.options;
    this.#dummy = argon2Available
      ? Object.freeze({ algorithm: 'argon2id', memory, passes, parallelism, salt: randomBytes(16), tag: randomBytes(32) })
      : Object.freeze({ scheme: 'scrypt', params: SCRYPT_DEFAULTS, salt: randomBytes(16), key: randomBytes(32) });
  }

  /** How many hashes are running and how many wait. */
  get stats(): HasherStats {
    return Object.freeze({ running: this.#running, queued: this.#waiting.length });
  }

  /**
   * An argon2id PHC string of `password` with the current parameters (scrypt, SEC-02, on a Node
   * without `crypto.argon2`). Rejects with `TypeError` for a non-string or a password over 1024
   * UTF-8 bytes, and with {@link HasherBusyError} when the queue is full.
   */
  async hash(password: string): Promise<string> {
    checkPassword(password);
    return this.#run(async () => (argon2Available ? (await loadArgon2()).hashArgon2id(password, this.options) : (await loadLegacy()).hashScrypt(password)));
  }

  /**
   * Checks `password` against a stored argon2, scrypt, werkzeug, Django or bcrypt hash. A stored
   * string that is malformed, of an unknown scheme or of absurd cost gives `{ ok: false,
   * needsRehash: true }` after one dummy verification; it never throws for a bad stored string
   * (SEC-04). Rejects with `TypeError` for misuse and {@link HasherBusyError} when busy.
   */
  async verify(password: string, stored: string): Promise<VerifyResult> {
    checkPassword(password);
    if (typeof stored !== 'string') throw new TypeError('PasswordHasher: the stored hash must be a string');
    return this.#run(() => this.#verify(password, stored));
  }

  /**
   * One verification against a hash of nothing made with the current parameters, for a login
   * whose user does not exist: the response then takes as long as a wrong password (SEC-14).
   */
  async verifyDummy(password: string): Promise<void> {
    checkPassword(password);
    await this.#run(() => this.#verifyDummy(password));
  }

  async #verify(password: string, stored: string): Promise<VerifyResult> {
    if (stored.length <= MAX_STORED_LENGTH) {
      if (stored.startsWith('$argon2')) {
        const scheme = argon2Available ? await loadArgon2() : null;
        const hash = scheme ? scheme.parseArgon2(stored) : null;
        if (scheme && hash) {
          const ok = await scheme.verifyArgon2(password, hash);
          return Object.freeze({ ok, needsRehash: ok && !this.#isCurrent(hash) });
        }
      } else if (stored.startsWith('$2')) {
        const scheme = await loadBcrypt();
        const hash = scheme.parseBcrypt(stored);
        if (hash) {
          const ok = await scheme.verifyBcrypt(password, hash);
          return Object.freeze({ ok, needsRehash: ok });
        }
      } else {
        const scheme = await loadLegacy();
        const hash = scheme.parseLegacy(stored);
        if (hash) {
          const ok = await scheme.verifyLegacy(password, hash);
          return Object.freeze({ ok, needsRehash: ok && !this.#isCurrent(hash) });
        }
      }
    }
    await this.#verifyDummy(password);
    return Object.freeze({ ok: false, needsRehash: true });
  }

  /** SEC-03: argon2id at least as strong as configured, or scrypt at SEC-02 where argon2 is missing. */
  #isCurrent(hash: Argon2Hash | LegacyHash): boolean {
    if ('algorithm' in hash) {
      const { memory, passes, parallelism } = this.options;
      return hash.algorithm === 'argon2id' && hash.memory >= memory && hash.passes >= passes &&
        hash.parallelism >= parallelism && hash.salt.length >= 16 && hash.tag.length >= 32;
    }
    return !argon2Available && hash.scheme === 'scrypt' && hash.params.cost >= SCRYPT_DEFAULTS.cost &&
      hash.params.blockSize >= SCRYPT_DEFAULTS.blockSize && hash.salt.length >= 16 && hash.key.length >= 32;
  }

  async #verifyDummy(password: string): Promise<void> {
    const dummy = this.#dummy;
    await ('algorithm' in dummy ? (await loadArgon2()).verifyArgon2(password, dummy) : (await loadLegacy()).verifyLegacy(password, dummy));
  }

  /** Runs `task` when a slot is free; waits in a bounded FIFO queue, or refuses at once (SEC-12). */
  async #run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.options.maxConcurrent) {
      this.#running++;
    } else if (this.#waiting.length < this.options.maxQueue) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      throw new HasherBusyError(`PasswordHasher: ${this.#running} hashes running and ${this.#waiting.length} waiting; try again later`);
    }
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so that `running` never exceeds maxConcurrent.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
