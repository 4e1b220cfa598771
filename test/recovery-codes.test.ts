/**
 * Recovery codes (SEC-81) through the package's exports: a set of 10 distinct codes of
 * 50 random bits each, read back from any reasonable spelling, stored as SHA-256 of one canonical
 * form (checked against node:crypto as the oracle), and garbage refused without a throw.
 *
 * @module test/recovery-codes
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode } from '../src/index.ts';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const FORM = /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/;

/** A randomBytes that hands out the given arrays in turn. */
function sequence(...draws: Uint8Array[]): (size: number) => Uint8Array {
  return (size) => {
    const next = draws.shift();
    assert.ok(next !== undefined && next.byteLength === size, `a draw of ${size} bytes`);
    return next;
  };
}

describe('recovery codes (SEC-81)', () => {
  it('SEC-81: a set is 10 distinct codes by default, in the form XXXXX-XXXXX of Crockford base32', () => {
    const codes = generateRecoveryCodes();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, FORM);
    assert.equal(generateRecoveryCodes(1).length, 1);
    assert.equal(new Set(generateRecoveryCodes(100)).size, 100);
    for (const count of [0, 101, 1.5, Number.NaN, -10]) assert.throws(() => generateRecoveryCodes(count), TypeError, String(count));
  });

  it('SEC-81: each code carries 50 bits: one draw of 10 bytes, 5 uniform bits per character (b and b + 32 agree)', () => {
    const low = Uint8Array.from({ length: 10 }, (_, i) => i * 3);
    const high = low.map((b) => b + 32 * (1 + (b % 7)));
    const [a] = generateRecoveryCodes(1, sequence(low));
    const [b] = generateRecoveryCodes(1, sequence(high));
    assert.equal(a, '0369C-FJNRV');
    assert.equal(b, a, 'only the low 5 bits of each byte count, and all of them do');
    const every = generateRecoveryCodes(4, sequence(...[0, 8, 16, 24].map((start) => Uint8Array.from({ length: 10 }, (_, i) => (start + i) % 32))));
    assert.deepEqual(new Set(every.join('').replaceAll('-', '')), new Set(CROCKFORD), 'all 32 symbols are reachable');
  });

  it('SEC-81: drawn codes use every symbol at every position (1 000 codes from the CSPRNG)', () => {
    const seen = Array.from({ length: 10 }, () => new Set<string>());
    for (let set = 0; set < 100; set++) {
      for (const code of generateRecoveryCodes()) [...code.replace('-', '')].forEach((char, i) => seen[i]?.add(char));
    }
    for (const [i, chars] of seen.entries()) assert.equal(chars.size, 32, `position ${i}`);
  });

  it('SEC-81: a duplicate draw is drawn again, and a source that keeps repeating itself is refused rather than looped on', () => {
    const one = new Uint8Array(10);
    const two = new Uint8Array(10).fill(1);
    assert.deepEqual(generateRecoveryCodes(2, sequence(one, one, two)), ['00000-00000', '11111-11111']);
    assert.throws(() => generateRecoveryCodes(3, () => new Uint8Array(10)), TypeError);
    assert.throws(() => generateRecoveryCodes(1, () => new Uint8Array(9)), TypeError);
  });

  it('SEC-81: normalization round trips, and reads case, hyphens, whitespace and the look-alikes I, L, O as one code', () => {
    for (const code of generateRecoveryCodes()) assert.equal(normalizeRecoveryCode(code), code);
    const spellings = ['1A0BC-D1EF0', '1a0bc-d1ef0', '1A0BCD1EF0', ' 1a0bc d1ef0 ', '1-a-0-b-c-d-1-e-f-0', '\t1A0BC\u00a0D1EF0\n', 'IA0BC-DLEFO', 'la0bc-dief0', '1AOBC-D1EF0'];
    for (const spelling of spellings) assert.equal(normalizeRecoveryCode(spelling), '1A0BC-D1EF0', JSON.stringify(spelling));
  });

  it('SEC-81: the stored hash is base64url SHA-256 of the canonical form: equal for every spelling, different per code', () => {
    const oracle = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');
    assert.equal(hashRecoveryCode('1A0BC-D1EF0'), oracle('1A0BC-D1EF0'));
    assert.equal(hashRecoveryCode(' ia0bc dlefo '), oracle('1A0BC-D1EF0'));
    const codes = generateRecoveryCodes();
    const hashes = codes.map(hashRecoveryCode);
    assert.equal(new Set(hashes).size, codes.length);
    for (const [i, hash] of hashes.entries()) assert.equal(hash, oracle(codes[i] as string));
  });

  it('SEC-81 attacker: garbage is null, never a throw, and hashRecoveryCode refuses it with TypeError', () => {
    const garbage: unknown[] = ['', '-----', '1A0BC-D1EF', '1A0BC-D1EF00', '1A0BC-D1EFU', 'UUUUU-UUUUU', '1A0BC_D1EF0', '1A0BC.D1EF0', '1A0BC+D1EF0', '1A0BC-D1EF*'];
    garbage.push('ıA0BC-D1EF0', '１A0BC-D1EF0', '1A0BC-D1EF😀', 'ﬀA0BC-D1EF', `${' '.repeat(60)}1A0BC-D1EF0`, '1A0BC-D1EF0'.repeat(1000), '1A0BC-D1EF0\u0000');
    garbage.push(1, 10n, null, undefined, ['1A0BC-D1EF0'], { toString: () => '1A0BC-D1EF0' }, new String('1A0BC-D1EF0'));
    for (const value of garbage) {
      assert.equal(normalizeRecoveryCode(value), null, JSON.stringify(String(value)).slice(0, 40));
      assert.throws(() => hashRecoveryCode(value as string), TypeError);
    }
  });
});
