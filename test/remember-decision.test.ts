/**
 * The one remember-me use decision (src/remember-decision.ts), as a pure function: rotate on the
 * current validator (SEC-37), grace on the previous one inside the window (SEC-39), theft on
 * anything else of a live series (SEC-38), and nothing for an unknown or ended series. The store
 * conformance suite checks that every store answers as this function does.
 *
 * @module test/remember-decision
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decideRememberUse, rememberUseOf, type RememberSeriesState } from '../src/remember-decision.ts';

const T0 = Date.UTC(2030, 0, 1);
const GRACE = 30_000;
const hash = () => createHash('sha256').update(randomBytes(32)).digest('base64url');

const CURRENT = hash();
const PREVIOUS = hash();
const ROTATED: RememberSeriesState = { validatorHash: CURRENT, previousHash: PREVIOUS, rotatedAt: T0, expiresAt: T0 + 86_400_000 };
const NEW: RememberSeriesState = { validatorHash: CURRENT, previousHash: null, rotatedAt: null, expiresAt: T0 + 86_400_000 };

describe('decideRememberUse', () => {
  it('rotates on the current validator, rotated before or not (SEC-37)', () => {
    assert.equal(decideRememberUse(NEW, CURRENT, T0, GRACE), 'rotate');
    assert.equal(decideRememberUse(ROTATED, CURRENT, T0 + 1, GRACE), 'rotate');
  });

  it('gives grace to the previous validator while now < rotatedAt + grace, and theft from then on (SEC-39, SEC-29)', () => {
    assert.equal(decideRememberUse(ROTATED, PREVIOUS, T0, GRACE), 'grace');
    assert.equal(decideRememberUse(ROTATED, PREVIOUS, T0 + GRACE - 1, GRACE), 'grace');
    assert.equal(decideRememberUse(ROTATED, PREVIOUS, T0 + GRACE, GRACE), 'theft');
    assert.equal(decideRememberUse(ROTATED, PREVIOUS, T0 + GRACE + 1, GRACE), 'theft');
  });

  it('treats the previous validator as theft at once with a zero grace window (SEC-38)', () => {
    assert.equal(decideRememberUse(ROTATED, PREVIOUS, T0, 0), 'theft');
  });

  it('as the attacker: a forged, empty or truncated validator is theft, never grace, even inside the window (SEC-38)', () => {
    for (const presented of [hash(), '', CURRENT.slice(0, -1), PREVIOUS.slice(0, -1), `${PREVIOUS}A`]) {
      assert.equal(decideRememberUse(ROTATED, presented, T0 + 1, GRACE), 'theft', presented);
      assert.equal(decideRememberUse(NEW, presented, T0 + 1, GRACE), 'theft', presented);
    }
  });

  it('an ended series is expired at exactly expiresAt, whatever is presented (SEC-29)', () => {
    assert.equal(decideRememberUse(NEW, CURRENT, NEW.expiresAt - 1, GRACE), 'rotate');
    for (const presented of [CURRENT, PREVIOUS, hash()]) assert.equal(decideRememberUse(ROTATED, presented, ROTATED.expiresAt, GRACE), 'expired');
  });

  it('an unknown series is unknown', () => {
    assert.equal(decideRememberUse(null, CURRENT, T0, GRACE), 'unknown');
  });
});

describe('rememberUseOf', () => {
  it('maps each decision to the frozen answer the Store contract gives', () => {
    assert.deepEqual(rememberUseOf('rotate', 'u1', 5), { status: 'valid', userId: 'u1', expiresAt: 5 });
    assert.deepEqual(rememberUseOf('grace', 'u1', 5), { status: 'grace', userId: 'u1', expiresAt: 5 });
    assert.deepEqual(rememberUseOf('theft', 'u1', 5), { status: 'stolen', userId: 'u1' });
    assert.equal(rememberUseOf('expired', 'u1', 5), null);
    assert.equal(rememberUseOf('unknown', 'u1', 5), null);
    assert.ok(Object.isFrozen(rememberUseOf('rotate', 'u1', 5)));
  });
});
