/**
 * The account's passkeys (the app's HTTP contract, "Second factors"): the creation options, adding one
 * (the browser's attestation, checked by latchkey/passkeys: origin, RP ID, challenge used once,
 * user verification, SEC-82), renaming and removing one. Adding and removing a factor need a fresh
 * login and tell the owner by mail (SEC-84): someone holding a remembered or stale session cannot
 * plant a passkey of their own, which would log them in for good, nor take the owner's away.
 * Renaming changes no protection: a login is enough. Every id in a path is the user's own or a 404,
 * whoever else's passkey it names.
 *
 * @module app/routes/passkeys
 */
import { freshLoginRequired, loginRequired } from 'latchkey/hono';
import { readInput, text } from '../body.ts';
import { isJson, json, problem, redirect } from '../answers.ts';
import { PASSKEY_ID, passkeyName } from '../passkeys.ts';
import type { AppContext, Deps, Handler, Route } from '../types.ts';
import { confirmPath } from '../views/confirm.ts';
import { formGuard } from './guard.ts';
import { credentialOf, passkeysOf, passkeysOn, registrationRefused } from './passkey-input.ts';

const NO_SUCH = 'No such passkey.';

export function passkeyRoutes(deps: Deps): Route[] {
  const { accounts } = deps;
  const guard = formGuard();
  const login = loginRequired();
  const fresh = freshLoginRequired({ next: '/account' });
  /** The guard of one passkey's removal: after re-authenticating, back to the confirmation of that passkey (views/confirm.ts). */
  const freshForPasskey: Handler = async (c, next) => {
    const id = c.req.param('id') ?? '';
    const denied = await c.get('auth').requireLogin({ fresh: true, next: PASSKEY_ID.test(id) ? confirmPath('passkey-delete', id) : '/account' });
    if (denied) return denied;
    await next();
  };
  const on = passkeysOn(deps);
  const user = async (c: AppContext) => (await c.get('auth').user())!;

  async function options(c: AppContext): Promise<Response> {
    const u = await user(c);
    const userName = u.email ?? u.username ?? u.id;
    const optionsJSON = await passkeysOf(deps).registrationOptions({ userId: u.id, userName, userDisplayName: u.name || userName });
    return json(c, 200, optionsJSON, { 'cache-control': 'no-store' });
  }

  async function add(c: AppContext): Promise<Response> {
    const u = await user(c);
    const given = credentialOf(c);
    if (!given.ok) return given.answer;
    const named = passkeyName(text(c.get('input'), 'name'), 'Passkey');
    if (!named.ok) return problem(c, 400, named.message, { errors: Object.assign(Object.create(null), { name: named.message }) });
    const result = await passkeysOf(deps).register({ userId: u.id, response: given.credential, name: named.name });
    if (!result.ok) return registrationRefused(c, result.reason);
    await accounts.notifySecondFactor(u.id, 'added', 'passkey'); // SEC-84: the owner hears of it
    return json(c, 201, { id: result.credential.id, name: result.credential.name, message: 'Passkey added.' });
  }

  async function done(c: AppContext, message: string, extra: Record<string, unknown> = {}): Promise<Response> {
    if (isJson(c)) return json(c, 200, { message, ...extra });
    c.get('auth').flash(message, 'success');
    return redirect(c, '/account#passkeys');
  }

  async function rename(c: AppContext): Promise<Response> {
    const u = await user(c);
    const id = c.req.param('id') ?? '';
    const named = passkeyName(text(c.get('input'), 'name'), null);
    if (!PASSKEY_ID.test(id)) return problem(c, 404, NO_SUCH);
    if (!named.ok) return problem(c, 400, named.message, { errors: Object.assign(Object.create(null), { name: named.message }) });
    if (!(await passkeysOf(deps).rename(u.id, id, named.name))) return problem(c, 404, NO_SUCH);
    return done(c, 'Passkey renamed.', { id, name: named.name });
  }

  async function remove(c: AppContext): Promise<Response> {
    const u = await user(c);
    const id = c.req.param('id') ?? '';
    if (!PASSKEY_ID.test(id) || !(await passkeysOf(deps).remove(u.id, id))) return problem(c, 404, NO_SUCH);
    await accounts.notifySecondFactor(u.id, 'removed', 'passkey'); // SEC-84
    return done(c, 'Passkey removed.');
  }

  return [
    { path: '/account/passkeys/options', POST: [login, readInput({}), guard, fresh, on, options] },
    { path: '/account/passkeys', POST: [login, readInput({ credential: 'object', name: 'text' }), guard, fresh, on, add] },
    { path: '/account/passkeys/:id/rename', POST: [login, readInput({ name: 'text' }), guard, on, rename] },
    { path: '/account/passkeys/:id/delete', POST: [login, readInput({}), guard, freshForPasskey, on, remove] },
  ];
}
