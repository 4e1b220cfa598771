import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCookies, serializeCookie } from '../src/cookie.ts';

describe('readCookies (SEC-27)', () => {
  it('reads the wanted names and ignores others', () => {
    assert.deepEqual([...readCookies('a=1; b=2; c=3', ['a', 'c'])], [['a', '1'], ['c', '3']]);
  });

  it('treats a duplicated name as absent, whichever copy comes first', () => {
    assert.equal(readCookies('s=good; s=bad', ['s']).has('s'), false);
    assert.equal(readCookies('s=bad; s=good; s=good', ['s']).has('s'), false);
  });

  it('treats an oversized value as absent, and does not fall back to a later copy', () => {
    assert.equal(readCookies(`s=${'a'.repeat(4100)}`, ['s']).has('s'), false);
    assert.equal(readCookies(`s=${'a'.repeat(4100)}; s=ok`, ['s']).has('s'), false);
  });

  it('treats values outside base64url and "." as absent', () => {
    for (const value of ['"quoted"', 'a b', 'a,b', '%00', '+/=', '\u00ff']) {
      assert.equal(readCookies(`s=${value}`, ['s']).has('s'), false, value);
    }
  });

  it('matches names exactly: __host-s is not __Host-s', () => {
    assert.equal(readCookies('__host-s=1', ['__Host-s']).has('__Host-s'), false);
  });

  it('survives an absent, empty or garbage header', () => {
    for (const header of [null, undefined, '', ';;;', '=', 'novalue', '==;=']) {
      assert.equal(readCookies(header, ['s']).size, 0);
    }
  });
});

describe('serializeCookie (RFC 6265bis)', () => {
  it('writes a browser-session cookie without Max-Age', () => {
    assert.equal(serializeCookie('s', 'v', { httpOnly: true, secure: true, sameSite: 'Lax' }), 's=v; Path=/; Secure; HttpOnly; SameSite=Lax');
  });

  it('writes Max-Age and a matching Expires, capped at 400 days', () => {
    const now = Date.UTC(2026, 0, 1);
    assert.equal(serializeCookie('s', 'v', { maxAge: 60 }, now), 's=v; Max-Age=60; Expires=Thu, 01 Jan 2026 00:01:00 GMT; Path=/');
    assert.match(serializeCookie('s', 'v', { maxAge: 10 ** 9 }, now), /Max-Age=34560000;/);
  });

  it('deletes with Max-Age=0 and the epoch', () => {
    assert.equal(serializeCookie('s', '', { maxAge: 0 }), 's=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/');
  });

  it('throws TypeError on names or values that would break the header', () => {
    assert.throws(() => serializeCookie('a b', 'v'), TypeError);
    assert.throws(() => serializeCookie('s', 'v;Domain=evil'), TypeError);
    assert.throws(() => serializeCookie('s', 'v\r\nX: y'), TypeError);
  });
});
