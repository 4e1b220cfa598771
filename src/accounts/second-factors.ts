/**
 * An account's second factors, managed by their owner: a TOTP authenticator set up in two steps
 * (a secret shown once, then enabled only by a correct code, SEC-77), the set of 10 recovery codes
 * that comes with it, stored only hashed and regenerated as a whole (SEC-81), and its removal.
 * Adding or removing a factor mails the owner a notice (SEC-71, SEC-84). The app asks for a fresh
 * login before it lets anyone disable a factor or see new codes (SEC-84, SEC-35): these functions
 * act for whoever the app says is the owner. A passkey is a second factor too (SEC-80): its
 * ceremonies are `latchkey/passkeys`'s, and the app reports its addition or removal here
 * (`notifySecondFactor`), so that the owner is told as of a TOTP change (SEC-84).
 *
 * @module accounts/second-factors
 */
import type { FactorStore } from '../factor-store.ts';
import { generateRecoveryCodes, hashRecoveryCode } from '../recovery-codes.ts';
import { generateTotpSecret, totpUri, verifyTotp } from '../totp.ts';
import type { UserRecord } from '../user-store.ts';
import { sendNotice } from './mailer.ts';
import type { AccountsCore } from './options.ts';
import type { BeginTotpSetupResult, ConfirmTotpSetupResult, SecondFactorMethod } from './results.ts';

/** The factor store, or a `TypeError` naming the call: second factors are configured, not discovered at login. */
export function factorsOf(core: AccountsCore, call: string): FactorStore {
  if (core.factors === null) throw new TypeError(`${call}: second factors need a FactorStore (the factors option, or a users store that implements it)`);
  return core.factors;
}

/** The account, or a `TypeError`: these calls act for a logged-in owner, whose account exists. */
export async function accountOf(core: AccountsCore, call: string, userId: unknown): Promise<UserRecord> {
  if (typeof userId !== 'string' || userId === '') throw new TypeError(`${call}: userId must be a non-empty string`);
  const user = await core.users.getUserById(userId);
  if (user === null) throw new TypeError(`${call}: no account ${userId}`);
  return user;
}

/** What `Accounts.beginTotpSetup` does (documented there). */
export async function beginTotpSetup(core: AccountsCore, userId: string): Promise<BeginTotpSetupResult> {
  const factors = factorsOf(core, 'beginTotpSetup');
  if (core.appName.trim() === '') throw new TypeError('beginTotpSetup: needs appName, the issuer an authenticator app shows');
  const user = await accountOf(core, 'beginTotpSetup', userId);
  // 160 bits from the CSPRNG (SEC-77); a new setup replaces an unconfirmed one, never a confirmed one.
  const secret = generateTotpSecret();
  if (!(await factors.beginTotp(user.id, secret))) return { ok: false, reason: 'enabled' };
  const account = (user.email ?? user.username) as string;
  return { ok: true, secret, uri: totpUri({ secret, account, issuer: core.appName }) };
}

/** What `Accounts.confirmTotpSetup` does (documented there). */
export async function confirmTotpSetup(core: AccountsCore, input: { userId: string; code?: unknown }): Promise<ConfirmTotpSetupResult> {
  const factors = factorsOf(core, 'confirmTotpSetup');
  const user = await accountOf(core, 'confirmTotpSetup', input?.userId);
  const record = await factors.getTotp(user.id);
  if (record === null || record.confirmed) return { ok: false, reason: 'invalid' };
  const verdict = verifyTotp(record.secret, input.code, core.now());
  // Enabled only by a correct code (SEC-77); the step it used is spent at once (SEC-78). The store
  // refuses when a newer setup replaced this secret meanwhile, or a parallel confirm won.
  if (!verdict.ok || !(await factors.confirmTotp(user.id, record.secret, verdict.step))) return { ok: false, reason: 'invalid' };
  // After the confirmation, not before: the codes of a confirm that lost a race must not replace the winner's.
  const recoveryCodes = await replaceRecoveryCodes(factors, user.id);
  sendNotice(core, 'secondFactorAdded', user); // SEC-71, SEC-84
  core.events.emit('secondFactorAdded', { userId: user.id, method: 'totp' });
  return { ok: true, recoveryCodes };
}

