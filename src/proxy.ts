/**
 * What the proxies in front of the app say about a request: `X-Forwarded-For` (the client's
 * address) and `X-Forwarded-Proto` (the scheme the browser used), under one trust rule, Express's
 * `trust proxy` with a hop count. Each proxy appends to these headers, so only the last entries were
 * written by proxies the app runs; everything left of them came from the client and proves nothing
 * (SEC-53: "client IP from trusted-proxy config only"). With `hops` trusted proxies and entries
 * e[0..n-1], the entry read is e[max(0, n - hops)], the one the outermost trusted proxy appended.
 *
 * The functions are pure and total: a malformed entry (`garbage`, `unknown`, an RFC 7239 obfuscated
 * id, a zone) reads as "no forwarded value", and the socket's address or the URL's scheme stand,
 * never an exception: bad input from a client is never a 500 (issue 10, finding 5).
 *
 * @module proxy
 */

/** More hops than any real chain of proxies: a bigger number is a mistake in the configuration. */
const MAX_HOPS = 10;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** `[v6]` or `[v6]:port`; the inside is checked by the URL parser. */
const BRACKETED = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/;
/** The compressed form of an IPv4-mapped address as WHATWG URL writes it (RFC 4291 §2.5.5.2). */
const MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * The `trustProxy` option as a number of trusted proxies: `false` → 0, `true` → 1, a whole number
 * from 0 to 10 as it is. Throws TypeError for anything else.
 */
export function resolveTrustProxy(value: unknown): number {
  if (value === undefined || value === false) return 0;
  if (value === true) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_HOPS) {
    throw new TypeError(`trustProxy must be a boolean or the number of proxies in front of the app (0 to ${MAX_HOPS}), got ${String(value)}`);
  }
  return value;
}

/** The entry the outermost of `hops` trusted proxies appended to a comma-separated header, trimmed; null when there is none. */
export function forwardedEntry(header: string | null, hops: number): string | null {
  if (hops === 0 || !header) return null;
  const entries = header.split(',');
  return (entries[Math.max(0, entries.length - hops)] as string).trim() || null;
}

/**
 * The client's address from `X-Forwarded-For`, normalised (lower case, no brackets, no port,
 * IPv6 compressed, IPv4-mapped written as IPv4), or null when the trusted entry is not an address.
 *
 * @example
 * ```ts
 * forwardedFor('203.0.113.7, [2001:DB8::1]:443', 1) // '2001:db8::1'
 * forwardedFor('203.0.113.7, garbage', 1)           // null: the socket's address stands
 * ```
 */
export function forwardedFor(header: string | null, hops: number): string | null {
  const entry = forwardedEntry(header, hops);
  return entry === null ? null : parseAddress(entry);
}

/** `https` or `http` from `X-Forwarded-Proto`, or null when the trusted entry is neither. */
export function forwardedProto(header: string | null, hops: number): 'http' | 'https' | null {
  const entry = forwardedEntry(header, hops)?.toLowerCase();
  return entry === 'https' || entry === 'http' ? entry : null;
}

/** One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:443`. */
function parseAddress(entry: string): string | null {
  const colon = entry.indexOf(':');
  if (colon === -1 || colon === entry.lastIndexOf(':')) {
    // IPv4, with or without a port.
    const [address, port] = colon === -1 ? [entry, null] : [entry.slice(0, colon), entry.slice(colon + 1)];
    return IPV4.test(address) && (port === null || /^\d{1,5}$/.test(port)) ? address : null;
  }
  const inside = entry.startsWith('[') ? BRACKETED.exec(entry)?.[1] : /^[0-9A-Fa-f:.]+$/.test(entry) ? entry : undefined;
  if (inside === undefined) return null;
  // The WHATWG URL parser validates IPv6 and writes it compressed and lower case (RFC 5952).
  const host = URL.parse(`http://[${inside}]/`)?.hostname.slice(1, -1);
  if (host === undefined) return null;
  const mapped = MAPPED.exec(host);
  if (mapped === null) return host;
  const [high, low] = [Number.parseInt(mapped[1] as string, 16), Number.parseInt(mapped[2] as string, 16)];
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}
