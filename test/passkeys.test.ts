/**
 * `latchkey/passkeys` on a MemoryStore (challenges) and a SqliteUserStore (accounts and
 * credentials), one test clock for both, answered by the software authenticator of
 * test/support/authenticator.ts: the three ceremonies, then the attacker's attempts of SEC-82 and
 * SEC-83 (origin, RP ID, challenge reuse, purpose, owner and expiry, user verification, cloned
 * counters, foreign credentials and user handles, malformed responses), the owner's list, misuse
 * and store failures. The same round trip on every store is in passkeys-stores.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256 } from '../src/lib/encoding.ts';
import { createPasskeys, type PasskeyEvents, type PasskeysOptions } from '../src/passkeys/index.ts';
import { SqliteUserStore } from '../src/sqlite/user-store.ts';
import { createTestClock } from '../src/testing/clock.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';
import { SoftwareAuthenticator, type Tamper } from './support/authenticator.ts';

const ORIGIN = 'https://app.example';
const RP_ID = 'app.example';
const FIVE_MINUTES = 5 * 60_000;
const EVENTS = ['passkeyAdded', 'passkeyUsed', 'passkeyRemoved', 'passkeyRejected', 'passkeyCounterRegressed'] as const;

type World = Awaited<ReturnType<typeof world>>;

/** Stores on one test clock, passkeys over them, an account, its authenticator, and the events seen. */
async function world(t: { after(fn: () => unknown): void }, options: Partial<PasskeysOptions> = {}) {
  const clock = createTestClock(Date.UTC(2026, 0, 5, 9));
  const store = new MemoryStore({ now: clock.now });
  const users = new SqliteUserStore({ path: ':memory:', now: clock.now });
  t.after(async () => {
    await users.close();
    await store.close();
  });
  const passkeys = createPasskeys({ rpId: RP_ID, rpName: 'App', origin: ORIGIN, credentials: users, challenges: store, ...options });
  const events: Array<[keyof PasskeyEvents, unknown]> = [];
  for (const name of EVENTS) passkeys.on(name, (payload) => events.push([name, payload]));
  let n = 0;
  const account = async () => {
    n++;
    const user = await users.createUser({ email: `u${n}@app.example`, emailCanonical: `u${n}@app.example`, username: null, usernameCanonical: null, name: `U${n}`, passwordHash: 'x' });
    assert.ok(user);
    return user.id;
  };
  const userId = await account();
  const authenticator = new SoftwareAuthenticator({ origin: ORIGIN });
  return { clock, store, users, passkeys, events, account, userId, authenticator, rejected: () => events.filter(([name]) => name === 'passkeyRejected').map(([, p]) => (p as { reason: string }).reason) };
}

/** Registers a passkey of `authenticator` for `userId`; returns its id. */
async function enrol(w: World, userId = w.userId, authenticator = w.authenticator, name = 'Laptop'): Promise<string> {
  const options = await w.passkeys.registrationOptions({ userId, userName: `user-${userId}` });
  const result = await w.passkeys.register({ userId, response: authenticator.startRegistration(options), name });
  assert.ok(result.ok, JSON.stringify(result));
  return result.credential.id;
}

/** An assertion for the second step of `userId` (or passwordless, without), with `tamper`. */
async function assertion(w: World, userId: string | undefined, tamper: Tamper = {}, authenticator = w.authenticator) {
  const options = await w.passkeys.authenticationOptions(userId === undefined ? {} : { userId });
  return authenticator.startAuthentication(options, tamper);
}

