import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLoginManager } from '../src/manager.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';
import { forwardedFor, forwardedProto, resolveTrustProxy } from '../src/proxy.ts';

/** A request context as the adapters make it: a socket address, and the headers as sent. */
function context(trustProxy: boolean | number, headers: Record<string, string>, url = 'http://app.example/') {
  const manager = createLoginManager({ store: new MemoryStore(), secret: 's'.repeat(32), loadUser: () => null, trustProxy });
  return manager.forRequest(new Request(url, { headers }), { remoteAddress: '192.0.2.10' });
}

describe('X-Forwarded-For and X-Forwarded-Proto under one trust rule (finding 5, SEC-53)', () => {
  it('finding 5: the four malformed X-Forwarded-For values of the audit read as no forwarded address, never a throw', () => {
    for (const header of ['1.2.3.4:5678', '[2001:db8::1]', 'garbage', '1.2.3.4, garbage']) {
      const auth = context(true, { 'x-forwarded-for': header });
      assert.doesNotThrow(() => auth.clientIp, header);
    }
    // The first two are valid forms (an address with a port, a bracketed IPv6): their address is read.
    assert.equal(forwardedFor('1.2.3.4:5678', 1), '1.2.3.4');
    assert.equal(forwardedFor('[2001:db8::1]', 1), '2001:db8::1');
    // The other two are not addresses: the socket's address stands.
    assert.equal(forwardedFor('garbage', 1), null);
    assert.equal(forwardedFor('1.2.3.4, garbage', 1), null);
    assert.equal(context(true, { 'x-forwarded-for': 'garbage' }).clientIp, '192.0.2.10');
    assert.equal(context(true, { 'x-forwarded-for': '1.2.3.4, garbage' }).clientIp, '192.0.2.10');
  });

  it('finding 5: reads every valid form of an X-Forwarded-For entry, normalised', () => {
    const valid: Array<[string, string]> = [
      ['1.2.3.4', '1.2.3.4'],
      ['1.2.3.4:5678', '1.2.3.4'],
      ['2001:db8::1', '2001:db8::1'],
      ['[2001:db8::1]', '2001:db8::1'],
      ['[2001:db8::1]:443', '2001:db8::1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['  203.0.113.9  ', '203.0.113.9'],
      ['::ffff:198.51.100.4', '198.51.100.4'],
      ['[::ffff:198.51.100.4]:80', '198.51.100.4'],
    ];
    for (const [entry, address] of valid) assert.equal(forwardedFor(entry, 1), address, entry);
  });

  it('finding 5: anything else is no forwarded address (empty, unknown, obfuscated ids, zones, look-alikes)', () => {
    const invalid = [
      '', ' ', ',', 'unknown', '_hidden', '_gazonk', 'garbage', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '1.2.3.4:',
      '1.2.3.4:port', '1.2.3.4:123456', '[1.2.3.4]', '[2001:db8::1', '2001:db8::1]', '[2001:db8::1]:', '[2001:db8::1]:x',
      'fe80::1%eth0', '[fe80::1%25eth0]', '2001:db8:::1', '2001:db8::g', 'for=192.0.2.43', '"[2001:db8::1]"', 'localhost', '0x7f.1',
    ];
    for (const entry of invalid) assert.equal(forwardedFor(entry, 1), null, JSON.stringify(entry));
    assert.equal(forwardedFor(null, 1), null);
  });

  it('finding 5: both headers read the entry the outermost trusted proxy appended, e[max(0, n - hops)]', () => {
    const chain = '198.51.100.1, 198.51.100.2, 198.51.100.3';
    assert.equal(forwardedFor(chain, 0), null);
    assert.equal(forwardedFor(chain, 1), '198.51.100.3');
    assert.equal(forwardedFor(chain, 2), '198.51.100.2');
    assert.equal(forwardedFor(chain, 3), '198.51.100.1');
    assert.equal(forwardedFor(chain, 10), '198.51.100.1', 'fewer entries than hops: the leftmost');
    // Before the fix X-Forwarded-Proto read the first entry, the one the client wrote.
    assert.equal(forwardedProto('https, http', 1), 'http');
    assert.equal(forwardedProto('http, https', 1), 'https');
    assert.equal(forwardedProto('http, https', 2), 'http');
    assert.equal(forwardedProto('HTTPS', 1), 'https');
    assert.equal(forwardedProto('https', 0), null);
    for (const bad of ['ftp', 'https:', 'wss', '', 'https http']) assert.equal(forwardedProto(bad, 1), null, bad);
  });

  it('finding 5 (attacker): a client cannot pick its X-Forwarded-Proto or its IP in front of one trusted proxy', () => {
    // The client sends its own headers; the proxy appends what it saw.
    const auth = context(1, { 'x-forwarded-proto': 'http, https', 'x-forwarded-for': '10.0.0.1, 203.0.113.50' });
    assert.equal(auth.secure, true);
    assert.equal(auth.clientIp, '203.0.113.50');
    const downgraded = context(1, { 'x-forwarded-proto': 'https, http' });
    assert.equal(downgraded.secure, false, 'the proxy saw plain HTTP: the client\'s "https" is not believed');
  });

  it('finding 5: behind 2 proxies, the address and scheme the outer proxy saw', () => {
    const auth = context(2, { 'x-forwarded-for': '10.9.9.9, 203.0.113.50, 10.0.0.2', 'x-forwarded-proto': 'http, https, http' });
    assert.equal(auth.clientIp, '203.0.113.50');
    assert.equal(auth.secure, true);
    assert.equal(auth.origin, 'https://app.example');
    const direct = context(2, { 'x-forwarded-for': '203.0.113.50, 10.0.0.2' });
    assert.equal(direct.clientIp, '203.0.113.50');
  });

  it('finding 5 (attacker, SEC-53): without trustProxy a rotating X-Forwarded-For does not change the client IP', () => {
    for (let i = 0; i < 20; i += 1) {
      const auth = context(false, { 'x-forwarded-for': `198.51.100.${i}`, 'x-forwarded-proto': 'https' });
      assert.equal(auth.clientIp, '192.0.2.10');
      assert.equal(auth.secure, false);
    }
  });

  it('finding 5: trustProxy is a boolean or a hop count from 0 to 10, checked at construction (TypeError)', () => {
    assert.equal(resolveTrustProxy(undefined), 0);
    assert.equal(resolveTrustProxy(false), 0);
    assert.equal(resolveTrustProxy(true), 1);
    assert.equal(resolveTrustProxy(0), 0);
    assert.equal(resolveTrustProxy(3), 3);
    assert.equal(resolveTrustProxy(10), 10);
    for (const bad of [-1, 11, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1', 'true', null, {}]) {
      assert.throws(() => resolveTrustProxy(bad), TypeError, String(bad));
      assert.throws(() => context(bad as never, {}), TypeError, String(bad));
    }
  });
});
