/**
 * The IP groups of the per-IP limits (SEC-53), read by latchkey's own parser of the address text
 * forms (lib/ip.ts, so that `import 'latchkey'` loads no `node:net`), checked against `node:net`
 * as the oracle: the same strings are addresses, over hand-picked edge cases and a generated corpus.
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import { ipGroup } from '../src/lib/ip.ts';

const accepts = (ip: string): boolean => {
  try {
    ipGroup(ip);
    return true;
  } catch (error) {
    assert.ok(error instanceof TypeError, `${JSON.stringify(ip)}: ${String(error)}`);
    return false;
  }
};

const EDGES = [
  '1.2.3.4', '0.0.0.0', '255.255.255.255', '01.2.3.4', '256.1.1.1', '1.2.3', '1.2.3.4.', '', ' ::1', '::1 ', '[::1]',
  '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::', '1:2:3:4:5:6:7:8:9',
  '::ffff:1.2.3.4', '::ffff:01.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4:5',
  ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', ':::', '1::2::3', '12345::', 'g::1', 'ABCD::EF',
  'fe80::1%eth0', 'fe80::1%', 'fe80::1%e th', 'fe80::1%25', '::1%a:b.c-d', '1.2.3.4%x', '%eth0',
];

/** Addresses, near-addresses and garbage, from a fixed seed. */
function corpus(size: number): string[] {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const out: string[] = [];
  for (let i = 0; i < size; i++) {
    let parts = Array.from({ length: 8 }, () => pick([0, 0, 0xffff, Math.floor(random() * 65536), Math.floor(random() * 16)]).toString(16));
    if (random() < 0.3) parts = [...parts.slice(0, 6), Array.from({ length: 4 }, () => pick(['0', '1', '255', '256', '01', String(Math.floor(random() * 300))])).join('.')];
    let text = parts.join(':');
    if (random() < 0.6) {
      const from = Math.floor(random() * parts.length);
      const to = from + Math.floor(random() * (parts.length - from + 1));
      text = `${parts.slice(0, from).join(':')}::${parts.slice(to).join(':')}`;
    }
    if (random() < 0.1) text = text.toUpperCase();
    if (random() < 0.1) text += pick(['%eth0', '%', '%1', '%a b']);
    if (random() < 0.05) text = text.replace(':', pick([':::', '', ':0:', '.']));
    out.push(text);
  }
  return out;
}

describe('IP groups (SEC-53)', () => {
  it('accepts exactly the strings node:net calls addresses, refusing the rest with a TypeError', () => {
    for (const ip of [...EDGES, ...corpus(20_000)]) assert.equal(accepts(ip), isIP(ip) !== 0, JSON.stringify(ip));
  });

  it('groups IPv6 by /64, reads IPv4-mapped addresses as IPv4, and ignores a zone', () => {
    assert.equal(ipGroup('192.0.2.1'), '192.0.2.1');
    assert.equal(ipGroup('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(ipGroup('::FFFF:c000:201'), '192.0.2.1');
    assert.equal(ipGroup('2001:db8:1:2:dead:beef:cafe:1'), '2001:db8:1:2::/64');
    assert.equal(ipGroup('2001:DB8:1:2::1%eth0'), '2001:db8:1:2::/64');
    assert.equal(ipGroup('2001:db8::192.0.2.1'), '2001:db8:0:0::/64');
    assert.equal(ipGroup('::'), '0:0:0:0::/64');
  });
});
