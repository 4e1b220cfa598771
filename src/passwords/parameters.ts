/**
 * The work factors of new password hashes and the bounds of verifiable ones: argon2id at
 * m=19456 KiB, t=2, p=1 (SEC-01), scrypt at N=2^17, r=8, p=1 where Node has no
 * `crypto.argon2` (SEC-02), and the argon2 parameters beyond which a stored hash is not verified
 * (a DoS guard, SEC-12). What `PasswordHasher` needs at construction, apart from the
 * schemes' code, which it loads on first use (argon2.ts, bcrypt.ts, legacy.ts).
 *
 * @module passwords/parameters
 */
import * as nodeCrypto from 'node:crypto';

/** Work factors: memory in KiB, passes over memory, lanes. */
export interface Argon2Parameters {
  readonly memory: number;
  readonly passes: number;
  readonly parallelism: number;
}

/** scrypt's cost (N, a power of two), block size (r) and parallelism (p). */
export interface ScryptParameters {
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelism: number;
}

/** SEC-01: m=19456 KiB (19 MiB), t=2, p=1. */
export const ARGON2_DEFAULTS: Argon2Parameters = Object.freeze({ memory: 19_456, passes: 2, parallelism: 1 });

/** SEC-02: N = 2^17, r = 8, p = 1 (128 MiB); 16-byte salt, 32-byte key. */
export const SCRYPT_DEFAULTS: ScryptParameters = Object.freeze({ cost: 2 ** 17, blockSize: 8, parallelism: 1 });

/** `crypto.argon2` is Stability 1.2 and absent before Node 24.7: the hasher then falls back to scrypt (SEC-02). */
export const argon2Available: boolean = typeof (nodeCrypto as { argon2?: unknown }).argon2 === 'function';

/** Bounds beyond which a stored hash is not verified (a DoS guard, SEC-12). */
const ARGON2_LIMITS = Object.freeze({
  maxMemory: 1_048_576, // KiB = 1 GiB
  maxPasses: 100,
  maxParallelism: 16,
  maxWork: 4_194_304, // memory × passes, KiB: 4 GiB·passes, a few seconds of one thread
});

/**
 * True when Node accepts these parameters and they stay within the DoS bounds above.
 *
 * @example
 * ```ts
 * isVerifiableArgon2({ memory: 19456, passes: 2, parallelism: 1 }) // true
 * isVerifiableArgon2({ memory: 2 ** 21, passes: 1, parallelism: 4 }) // false: 2 GiB
 * ```
 */
export function isVerifiableArgon2(params: Argon2Parameters): boolean {
  const { memory, passes, parallelism } = params;
  return (
    Number.isSafeInteger(memory) && Number.isSafeInteger(passes) && Number.isSafeInteger(parallelism) &&
    parallelism >= 1 && parallelism <= ARGON2_LIMITS.maxParallelism &&
    passes >= 1 && passes <= ARGON2_LIMITS.maxPasses &&
    memory >= 8 * parallelism && memory <= ARGON2_LIMITS.maxMemory &&
    memory * passes <= ARGON2_LIMITS.maxWork
  );
}
