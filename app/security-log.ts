/**
 * The app's security event log (SEC-56, SEC-68; ASVS 16.2.1, 16.3.1–16.3.3): the login manager's
 * and the accounts' events written as log lines, named after the OWASP Logging Vocabulary where it
 * has a name. Each line carries its request's id, method, path and client IP (request-log.ts), the
 * User-Agent, and the user's id when there is one.
 *
 * | line | level | from |
 * |---|---|---|
 * | `authn_login_success` | info | `loggedIn` (`via: "login"`), `loadedFromCookie` (`via: "remember_me"`) |
 * | `authn_login_fail` | warn | accounts `loginFailed` (`reason`: unknown, password, inactive, malformed) |
 * | `authn_login_fail_max` | warn | the failure that starts the account's delays (throttle `freeFailures`) |
 * | `authn_login_lock` | warn | the failure that locks the account (throttle `hardLimit`) |
 * | `excess_rate_limit_exceeded` | warn | the failure that reaches the per-IP cap (throttle `ip.maxFailures`) |
 * | `authn_login_throttled` | warn | accounts `throttled`: an attempt refused with 429 (`scope`) |
 * | `authn_password_change` | info | accounts `passwordChanged` |
 * | `authn_password_rehash`, `…_fail` | info, warn | accounts `passwordRehashed`, `rehashFailed` |
 * | `authn_token_reuse` | error | `rememberTheft`: every session of the user was ended (SEC-38) |
 * | `user_created` | info | accounts `registered` |
 * | `session_created` | info | `sessionCreated` |
 * | `session_renewed` | info | `loginConfirmed` (re-authentication) |
 * | `logout` | info | `loggedOut` |
 * | `session_revoked` | info | `sessionRevoked` (`scope`: one, others, all; `sessions` ended) |
 * | `session_expired` | info | `sessionInvalid` `unknown`: a cookie of an expired or ended session |
 * | `session_invalid` | warn | `sessionInvalid` `malformed` or `mismatch` (a guessed secret) |
 * | `session_protected` | warn | `sessionProtected` |
 * | `malicious_csrf` | warn | `csrfRefused` (most are forms left open past their session) |
 * | `passkey_added`, `passkey_removed` | info | passkeys `passkeyAdded`, `passkeyRemoved` (SEC-84) |
 * | `passkey_used` | info | passkeys `passkeyUsed`: a passwordless login, a second step or a step-up (`user_verified`) |
 * | `passkey_rejected` | warn | passkeys `passkeyRejected` (`reason`: invalid, challenge, taken, regressed; SEC-82) |
 * | `passkey_counter_regressed` | error | passkeys `passkeyCounterRegressed`: a possible clone of the authenticator (SEC-83) |
 *
 * Never in a line (SEC-69, ASVS 16.2.5): a password, a token (session, remember-me, CSRF), a
 * cookie, a request body. A session is named by a keyed hash of its id (`session_hash`), and a
 * login identifier, which may be an unknown user's or a password typed in the wrong field, by a
 * keyed hash too (`login_hash`): HMAC-SHA-256 under a key derived from SECRET_KEY, so the same
 * identifier gives the same hash across lines and instances, and a reader of the log without the
 * key cannot test guesses against it (keyed-hash.ts).
 *
 * @module app/security-log
 */
import type { Accounts, LoginManager, UserRecord } from 'latchkey';
import type { Passkeys } from 'latchkey/passkeys';
import { keyedHasher } from './keyed-hash.ts';
import type { LineLevel, Logger, LogFields } from './log.ts';
import { currentRequest, requestFields } from './request-log.ts';
import type { ThrottleLimits } from './throttles.ts';

export interface SecurityLogOptions {
  readonly logger: Logger;
  readonly manager: LoginManager<UserRecord>;
  /** Only its events are read. */
  readonly accounts: Pick<Accounts, 'on'>;
  /** The app's SECRET_KEY: the hashes' key is derived from it, for this purpose only. */
  readonly secret: string;
  readonly limits: ThrottleLimits;
  /** Only its events are read; null when passkeys are off. */
  readonly passkeys?: Pick<Passkeys, 'on'> | null;
}

/** User-Agent strings are cut to this many characters (as the session list keeps them, roughly). */
const MAX_USER_AGENT = 256;

