/**
 * How the accounts send mail: composed from the texts (mail-texts.ts), to the address as stored
 * (SEC-18), through the app's function, off the answer's path. A mail, and the work before it,
 * runs in the background: the caller never waits for it, so an answer takes the same time whether
 * or not a mail goes out (SEC-16), and a mail that fails never changes an answer; the failure is
 * emitted as `mailFailed`, with a keyed hash of the address, never the address (SEC-69).
 *
 * Mails to one address, and requests from one IP, are counted on the `recoveryThrottle` before
 * anything is sent (SEC-16, SEC-54): past the limit nothing goes out.
 *
 * @module accounts/mailer
 */
import { hmacSha256 } from '../lib/encoding.ts';
import type { ThrottleVerdict } from '../login-throttle.ts';
import type { UserRecord } from '../user-store.ts';
import { serializeAttempt } from './attempts.ts';
import { composeMail, type MailKind } from './mail-texts.ts';
import type { AccountsCore } from './options.ts';
import type { Throttled } from './results.ts';

const OK: ThrottleVerdict = Object.freeze({ ok: true });

/** The subject a mail of `kind` has in this app, for `mailFailed`. */
function subjectOf(core: AccountsCore, kind: MailKind): string {
  return composeMail(core.texts, core.localize, kind, { app: core.appName, link: '', name: '' }).subject;
}

/** Sends one mail of `kind` to the account's stored address; rejects when the app's function throws or rejects. */
export async function sendMail(core: AccountsCore, kind: MailKind, to: string, user: Pick<UserRecord, 'name'>, link = ''): Promise<void> {
  if (core.mail === null) throw new TypeError('accounts: mail is not configured');
  const { subject, text } = composeMail(core.texts, core.localize, kind, { app: core.appName, link, name: user.name });
  await core.mail({ to, subject, text });
}

/**
 * Runs `work` (a lookup, a token, a mail) without the caller waiting for it. A failure, the app's
 * mail function's or a store's, is emitted as `mailFailed` for the address `to` (the canonical or
 * stored one) and the subject of `kind`, never thrown.
 */
export function inBackground(core: AccountsCore, kind: MailKind, to: string, work: () => Promise<unknown>): void {
  // On a later turn of the event loop, not a microtask: with a synchronous store (node:sqlite),
  // even the lookup would otherwise run before the caller has its answer (SEC-16).
  const running = new Promise<void>((resolve) => setImmediate(() => resolve(reportFailure(core, kind, to, work))));
  core.background.add(running);
  void running.finally(() => core.background.delete(running));
}

/** Resolves once the background work started so far, and any it started in turn, has finished. */
export async function backgroundIdle(core: AccountsCore): Promise<void> {
  while (core.background.size > 0) await Promise.allSettled(core.background);
}

/** Runs `work`; a failure is emitted as `mailFailed` (see {@link inBackground}), never thrown. */
export async function reportFailure(core: AccountsCore, kind: MailKind, to: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    core.events.emit('mailFailed', { to: hmacSha256(core.mailKey, to.normalize('NFKC').toLowerCase()), subject: subjectOf(core, kind), error });
  }
}

/** Sends a notice (SEC-71) to the account's address in the background; nothing without mail or an address. */
export function sendNotice(core: AccountsCore, kind: MailKind, user: UserRecord, to: string | null = user.email): void {
  if (core.mail === null || to === null) return;
  inBackground(core, kind, to, () => sendMail(core, kind, to, user));
}

/**
 * Counts one mail to `canonical` (the address's canonical form), and one request from `ip`, on the
 * recovery throttle, refusing past either limit (SEC-16, SEC-54). The address's counter is keyed by
 * the address, whether or not an account has it (SEC-17), under the throttle's keyed hash (SEC-69);
 * checks and counts on one address wait for each other in this process, so a burst cannot all pass
 * the check before any is counted.
 */
export async function countMail(core: AccountsCore, canonical: string, ip: string | null): Promise<ThrottleVerdict> {
  const throttle = core.recoveryThrottle;
  if (throttle === null) return OK;
  const fromIp = await throttle.countRequest({ ip });
  if (!fromIp.ok) return refused(core, canonical, ip, fromIp);
  const key = `mail:${canonical}`;
  const verdict = await serializeAttempt<ThrottleVerdict>(core, key, canonical, ip, async () => {
    const toAddress = await throttle.check({ account: key, ip: null });
    if (toAddress.ok) await throttle.recordFailure({ account: key, ip: null });
    return toAddress;
  });
  if (verdict.ok) return verdict;
  // Too many requests for this address queued in this process (already emitted as throttled).
  if (verdict.reason === 'throttled') return Object.freeze({ ok: false, reason: 'account', retryAfter: verdict.retryAfter });
  return refused(core, canonical, ip, verdict);
}

function refused(core: AccountsCore, login: string, ip: string | null, verdict: Extract<ThrottleVerdict, { ok: false }>): ThrottleVerdict {
  core.events.emit('throttled', { login, ip, scope: verdict.reason, retryAfter: verdict.retryAfter });
  return verdict;
}

/** A refusal of {@link countMail} as the accounts answer it: 429 with `Retry-After`. */
export function throttledAnswer(verdict: Extract<ThrottleVerdict, { ok: false }>): Throttled {
  return { ok: false, reason: 'throttled', retryAfter: verdict.retryAfter };
}