describe('passkey ceremonies', () => {
  it('SEC-82: registration options ask for a discoverable, user-verified credential without attestation, under a 256-bit challenge stored only as its hash, for 5 minutes', async (t) => {
    const w = await world(t);
    const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada@app.example', userDisplayName: 'Ada' });
    assert.deepEqual(options.rp, { name: 'App', id: RP_ID });
    assert.deepEqual(options.user, { id: Buffer.from(w.userId).toString('base64url'), name: 'ada@app.example', displayName: 'Ada' });
    assert.equal(options.authenticatorSelection?.residentKey, 'required');
    assert.equal(options.authenticatorSelection?.userVerification, 'required');
    assert.equal(options.attestation, 'none');
    assert.equal(options.timeout, FIVE_MINUTES);
    assert.deepEqual(options.pubKeyCredParams.map((p) => p.alg), [-8, -7, -257]);
    assert.equal(Buffer.from(options.challenge, 'base64url').length, 32);
    const stored = await w.store.findToken(sha256(options.challenge), 'passkey-register');
    assert.ok(stored, 'the hash of the challenge is stored');
    assert.equal(stored.userId, w.userId);
    assert.equal(stored.expiresAt - stored.createdAt, FIVE_MINUTES);
    const again = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada@app.example' });
    assert.notEqual(again.challenge, options.challenge, 'a new challenge each time');
    assert.equal(again.user.displayName, 'ada@app.example', 'the display name defaults to the user name');
  });

  it('SEC-82, SEC-83: registers a passkey, completes a second step with it, then logs in with it alone (the round trip), counting its uses', async (t) => {
    const w = await world(t);
    const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
    const registered = await w.passkeys.register({ userId: w.userId, response: w.authenticator.startRegistration(options), name: 'Laptop 💻' });
    assert.ok(registered.ok);
    assert.equal(registered.credential.userId, w.userId);
    assert.equal(registered.credential.name, 'Laptop 💻');
    assert.deepEqual(registered.credential.transports, ['internal', 'hybrid']);
    assert.equal(registered.credential.counter, 0);
    const id = registered.credential.id;
    assert.equal(await w.passkeys.has(w.userId), true);

    const stepOptions = await w.passkeys.authenticationOptions({ userId: w.userId });
    assert.deepEqual(stepOptions.allowCredentials?.map((c) => c.id), [id]);
    assert.equal(stepOptions.userVerification, 'preferred');
    const step = await w.passkeys.authenticate({ userId: w.userId, response: w.authenticator.startAuthentication(stepOptions) });
    assert.ok(step.ok, JSON.stringify(step));
    assert.deepEqual([step.userId, step.credential.id, step.credential.counter, step.userVerified], [w.userId, id, 1, true]);

    w.clock.advance(1000);
    const loginOptions = await w.passkeys.authenticationOptions();
    assert.equal(loginOptions.allowCredentials, undefined, 'passwordless: the authenticator offers its discoverable credentials');
    assert.equal(loginOptions.userVerification, 'required');
    const login = await w.passkeys.authenticate({ response: w.authenticator.startAuthentication(loginOptions) });
    assert.ok(login.ok, JSON.stringify(login));
    assert.deepEqual([login.userId, login.credential.counter, login.userVerified], [w.userId, 2, true]);
    const [stored] = await w.passkeys.list(w.userId);
    assert.deepEqual([stored?.counter, stored?.lastUsedAt], [2, w.clock.now()]);
    assert.deepEqual(w.events, [
      ['passkeyAdded', { userId: w.userId, credentialId: id }],
      ['passkeyUsed', { userId: w.userId, credentialId: id, userVerified: true }],
      ['passkeyUsed', { userId: w.userId, credentialId: id, userVerified: true }],
    ]);
  });

  it("excludes the user's passkeys from new registration options, and lists only the user's own for the step", async (t) => {
    const w = await world(t);
    const first = await enrol(w);
    const second = await enrol(w, w.userId, new SoftwareAuthenticator({ origin: ORIGIN }), 'Phone');
    const other = await w.account();
    await enrol(w, other, new SoftwareAuthenticator({ origin: ORIGIN }));
    const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
    assert.deepEqual(options.excludeCredentials?.map((c) => c.id), [first, second]);
    assert.throws(() => w.authenticator.startRegistration(options), /InvalidStateError/, 'the authenticator declines to register twice');
    const step = await w.passkeys.authenticationOptions({ userId: w.userId });
    assert.deepEqual(step.allowCredentials?.map((c) => c.id), [first, second]);
  });

  it("lets only the owner list, rename and remove a passkey, and a removed passkey logs nobody in", async (t) => {
    const w = await world(t);
    const id = await enrol(w);
    const attacker = await w.account();
    assert.deepEqual(await w.passkeys.list(attacker), []);
    assert.equal(await w.passkeys.rename(attacker, id, 'Mine'), false);
    assert.equal(await w.passkeys.remove(attacker, id), false);
    assert.equal(await w.passkeys.rename(w.userId, id, 'Work laptop'), true);
    assert.equal((await w.passkeys.list(w.userId))[0]?.name, 'Work laptop');
    const pending = await assertion(w, undefined);
    assert.equal(await w.passkeys.remove(w.userId, id), true);
    assert.equal(await w.passkeys.has(w.userId), false);
    assert.deepEqual(await w.passkeys.authenticate({ response: pending }), { ok: false, reason: 'invalid' });
    assert.deepEqual(await w.passkeys.authenticate({ userId: w.userId, response: await assertion(w, w.userId, { credentialId: id }) }), { ok: false, reason: 'invalid' });
    assert.deepEqual(w.events.filter(([name]) => name === 'passkeyRemoved'), [['passkeyRemoved', { userId: w.userId, credentialId: id }]]);
  });

  it('SEC-83: an authenticator without a counter (always 0) is accepted every time', async (t) => {
    const w = await world(t);
    const authenticator = new SoftwareAuthenticator({ origin: ORIGIN, counterStep: 0 });
    await enrol(w, w.userId, authenticator);
    for (let i = 0; i < 2; i++) assert.equal((await w.passkeys.authenticate({ response: await assertion(w, undefined, {}, authenticator) })).ok, true);
  });
});

