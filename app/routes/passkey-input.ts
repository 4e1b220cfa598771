/**
 * What the passkey routes share: the middleware that answers 404 while passkeys are off (a
 * PUBLIC_URL that is no secure context, app/passkeys.ts), the `credential` field (the browser's
 * WebAuthn answer, a JSON object whose shape latchkey/passkeys checks: absent is 400, never a 500,
 * SEC-76), and the words of a refused ceremony. A refusal is a 4xx whose reason is in the security
 * log, not in the answer: a prober learns no more than "not accepted" (SEC-82, SEC-83).
 *
 * @module app/routes/passkey-input
 */
import type { Passkeys, PasskeyRefusal } from 'latchkey/passkeys';
import { objectField } from '../body.ts';
import { problem } from '../answers.ts';
import type { AppContext, Deps, Handler } from '../types.ts';

export const NOT_ACCEPTED = 'The passkey was not accepted.';

/** Middleware: 404 while passkeys are off; else on to the handler. */
export function passkeysOn(deps: Deps): Handler {
  return async function passkeysOnMiddleware(c, next) {
    if (deps.passkeys === null) return problem(c, 404, 'Passkeys are not available on this site.');
    return next();
  };
}

/** The app's passkeys, behind {@link passkeysOn}. */
export function passkeysOf(deps: Deps): Passkeys {
  if (deps.passkeys === null) throw new TypeError('passkey routes run behind passkeysOn');
  return deps.passkeys;
}

/** The request's `credential`, or the 400 that says it is missing. */
export function credentialOf(c: AppContext): { ok: true; credential: object } | { ok: false; answer: Promise<Response> } {
  const credential = objectField(c.get('input'), 'credential');
  if (credential !== undefined) return { ok: true, credential };
  const message = 'Send credential: the browser\'s WebAuthn answer, as JSON.';
  return { ok: false, answer: problem(c, 400, message, { errors: Object.assign(Object.create(null), { credential: 'Required.' }) }) };
}

/** The answer to a refused registration: 409 for a passkey registered already, else 400. */
export function registrationRefused(c: AppContext, reason: Exclude<PasskeyRefusal, 'regressed'>): Promise<Response> {
  if (reason === 'taken') return problem(c, 409, 'This passkey is registered already.');
  if (reason === 'challenge') return problem(c, 400, 'The passkey request expired or was used. Try again.');
  return problem(c, 400, 'The passkey could not be verified.');
}
