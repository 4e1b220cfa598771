/**
 * Headers added to a Node response when it writes its head, unless the response sets them
 * itself: what `setHeader` before the handler did, without its cost. Once a response has a header
 * from `setHeader`, node:http's `writeHead(status, headers)` takes its slow path and goes through
 * `setHeader` again for every header of the answer; without one, it writes the answer's object
 * as it is. On @hono/node-server the answer's headers always come that way: four security
 * headers and a `Cache-Control` added here instead of with `setHeader` took the reference app to
 * 0.94–0.97 of its CPU per request in side-by-side runs (bench/README.md). Hooking `writeHead` is
 * how the `on-headers` package lets Express middleware add headers at the last moment.
 *
 * @module lib/write-head
 */

/** Node's `ServerResponse`, as far as this module uses it. */
export interface HeadWriter {
  readonly headersSent: boolean;
  hasHeader(name: string): boolean;
  setHeader(name: string, value: string): unknown;
  writeHead(statusCode: number, ...rest: unknown[]): unknown;
}

/** Header names in lower case, with their values. */
export type HeaderList = readonly (readonly [name: string, value: string])[];

/**
 * When `response` writes its head, adds each of `headers` (names in lower case) that the answer
 * does not set itself, in any case, neither in the head nor earlier with `setHeader`. The answer's
 * object is copied, never changed: it may be a constant the app reuses. Several calls on one
 * response add up. Does nothing once the head is sent.
 */
export function addHeadersOnWrite(response: HeadWriter, headers: HeaderList): void {
  if (response.headersSent) return;
  const writeHead = response.writeHead;
  response.writeHead = function writeHeadWithHeaders(this: HeadWriter, statusCode: number, ...rest: unknown[]) {
    // writeHead(status[, statusMessage][, headers])
    const at = typeof rest[0] === 'string' ? 1 : 0;
    const given = rest[at];
    if (given === undefined || given === null || (typeof given === 'object' && !Array.isArray(given))) {
      rest[at] = withMissing(response, (given ?? {}) as Record<string, unknown>, headers);
    } else if (Array.isArray(given)) {
      // A flat list of names and values: node:http merges it with setHeader's, so the missing ones go there.
      const named = rawNames(given);
      for (const [name, value] of headers) if (!named.has(name) && !response.hasHeader(name)) response.setHeader(name, value);
    }
    return writeHead.call(this, statusCode, ...rest);
  };
}

function withMissing(response: HeadWriter, given: Record<string, unknown>, headers: HeaderList): Record<string, unknown> {
  const out = { ...given };
  next: for (const [name, value] of headers) {
    for (const key in given) if (key.length === name.length && key.toLowerCase() === name) continue next;
    if (!response.hasHeader(name)) out[name] = value;
  }
  return out;
}

/** The lower-cased names of writeHead's flat list `[name, value, name, value, …]`. */
function rawNames(raw: readonly unknown[]): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) if (typeof raw[i] === 'string') names.add((raw[i] as string).toLowerCase());
  return names;
}