describe('passkeys, as the attacker (SEC-82, SEC-83)', () => {
  it('SEC-82: refuses a registration and an assertion made on another origin (a phishing page)', async (t) => {
    const w = await world(t);
    for (const origin of ['https://app.example.evil', 'http://app.example', 'https://app.example:8443', 'https://evil.example']) {
      const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
      assert.deepEqual(await w.passkeys.register({ userId: w.userId, response: w.authenticator.startRegistration(options, { origin }), name: 'x' }), { ok: false, reason: 'invalid' }, origin);
    }
    await enrol(w);
    for (const userId of [w.userId, undefined]) {
      const response = await assertion(w, userId, { origin: 'https://evil.example' });
      assert.deepEqual(await w.passkeys.authenticate({ userId, response }), { ok: false, reason: 'invalid' });
    }
  });

  it('SEC-82: refuses a registration and an assertion for another RP ID', async (t) => {
    const w = await world(t);
    const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
    assert.deepEqual(await w.passkeys.register({ userId: w.userId, response: w.authenticator.startRegistration(options, { rpId: 'evil.example' }), name: 'x' }), { ok: false, reason: 'invalid' });
    await enrol(w);
    for (const userId of [w.userId, undefined]) {
      assert.deepEqual(await w.passkeys.authenticate({ userId, response: await assertion(w, userId, { rpId: 'example' }) }), { ok: false, reason: 'invalid' });
    }
    assert.deepEqual(w.rejected(), ['invalid', 'invalid', 'invalid']);
  });

  it('SEC-82: a challenge counts once: the same assertion or registration sent again is refused', async (t) => {
    const w = await world(t);
    const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
    const created = w.authenticator.startRegistration(options);
    assert.equal((await w.passkeys.register({ userId: w.userId, response: created, name: 'Laptop' })).ok, true);
    assert.deepEqual(await w.passkeys.register({ userId: w.userId, response: created, name: 'Laptop' }), { ok: false, reason: 'challenge' });
    for (const userId of [w.userId, undefined]) {
      const response = await assertion(w, userId);
      assert.equal((await w.passkeys.authenticate({ userId, response })).ok, true);
      assert.deepEqual(await w.passkeys.authenticate({ userId, response }), { ok: false, reason: 'challenge' });
    }
  });

  it('SEC-82, SEC-83: of two parallel uses of one assertion, exactly one logs in', async (t) => {
    const w = await world(t);
    await enrol(w);
    const response = await assertion(w, undefined);
    const results = await Promise.all([w.passkeys.authenticate({ response }), w.passkeys.authenticate({ response })]);
    assert.deepEqual(results.map((r) => r.ok).sort(), [false, true]);
  });

  it("SEC-82: a challenge issued to user A is refused for user B, in registration and in the second step", async (t) => {
    const w = await world(t);
    const b = await w.account();
    const mallory = new SoftwareAuthenticator({ origin: ORIGIN });
    const forA = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'a' });
    assert.deepEqual(await w.passkeys.register({ userId: b, response: mallory.startRegistration(forA), name: 'x' }), { ok: false, reason: 'challenge' });
    await enrol(w, b, mallory);
    const stepOfA = await w.passkeys.authenticationOptions({ userId: w.userId });
    const response = mallory.startAuthentication({ ...stepOfA, allowCredentials: [] });
    assert.deepEqual(await w.passkeys.authenticate({ userId: b, response }), { ok: false, reason: 'challenge' });
  });

  it('SEC-82: a challenge serves only the ceremony it was issued for (registration, step, passwordless)', async (t) => {
    const w = await world(t);
    const id = await enrol(w);
    const registration = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
    const step = await w.passkeys.authenticationOptions({ userId: w.userId });
    const login = await w.passkeys.authenticationOptions();
    const answer = (challenge: string) => w.authenticator.startAuthentication({ challenge, rpId: RP_ID }, { credentialId: id });
    assert.deepEqual(await w.passkeys.authenticate({ response: answer(registration.challenge) }), { ok: false, reason: 'challenge' });
    assert.deepEqual(await w.passkeys.authenticate({ userId: w.userId, response: answer(registration.challenge) }), { ok: false, reason: 'challenge' });
    assert.deepEqual(await w.passkeys.authenticate({ response: answer(step.challenge) }), { ok: false, reason: 'challenge' });
    assert.deepEqual(await w.passkeys.authenticate({ userId: w.userId, response: answer(login.challenge) }), { ok: false, reason: 'challenge' });
    const created = new SoftwareAuthenticator({ origin: ORIGIN }).startRegistration({ ...registration, challenge: login.challenge, excludeCredentials: [] });
    assert.deepEqual(await w.passkeys.register({ userId: w.userId, response: created, name: 'x' }), { ok: false, reason: 'challenge' });
  });

  it('SEC-82: a challenge expires after challengeTimeout on the store clock (5 minutes by default)', async (t) => {
    const w = await world(t);
    await enrol(w);
    const late = await assertion(w, undefined);
    const inTime = await assertion(w, undefined);
    w.clock.advance(FIVE_MINUTES - 1);
    assert.equal((await w.passkeys.authenticate({ response: inTime })).ok, true);
    w.clock.advance(1);
    assert.deepEqual(await w.passkeys.authenticate({ response: late }), { ok: false, reason: 'challenge' });
    const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
    w.clock.advance(FIVE_MINUTES);
    const created = new SoftwareAuthenticator({ origin: ORIGIN }).startRegistration({ ...options, excludeCredentials: [] });
    assert.deepEqual(await w.passkeys.register({ userId: w.userId, response: created, name: 'x' }), { ok: false, reason: 'challenge' });
  });

  it('SEC-82: without user verification, a passwordless login and a registration are refused; the second step after a password accepts it', async (t) => {
    const w = await world(t);
    const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
    assert.deepEqual(await w.passkeys.register({ userId: w.userId, response: w.authenticator.startRegistration(options, { userVerified: false }), name: 'x' }), { ok: false, reason: 'invalid' });
    const id = await enrol(w);
    assert.deepEqual(await w.passkeys.authenticate({ response: await assertion(w, undefined, { userVerified: false }) }), { ok: false, reason: 'invalid' });
    const step = await w.passkeys.authenticate({ userId: w.userId, response: await assertion(w, w.userId, { userVerified: false }) });
    assert.ok(step.ok);
    assert.equal(step.userVerified, false);
    assert.deepEqual(await w.passkeys.authenticate({ userId: w.userId, response: await assertion(w, w.userId, { userPresent: false, userVerified: false }) }), { ok: false, reason: 'invalid' }, 'presence is always required');
    assert.deepEqual(w.events.filter(([name]) => name === 'passkeyUsed').at(-1), ['passkeyUsed', { userId: w.userId, credentialId: id, userVerified: false }]);
  });

  it('SEC-83: a cloned authenticator whose counter goes back is refused as regressed and reported', async (t) => {
    const w = await world(t);
    const id = await enrol(w);
    const clone = w.authenticator.clone();
    assert.equal((await w.passkeys.authenticate({ response: await assertion(w, undefined) })).ok, true);
    assert.equal((await w.passkeys.authenticate({ response: await assertion(w, undefined) })).ok, true);
    // The clone's next counter (1) is behind the original's (2).
    assert.deepEqual(await w.passkeys.authenticate({ response: await assertion(w, undefined, {}, clone) }), { ok: false, reason: 'regressed' });
    assert.deepEqual(await w.passkeys.authenticate({ userId: w.userId, response: await assertion(w, w.userId, { counter: 2 }) }), { ok: false, reason: 'regressed' }, 'an equal counter too');
    assert.deepEqual(w.events.filter(([name]) => name === 'passkeyCounterRegressed'), [
      ['passkeyCounterRegressed', { userId: w.userId, credentialId: id }],
      ['passkeyCounterRegressed', { userId: w.userId, credentialId: id }],
    ]);
    assert.deepEqual(w.events.at(-1), ['passkeyRejected', { reason: 'regressed', userId: w.userId, credentialId: id }]);
    assert.equal((await w.passkeys.list(w.userId))[0]?.counter, 2, 'nothing changed');
  });

  it("refuses user A's passkey in user B's second step, and a passwordless assertion whose userHandle is not the credential's owner", async (t) => {
    const w = await world(t);
    const idOfA = await enrol(w);
    const b = await w.account();
    await enrol(w, b, new SoftwareAuthenticator({ origin: ORIGIN }));
    assert.deepEqual(await w.passkeys.authenticate({ userId: b, response: await assertion(w, b, { credentialId: idOfA }) }), { ok: false, reason: 'invalid' });
    assert.deepEqual(w.events.at(-1), ['passkeyRejected', { reason: 'invalid', userId: b, credentialId: idOfA }]);
    for (const userHandle of [Buffer.from(b).toString('base64url'), '', 'AAAA']) {
      assert.deepEqual(await w.passkeys.authenticate({ response: await assertion(w, undefined, { credentialId: idOfA, userHandle }) }), { ok: false, reason: 'invalid' }, userHandle);
    }
    const withoutHandle = await w.passkeys.authenticate({ response: await assertion(w, undefined, { credentialId: idOfA, userHandle: null }) });
    assert.ok(withoutHandle.ok && withoutHandle.userId === w.userId, 'without a userHandle the credential names its owner');
  });

  it('refuses an unknown credential, a bad signature, and a credential id registered already (taken)', async (t) => {
    const w = await world(t);
    const id = await enrol(w);
    const stranger = new SoftwareAuthenticator({ origin: ORIGIN });
    const b = await w.account();
    const options = await w.passkeys.registrationOptions({ userId: b, userName: 'b' });
    assert.deepEqual(await w.passkeys.register({ userId: b, response: stranger.startRegistration(options, { credentialId: id }), name: 'x' }), { ok: false, reason: 'taken' });
    // The stranger now holds a key under that id, which the stored public key does not match.
    assert.deepEqual(await w.passkeys.authenticate({ response: await assertion(w, undefined, { credentialId: id, userHandle: null }, stranger) }), { ok: false, reason: 'invalid' });
    assert.deepEqual(await w.passkeys.authenticate({ response: await assertion(w, undefined, { badSignature: true }) }), { ok: false, reason: 'invalid' });
    // A credential made for options whose registration was never sent: the server does not know it.
    const unregistered = new SoftwareAuthenticator({ origin: ORIGIN });
    unregistered.startRegistration(await w.passkeys.registrationOptions({ userId: b, userName: 'b' }));
    assert.deepEqual(await w.passkeys.authenticate({ response: await assertion(w, undefined, {}, unregistered) }), { ok: false, reason: 'invalid' });
    assert.deepEqual(w.rejected(), ['taken', 'invalid', 'invalid', 'invalid']);
    assert.equal((await w.passkeys.list(w.userId))[0]?.counter, 0, 'no refused assertion moved the counter');
  });
});

