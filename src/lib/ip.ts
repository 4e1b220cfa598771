/**
 * The client group an IP address belongs to, for per-IP limits (SEC-53): an IPv4
 * address itself, IPv4-mapped IPv6 included, or the /64 prefix of an IPv6 address. The text forms
 * are read here, by a small parser of dotted quads and RFC 4291 §2.2, rather than by `node:net`,
 * so that importing latchkey loads no networking module (test/ip.test.ts checks it against
 * `node:net` as the oracle).
 *
 * @module lib/ip
 */

/** One decimal octet without leading zeros, as `net.isIPv4` reads them. */
const OCTET = /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const HEXTET = /^[0-9a-f]{1,4}$/i;
/** A zone (`fe80::1%eth0`) names a local interface; `net.isIPv6` accepts these characters in it. */
const ZONE = /^[0-9a-z.:-]+$/i;

/** The four bytes of a dotted-quad IPv4 address, or null. */
function parseIPv4(text: string): number[] | null {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => OCTET.test(part)) ? parts.map(Number) : null;
}

/** The eight 16-bit words of an IPv6 address in any RFC 4291 §2.2 text form, zone included, or null. */
function parseIPv6(address: string): number[] | null {
  const percent = address.indexOf('%');
  if (percent !== -1 && !ZONE.test(address.slice(percent + 1))) return null;
  let text = percent === -1 ? address : address.slice(0, percent);
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon > 0 && text.includes('.', lastColon)) {
    // A trailing dotted quad is the last two words (§2.2, form 3).
    const quad = parseIPv4(text.slice(lastColon + 1));
    if (quad === null) return null;
    tail.push(((quad[0] as number) << 8) | (quad[1] as number), ((quad[2] as number) << 8) | (quad[3] as number));
    text = text[lastColon - 1] === ':' ? text.slice(0, lastColon + 1) : text.slice(0, lastColon); // keep a "::" whole
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!left.every((g) => HEXTET.test(g)) || !right.every((g) => HEXTET.test(g))) return null;
  const given = left.length + right.length + tail.length;
  // "::" stands for at least one zero word; without it, all eight are written.
  if (halves.length === 2 ? given > 7 : given !== 8) return null;
  const hex = (group: string) => Number.parseInt(group, 16);
  return [...left.map(hex), ...Array<number>(8 - given).fill(0), ...right.map(hex), ...tail];
}

/**
 * The group of `ip` (SEC-53): an IPv4 address as given, `::ffff:a.b.c.d` as the IPv4 address it
 * carries (RFC 4291 §2.5.5.2), and any other IPv6 address as its /64 prefix: a host usually gets a
 * whole /64 and can rotate through it at will, so counting per address would be no limit at all.
 * Throws `TypeError` for anything else.
 */
export function ipGroup(ip: string): string {
  if (parseIPv4(ip) !== null) return ip;
  const words = parseIPv6(ip);
  if (words === null) throw new TypeError(`ip must be an IPv4 or IPv6 address or null, got ${JSON.stringify(ip)}`);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    const [high, low] = [words[6] as number, words[7] as number];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${words.slice(0, 4).map((w) => w.toString(16)).join(':')}::/64`;
}