/** What `Accounts.disableTotp` does (documented there). */
export async function disableTotp(core: AccountsCore, userId: string): Promise<boolean> {
  const factors = factorsOf(core, 'disableTotp');
  const user = await accountOf(core, 'disableTotp', userId);
  const record = await factors.getTotp(user.id);
  // The store deletes the recovery codes with the record (SEC-81: no code outlives its factor).
  if (!(await factors.deleteTotp(user.id))) return false;
  // An abandoned setup was never a factor: its removal is no news to the owner.
  if (record?.confirmed === true) {
    sendNotice(core, 'secondFactorRemoved', user); // SEC-71, SEC-84
    core.events.emit('secondFactorRemoved', { userId: user.id, method: 'totp' });
  }
  return true;
}

/** What `Accounts.regenerateRecoveryCodes` does (documented there). */
export async function regenerateRecoveryCodes(core: AccountsCore, userId: string): Promise<string[]> {
  const factors = factorsOf(core, 'regenerateRecoveryCodes');
  const user = await accountOf(core, 'regenerateRecoveryCodes', userId);
  if ((await factors.getTotp(user.id))?.confirmed !== true) throw new TypeError(`regenerateRecoveryCodes: account ${user.id} has no second factor`);
  return replaceRecoveryCodes(factors, user.id);
}

/** What `Accounts.hasSecondFactor` does: a confirmed authenticator (an unconfirmed setup is none) or a passkey. */
export async function hasSecondFactor(core: AccountsCore, userId: string): Promise<boolean> {
  return (await secondFactorMethods(core, userId, 'hasSecondFactor')).length > 0;
}

/** What `Accounts.secondFactorMethods` does: the account's second factors, TOTP first. */
export async function secondFactorMethods(core: AccountsCore, userId: string, call = 'secondFactorMethods'): Promise<SecondFactorMethod[]> {
  if (core.factors === null && core.credentials === null) factorsOf(core, call); // throws: neither is configured
  if (typeof userId !== 'string' || userId === '') throw new TypeError(`${call}: userId must be a non-empty string`);
  const [totp, passkeys] = await Promise.all([
    core.factors === null ? null : core.factors.getTotp(userId),
    core.credentials === null ? [] : core.credentials.listCredentials(userId),
  ]);
  const methods: SecondFactorMethod[] = [];
  if (totp?.confirmed === true) methods.push('totp');
  if (passkeys.length > 0) methods.push('passkey');
  return methods;
}

/** What `Accounts.notifySecondFactor` does (documented there). */
export async function notifySecondFactor(core: AccountsCore, userId: string, change: 'added' | 'removed', method: SecondFactorMethod): Promise<void> {
  if (change !== 'added' && change !== 'removed') throw new TypeError("notifySecondFactor: change must be 'added' or 'removed'");
  if (method !== 'totp' && method !== 'passkey') throw new TypeError("notifySecondFactor: method must be 'totp' or 'passkey'");
  const user = await accountOf(core, 'notifySecondFactor', userId);
  const added = change === 'added';
  // A passkey's own notice: the authenticator app's would speak of recovery codes that a passkey does not touch.
  const kind = method === 'passkey' ? (added ? 'passkeyAdded' : 'passkeyRemoved') : added ? 'secondFactorAdded' : 'secondFactorRemoved';
  sendNotice(core, kind, user); // SEC-71, SEC-84
  core.events.emit(added ? 'secondFactorAdded' : 'secondFactorRemoved', { userId: user.id, method });
}

/** What `Accounts.countRecoveryCodes` does: the unused codes left, for the account page (SEC-81). */
export async function countRecoveryCodes(core: AccountsCore, userId: string): Promise<number> {
  return factorsOf(core, 'countRecoveryCodes').countRecoveryCodes(userId);
}

/** A new set of 10 codes, of which only the hashes are stored; the old set is void (SEC-81). */
async function replaceRecoveryCodes(factors: FactorStore, userId: string): Promise<string[]> {
  const codes = generateRecoveryCodes();
  await factors.setRecoveryCodes(userId, codes.map(hashRecoveryCode));
  return codes;
}