describe('passkeys, given malformed responses (from the network: never a throw)', () => {
  /** Every way a posted response can be broken, as edits of a good one. */
  const BREAKAGES: Array<[string, (r: any) => unknown]> = [
    ['undefined', () => undefined],
    ['null', () => null],
    ['a string', () => 'response'],
    ['a number', () => 42],
    ['an array', () => []],
    ['an empty object', () => ({})],
    ['no id', (r) => ({ ...r, id: undefined })],
    ['an id of 2000 characters', (r) => ({ ...r, id: 'A'.repeat(2000), rawId: 'A'.repeat(2000) })],
    ['rawId not the id', (r) => ({ ...r, rawId: 'AAAA' })],
    ['an id that is not base64url', (r) => ({ ...r, id: 'a+b/c=', rawId: 'a+b/c=' })],
    ['type not public-key', (r) => ({ ...r, type: 'password' })],
    ['no response', (r) => ({ ...r, response: undefined })],
    ['response an array', (r) => ({ ...r, response: [] })],
    ['clientDataJSON missing', (r) => ({ ...r, response: { ...r.response, clientDataJSON: undefined } })],
    ['clientDataJSON a number', (r) => ({ ...r, response: { ...r.response, clientDataJSON: 7 } })],
    ['clientDataJSON not base64url', (r) => ({ ...r, response: { ...r.response, clientDataJSON: '{"type":"webauthn.get"}' } })],
    ['clientDataJSON not JSON', (r) => ({ ...r, response: { ...r.response, clientDataJSON: Buffer.from('not json').toString('base64url') } })],
    ['clientDataJSON a JSON array', (r) => ({ ...r, response: { ...r.response, clientDataJSON: Buffer.from('[1]').toString('base64url') } })],
    ['clientDataJSON huge', (r) => ({ ...r, response: { ...r.response, clientDataJSON: 'A'.repeat(100_000) } })],
    ['a challenge that is no string', (r) => edit(r, (c) => ({ ...c, challenge: { $ne: null } }))],
    ['a short challenge', (r) => edit(r, (c) => ({ ...c, challenge: 'abc' }))],
    ['the other ceremony\'s type', (r) => edit(r, (c) => ({ ...c, type: c.type === 'webauthn.get' ? 'webauthn.create' : 'webauthn.get' }))],
    ['__proto__ in clientDataJSON', (r) => ({ ...r, response: { ...r.response, clientDataJSON: Buffer.from('{"__proto__":{"type":"webauthn.get"}}').toString('base64url') } })],
    ['binary fields empty', (r) => ({ ...r, response: { ...r.response, attestationObject: '', authenticatorData: '', signature: '' } })],
    ['binary fields of garbage (bad CBOR, truncated data)', (r) => ({ ...r, response: { ...r.response, attestationObject: 'AAAA', authenticatorData: 'AAAA', signature: 'AAAA' } })],
    ['binary fields not strings', (r) => ({ ...r, response: { ...r.response, attestationObject: [1], authenticatorData: {}, signature: 1 } })],
  ];
  const REGISTRATION_ONLY: typeof BREAKAGES = [['transports not an array', (r) => ({ ...r, response: { ...r.response, transports: 'usb' } })]];
  const ASSERTION_ONLY: typeof BREAKAGES = [
    ['a userHandle that is no string', (r) => ({ ...r, response: { ...r.response, userHandle: 12 } })],
    ['a userHandle of 1000 characters', (r) => ({ ...r, response: { ...r.response, userHandle: 'A'.repeat(1000) } })],
  ];

  /** The response with its clientDataJSON replaced by `change` of it. */
  function edit(r: any, change: (c: Record<string, unknown>) => unknown): unknown {
    const data = JSON.parse(Buffer.from(r.response.clientDataJSON, 'base64url').toString('utf8'));
    return { ...r, response: { ...r.response, clientDataJSON: Buffer.from(JSON.stringify(change(data))).toString('base64url') } };
  }

  it('answers invalid (or challenge, once the challenge is spent) to every broken registration, and stores nothing', async (t) => {
    const w = await world(t);
    for (const [label, breakIt] of [...BREAKAGES, ...REGISTRATION_ONLY]) {
      const options = await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' });
      const response = breakIt(new SoftwareAuthenticator({ origin: ORIGIN }).startRegistration(options));
      const result = await w.passkeys.register({ userId: w.userId, response, name: 'x' });
      assert.equal(result.ok, false, label);
      assert.ok(!result.ok && ['invalid', 'challenge'].includes(result.reason), label);
    }
    assert.deepEqual(await w.passkeys.list(w.userId), []);
    assert.equal(w.rejected().length, BREAKAGES.length + REGISTRATION_ONLY.length, 'each refusal emitted');
  });

  it('answers invalid (or challenge) to every broken assertion, in the step and passwordless, and moves no counter', async (t) => {
    const w = await world(t);
    await enrol(w);
    for (const userId of [w.userId, undefined]) {
      for (const [label, breakIt] of [...BREAKAGES, ...ASSERTION_ONLY]) {
        const result = await w.passkeys.authenticate({ userId, response: breakIt(await assertion(w, userId)) });
        assert.ok(!result.ok && ['invalid', 'challenge'].includes(result.reason), `${label}: ${JSON.stringify(result)}`);
      }
    }
    assert.equal((await w.passkeys.list(w.userId))[0]?.counter, 0);
  });
});