/** Subscribes the logger to every security event of `manager` and `accounts`. */
export function logSecurityEvents(options: SecurityLogOptions): void {
  const { logger, manager, accounts, limits } = options;
  const hash = keyedHasher(options.secret);
  const sessionHash = (id: string | null) => (id === null ? null : hash('session', id));

  function write(level: LineLevel, event: string, fields: LogFields): void {
    if (!logger.enabled(level)) return;
    const request = currentRequest();
    const agent = request === undefined ? {} : { user_agent: request.c.get('auth')?.request.headers.get('user-agent')?.slice(0, MAX_USER_AGENT) ?? null };
    logger.log(level, event, { ...requestFields(request), ...agent, ...fields });
  }

  manager.on('loggedIn', ({ user, remember, fresh }) => write('info', 'authn_login_success', { user_id: user.id, via: 'login', remember, fresh }));
  manager.on('loadedFromCookie', ({ user }) => write('info', 'authn_login_success', { user_id: user.id, via: 'remember_me' }));
  manager.on('sessionCreated', ({ userId, sessionId, fresh, remembered }) =>
    write('info', 'session_created', { user_id: userId, session_hash: sessionHash(sessionId), fresh, remembered }),
  );
  manager.on('loginConfirmed', ({ user }) => write('info', 'session_renewed', { user_id: user?.id ?? null, reason: 'reauthenticated' }));
  manager.on('loggedOut', ({ user }) => write('info', 'logout', { user_id: user?.id ?? null }));
  manager.on('sessionRevoked', ({ userId, scope, sessionId, sessions }) =>
    write('info', 'session_revoked', { user_id: userId, scope, sessions, session_hash: sessionHash(sessionId) }),
  );
  manager.on('sessionInvalid', ({ reason, sessionId }) =>
    reason === 'unknown'
      ? write('info', 'session_expired', { session_hash: sessionHash(sessionId) })
      : write('warn', 'session_invalid', { reason, session_hash: sessionHash(sessionId) }),
  );
  manager.on('sessionProtected', ({ userId, mode }) => write('warn', 'session_protected', { user_id: userId, mode }));
  manager.on('rememberTheft', ({ userId }) => write('error', 'authn_token_reuse', { user_id: userId, kind: 'remember_me' }));
  manager.on('csrfRefused', ({ reason }) => write('warn', 'malicious_csrf', { reason }));

  accounts.on('registered', ({ user }) => write('info', 'user_created', { user_id: user.id }));
  accounts.on('loginFailed', ({ login, reason, userId, failures }) => {
    const who = { login_hash: login === null ? null : hash('login', login), user_id: userId };
    write('warn', 'authn_login_fail', { ...who, reason, account_failures: failures?.accountFailures ?? null, ip_failures: failures?.ipFailures ?? null });
    if (failures === null) return;
    // Each threshold is logged once, by the failure that reaches it (FailureCounts, src/throttle.ts).
    if (failures.accountFailures === limits.account.freeFailures) write('warn', 'authn_login_fail_max', { ...who, max: limits.account.freeFailures });
    if (failures.accountFailures === limits.account.hardLimit) write('warn', 'authn_login_lock', { ...who, max: limits.account.hardLimit });
    if (failures.ipFailures === limits.ip.maxFailures) write('warn', 'excess_rate_limit_exceeded', { scope: 'ip', max: limits.ip.maxFailures });
  });
  accounts.on('throttled', ({ login, scope, retryAfter }) =>
    write('warn', 'authn_login_throttled', { login_hash: hash('login', login), scope, retry_after: retryAfter }),
  );
  accounts.on('passwordChanged', ({ user }) => write('info', 'authn_password_change', { user_id: user.id }));
  accounts.on('passwordRehashed', ({ user }) => write('info', 'authn_password_rehash', { user_id: user.id }));
  // The error's name only: a driver's message may quote the statement and its values.
  accounts.on('rehashFailed', ({ user, error }) => write('warn', 'authn_password_rehash_fail', { user_id: user.id, error: (error as Error)?.name ?? 'unknown' }));

  const passkeys = options.passkeys;
  if (!passkeys) return;
  passkeys.on('passkeyAdded', ({ userId, credentialId }) => write('info', 'passkey_added', { user_id: userId, credential_id: credentialId }));
  passkeys.on('passkeyRemoved', ({ userId, credentialId }) => write('info', 'passkey_removed', { user_id: userId, credential_id: credentialId }));
  passkeys.on('passkeyUsed', ({ userId, credentialId, userVerified }) =>
    write('info', 'passkey_used', { user_id: userId, credential_id: credentialId, user_verified: userVerified }),
  );
  passkeys.on('passkeyRejected', ({ reason, userId, credentialId }) =>
    // An id from a refused response is the sender's text: cut, as a User-Agent is.
    write('warn', 'passkey_rejected', { reason, user_id: userId, credential_id: credentialId?.slice(0, 100) ?? null }),
  );
  passkeys.on('passkeyCounterRegressed', ({ userId, credentialId }) => write('error', 'passkey_counter_regressed', { user_id: userId, credential_id: credentialId }));
}
