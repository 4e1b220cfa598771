/**
 * What {@link createPasskeys} takes, checked once into a frozen core (STYLE point 7): the relying
 * party (its RP ID and the exact origins its pages are served from, SEC-82, WebAuthn L2 §5.1.3,
 * §7.1 steps 9 and 13), the credential store and the challenge store behind one deadline guard
 * each (R-03), the challenges' lifetime (at most 5 minutes, SEC-82), and the randomness.
 *
 * @module passkeys/options
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { CREDENTIAL_STORE_METHODS, isCredentialStore, type CredentialStore } from '../credential-store.ts';
import { requireDuration } from '../duration.ts';
import { Emitter } from '../lib/emitter.ts';
import { guardCalls } from '../lib/guarded-store.ts';
import { isTokenStore, TOKEN_STORE_METHODS, type TokenStore } from '../token-store.ts';
import type { PasskeyEvents } from './results.ts';

/** Options of {@link createPasskeys}. */
export interface PasskeysOptions {
  /**
   * The RP ID: the host name of `origin`, or a registrable suffix of it (`example.com` for
   * `https://app.example.com`). Credentials are bound to it: changing it orphans them (WebAuthn L2 §5.1.3).
   */
  rpId: string;
  /** The name authenticators show, e.g. the app's name (1 to 100 characters). */
  rpName: string;
  /**
   * The origin(s) the app's pages are served from, matched exactly against what the browser signed
   * (SEC-82): `https://…`, or `http://` on a loopback host (localhost, 127.0.0.1, [::1]) only,
   * the one place browsers run WebAuthn without TLS. No path, no trailing slash.
   */
  origin: string | readonly string[];
  /** Where passkeys live: `SqliteUserStore`, `PostgresUserStore`, or your own {@link CredentialStore}. */
  credentials: CredentialStore;
  /** Where challenges live, only as SHA-256 and single use: the login manager's store, or any {@link TokenStore}. */
  challenges: TokenStore;
  /** How long a challenge may be answered: a duration, at most 5 minutes (SEC-82). @default '5m' */
  challengeTimeout?: number | string;
  /** A store call that takes longer fails with `ERR_LATCHKEY_STORE_TIMEOUT` (a 503, R-03). @default '2s' */
  storeTimeout?: number | string;
  /** Cryptographically secure random bytes, for the challenges. @default crypto.randomBytes */
  randomBytes?: (size: number) => Uint8Array;
}

/** The checked options and the state the ceremonies share. */
export interface PasskeysCore {
  readonly rpId: string;
  readonly rpName: string;
  readonly origins: readonly string[];
  /** Behind the deadline guard: every call answers within `storeTimeout` or is a coded 503. */
  readonly credentials: CredentialStore;
  /** Behind the same deadline. */
  readonly challenges: TokenStore;
  /** ms */
  readonly challengeTimeout: number;
  readonly randomBytes: (size: number) => Uint8Array;
  readonly events: Emitter<PasskeyEvents>;
}

const MAX_CHALLENGE_TIMEOUT = 5 * 60_000;
/** Below this, nobody can find their authenticator and touch it in time. */
const MIN_CHALLENGE_TIMEOUT = 10_000;
/** Hosts a browser treats as a secure context over plain http (W3C Secure Contexts §3.1). */
const LOOPBACK = /^(localhost|[a-z0-9-]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** Checks the options (misuse throws `TypeError` naming the option) and builds the core, frozen. */
export function createPasskeysCore(options: PasskeysOptions): PasskeysCore {
  if (typeof options !== 'object' || options === null) throw new TypeError('createPasskeys needs options');
  const rpId = options.rpId;
  if (typeof rpId !== 'string' || (!/^[a-z0-9.-]{1,253}$/.test(rpId) && !/^\[[0-9a-f:]+\]$/.test(rpId))) {
    throw new TypeError('rpId must be a lowercase host name, such as "example.com"');
  }
  if (typeof options.rpName !== 'string' || options.rpName.trim() === '' || options.rpName.length > 100) {
    throw new TypeError('rpName must be 1 to 100 characters');
  }
  const list = typeof options.origin === 'string' ? [options.origin] : options.origin;
  if (!Array.isArray(list) || list.length === 0) throw new TypeError('origin must be an origin or a non-empty array of origins');
  const origins = Object.freeze(list.map((origin) => checkOrigin(origin, rpId)));
  if (!isCredentialStore(options.credentials)) throw new TypeError('credentials must be a CredentialStore');
  if (!isTokenStore(options.challenges)) throw new TypeError('challenges must be a TokenStore');
  const challengeTimeout = requireDuration('challengeTimeout', options.challengeTimeout ?? '5m', MIN_CHALLENGE_TIMEOUT);
  if (challengeTimeout > MAX_CHALLENGE_TIMEOUT) throw new TypeError('challengeTimeout must be at most 5 minutes (SEC-82)');
  const timeout = requireDuration('storeTimeout', options.storeTimeout ?? '2s', 1);
  if (options.randomBytes !== undefined && typeof options.randomBytes !== 'function') throw new TypeError('randomBytes must be a function');
  return Object.freeze({
    rpId,
    rpName: options.rpName,
    origins,
    credentials: guardCalls(options.credentials, CREDENTIAL_STORE_METHODS, timeout, 'passkeys: credentials'),
    challenges: guardCalls(options.challenges, TOKEN_STORE_METHODS, timeout, 'passkeys: challenges'),
    challengeTimeout,
    randomBytes: options.randomBytes ?? ((size: number) => nodeRandomBytes(size)),
    events: new Emitter<PasskeyEvents>(),
  });
}

/**
 * `origin` when it is an http(s) origin exactly as a browser serialises it (no path, no trailing
 * slash, lowercase host, no default port) whose host is `rpId` or ends with `.rpId` (WebAuthn L2
 * §5.1.3: the RP ID is the origin's effective domain or a registrable suffix of it).
 */
function checkOrigin(origin: unknown, rpId: string): string {
  let url: URL | null = null;
  try {
    url = typeof origin === 'string' ? new URL(origin) : null;
  } catch {
    url = null;
  }
  if (url === null || url.origin !== origin || !(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname)))) {
    throw new TypeError(`origin must be an origin such as "https://example.com" (http only on a loopback host), got ${String(origin)}`);
  }
  const host = url.hostname;
  // A suffix must keep a dot of its own: "com" is no RP ID (a public suffix cannot be one, §5.1.3).
  const suffix = rpId.includes('.') && !/^[\d.]+$/.test(host) && host.endsWith(`.${rpId}`);
  if (host !== rpId && !suffix) throw new TypeError(`rpId "${rpId}" must be the host of origin ${origin} or a registrable suffix of it`);
  return origin as string;
}