describe('passkeys, misused or with failing stores', () => {
  it('throws TypeError for options that are not what they must be, naming the option', async (t) => {
    const w = await world(t);
    const good = { rpId: RP_ID, rpName: 'App', origin: ORIGIN, credentials: w.users, challenges: w.store };
    const bad: Array<[string, Record<string, unknown>]> = [
      ['origin', { origin: 'http://app.example' }],
      ['origin', { origin: 'https://app.example/' }],
      ['origin', { origin: 'https://app.example/login' }],
      ['origin', { origin: 'app.example' }],
      ['origin', { origin: [] }],
      ['rpId', { rpId: 'evil.example' }],
      ['rpId', { rpId: 'example' }],
      ['rpId', { rpId: 'APP.example' }],
      ['rpId', { origin: 'https://example', rpId: 'example.' }],
      ['rpName', { rpName: '' }],
      ['credentials', { credentials: {} }],
      ['challenges', { challenges: w.users }],
      ['challengeTimeout', { challengeTimeout: '6m' }],
      ['challengeTimeout', { challengeTimeout: '1s' }],
      ['storeTimeout', { storeTimeout: 'soon' }],
      ['randomBytes', { randomBytes: 'yes' }],
    ];
    for (const [name, change] of bad) assert.throws(() => createPasskeys({ ...good, ...change } as PasskeysOptions), (e: Error) => e instanceof TypeError && e.message.includes(name), JSON.stringify(change));
    assert.ok(createPasskeys({ ...good, rpId: 'app.example', origin: ['https://app.example', 'https://login.app.example'] }));
    assert.ok(createPasskeys({ ...good, rpId: 'localhost', origin: 'http://localhost:3000' }), 'http on a loopback host');
  });

  it('throws TypeError for calls that are not what they must be', async (t) => {
    const w = await world(t);
    const response = w.authenticator.startRegistration(await w.passkeys.registrationOptions({ userId: w.userId, userName: 'ada' }));
    await assert.rejects(() => w.passkeys.registrationOptions({ userId: '', userName: 'x' }), TypeError);
    await assert.rejects(() => w.passkeys.registrationOptions({ userId: 'é'.repeat(33), userName: 'x' }), /64 bytes/);
    await assert.rejects(() => w.passkeys.registrationOptions({ userId: w.userId, userName: '' }), TypeError);
    await assert.rejects(() => w.passkeys.register({ userId: w.userId, response, name: '' }), TypeError);
    await assert.rejects(() => w.passkeys.register({ userId: w.userId, response, name: 'x'.repeat(101) }), TypeError);
    await assert.rejects(() => w.passkeys.register(undefined as never), TypeError);
    await assert.rejects(() => w.passkeys.authenticate({ userId: 7 as never, response }), TypeError);
    await assert.rejects(() => w.passkeys.rename(w.userId, 'not base64url!', 'x'), TypeError);
    assert.equal((await w.passkeys.register({ userId: w.userId, response, name: 'Laptop' })).ok, true, 'a misused call spends no challenge');
  });

  it('R-03: a challenge store or a credential store that never answers is a coded timeout, not a hang', async (t) => {
    const w = await world(t);
    const hanging = { createToken: () => new Promise<never>(() => {}), findToken: () => new Promise<never>(() => {}), consumeToken: () => new Promise<never>(() => {}), deleteUserTokens: () => new Promise<never>(() => {}) };
    const slow = createPasskeys({ rpId: RP_ID, rpName: 'App', origin: ORIGIN, credentials: w.users, challenges: hanging, storeTimeout: 50 });
    await assert.rejects(() => slow.authenticationOptions(), { code: 'ERR_LATCHKEY_STORE_TIMEOUT' });
    const failing = Object.assign(Object.create(w.users) as SqliteUserStore, { listCredentials: () => Promise.reject(new Error('disk I/O error')) });
    const broken = createPasskeys({ rpId: RP_ID, rpName: 'App', origin: ORIGIN, credentials: failing, challenges: w.store });
    await assert.rejects(() => broken.has(w.userId), (e: any) => e.code === 'ERR_LATCHKEY_STORE_UNAVAILABLE' && e.cause?.message === 'disk I/O error');
  });
});
