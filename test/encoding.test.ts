import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { encodeBase64url, hmacSha256, isBase64url, safeEqual, sha256 } from '../src/lib/encoding.ts';
import { parseToken, randomToken } from '../src/lib/tokens.ts';
import { signValue, verifyValue } from '../src/signed.ts';

describe('encoding helpers against oracles (STYLE §14)', () => {
  it('base64url matches Buffer for 0..64 random bytes, and views of larger buffers', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = randomBytes(n);
      assert.equal(encodeBase64url(bytes), bytes.toString('base64url'));
      const view = new Uint8Array(bytes.buffer, bytes.byteOffset + Math.min(1, n), Math.max(0, n - 1));
      assert.equal(encodeBase64url(view), Buffer.from(view).toString('base64url'));
    }
  });

  it('SHA-256 matches the FIPS 180-2 vector for "abc"', () => {
    assert.equal(Buffer.from(sha256('abc'), 'base64url').toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('HMAC-SHA-256 matches RFC 4231 test case 2 and node:crypto', () => {
    const mac = hmacSha256(new TextEncoder().encode('Jefe'), 'what do ya want for nothing?');
    assert.equal(Buffer.from(mac, 'base64url').toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    const key = randomBytes(32);
    assert.equal(hmacSha256(key, 'x'), createHmac('sha256', key).update('x').digest('base64url'));
    assert.equal(sha256('é'), createHash('sha256').update('é', 'utf8').digest('base64url'));
  });

  it('safeEqual compares and never throws on different lengths (SEC-04)', () => {
    assert.equal(safeEqual('abc', 'abc'), true);
    assert.equal(safeEqual('abc', 'abd'), false);
    assert.equal(safeEqual('abc', 'abcd'), false);
    assert.equal(safeEqual('', ''), true);
  });

  it('safeEqual agrees with crypto.timingSafeEqual on 2 000 random pairs', async () => {
    const { timingSafeEqual } = await import('node:crypto');
    for (let i = 0; i < 2000; i++) {
      const a = randomBytes(32).toString('base64url');
      const b = i % 2 === 0 ? a : a.slice(0, -1) + (a.endsWith('A') ? 'B' : 'A');
      assert.equal(safeEqual(a, b), timingSafeEqual(Buffer.from(a), Buffer.from(b)));
    }
  });
});

describe('tokens (SEC-19)', () => {
  it('makes 128-bit ids and 256-bit secrets, all different over 10 000 draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const secret = randomToken(randomBytes, 32);
      assert.ok(isBase64url(secret, 43));
      seen.add(secret);
    }
    assert.equal(seen.size, 10_000);
    assert.equal(randomToken(randomBytes, 16).length, 22);
  });

  it('refuses a randomBytes that returns too few bytes (misuse)', () => {
    assert.throws(() => randomToken(() => new Uint8Array(8), 32), TypeError);
  });

  it('parses only well-formed id.secret values', () => {
    const id = 'A'.repeat(22);
    const secret = 'b'.repeat(43);
    assert.deepEqual(parseToken(`${id}.${secret}`), { id, secret });
    for (const bad of [undefined, '', `${id}${secret}`, `${id}.${secret}.`, `${id}.${secret.slice(1)}`, `${id.slice(1)}=.${secret}`, `${id}.${secret.slice(1)}+`]) {
      assert.equal(parseToken(bad), null, String(bad));
    }
  });
});

describe('signed values', () => {
  const key = randomBytes(32);
  const old = randomBytes(32);

  it('round-trips JSON and verifies under a rotated key list', () => {
    const signed = signValue([old], 'flash', [['message', 'hi']]);
    assert.deepEqual(verifyValue([key, old], 'flash', signed), [['message', 'hi']]);
  });

  it('refuses another purpose, a tampered payload, a wrong key and junk', () => {
    const signed = signValue([key], 'flash', 'x');
    assert.equal(verifyValue([key], 'next', signed), undefined);
    assert.equal(verifyValue([randomBytes(32)], 'flash', signed), undefined);
    const [payload, mac] = signed.split('.') as [string, string];
    assert.equal(verifyValue([key], 'flash', `${Buffer.from('"y"').toString('base64url')}.${mac}`), undefined);
    assert.equal(verifyValue([key], 'flash', `${payload}.${mac}.x`), undefined);
    for (const junk of [undefined, '', '.', 'abc', '.abc']) assert.equal(verifyValue([key], 'flash', junk), undefined);
  });
});
