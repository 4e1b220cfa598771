/**
 * Headers added to a Node response when it writes its head, unless the response sets them
 * itself: what `setHeader` before the handler did, without its cost. Once a response has a header
 * from `setHeader`, node:http's `writeHead(status, headers)` takes its slow path and goes through
 * `setHeader` again for every header of the answer; without one, it writes the answer's object
 * as it is. On @hono/node-server the answer's headers always come that way: four security
 * headers and a `Cache-Control` added here instead of with `setHeader` took the reference app to
 * 0.94–0.99 of its CPU per request in side-by-side runs (bench/README.md). Hooking `writeHead` is
 * how the `on-headers` package lets Express middleware add headers at the last moment.
 *
 * @module lib/write-head
 */
import { HTTP_TOKEN } from './http-token.ts';

/** Node's `ServerResponse`, as far as this module uses it. */
export interface HeadWriter {
  readonly headersSent: boolean;
  hasHeader(name: string): boolean;
  setHeader(name: string, value: string): unknown;
  writeHead(statusCode: number, ...rest: unknown[]): unknown;
}

declare const checked: unique symbol;
/** Header names in lower case, with their values: made by {@link headerList}, once. */
export type HeaderList = readonly (readonly [name: string, value: string])[] & { readonly [checked]: true };

/** RFC 9110 §5.5: no CR, LF or NUL in a field value (node:http would throw at writeHead). */
const BAD_VALUE = /[\r\n\0]/;
const LISTS = new WeakSet<object>();

/**
 * Headers for {@link addHeadersOnWrite}, checked once here rather than on every response: each
 * name a token (kept in lower case), each value a string without CR, LF or NUL. Throws TypeError.
 *
 * @example
 * ```ts
 * const SECURITY = headerList({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
 * ```
 */
export function headerList(headers: Readonly<Record<string, string>>): HeaderList {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw new TypeError('headerList: give an object of header names and values');
  const list = Object.entries(headers).map(([name, value]) => {
    if (!HTTP_TOKEN.test(name)) throw new TypeError(`headerList: ${JSON.stringify(name)} is not a header name`);
    if (typeof value !== 'string' || BAD_VALUE.test(value)) throw new TypeError(`headerList: the value of ${name} must be a string without CR, LF or NUL`);
    return Object.freeze([name.toLowerCase(), value] as const);
  });
  const names = new Set(list.map(([name]) => name));
  if (names.size !== list.length) throw new TypeError('headerList: a header name is given twice');
  const frozen = Object.freeze(list) as unknown as HeaderList;
  LISTS.add(frozen);
  return frozen;
}

/** The lists still to add to a response whose `writeHead` is hooked: one hook per response. */
const PENDING = Symbol('latchkey.headersOnWrite');
type Hooked = HeadWriter & { [PENDING]?: HeaderList[] };

/**
 * When `response` writes its head, adds each of `headers` that the answer does not set itself, in
 * any case, neither in the head nor earlier with `setHeader`. The answer's object is copied, never
 * changed: it may be a constant the app reuses. Several calls on one response add up (one hook,
 * one copy; a name in two lists takes the first call's value). Does nothing once the head is
 * sent. Throws TypeError for a list not made by {@link headerList}.
 */
export function addHeadersOnWrite(response: HeadWriter, headers: HeaderList): void {
  if (!LISTS.has(headers)) throw new TypeError('addHeadersOnWrite: headers must come from headerList()');
  if (typeof response?.writeHead !== 'function') throw new TypeError("addHeadersOnWrite: response must be Node's ServerResponse");
  if (response.headersSent) return;
  const hooked = response as Hooked;
  const pending = hooked[PENDING];
  if (pending !== undefined) {
    pending.push(headers);
    return;
  }
  const lists = [headers];
  hooked[PENDING] = lists;
  const writeHead = response.writeHead;
  response.writeHead = function writeHeadWithHeaders(this: HeadWriter, statusCode: number, ...rest: unknown[]) {
    // writeHead(status[, statusMessage][, headers])
    const at = typeof rest[0] === 'string' ? 1 : 0;
    const given = rest[at];
    if (given === undefined || given === null || (typeof given === 'object' && !Array.isArray(given))) {
      rest[at] = withMissing(response, (given ?? {}) as Record<string, unknown>, lists);
    } else if (Array.isArray(given)) {
      // A flat list of names and values: node:http merges it with setHeader's, so the missing ones go there.
      const named = rawNames(given);
      for (const list of lists) {
        for (const [name, value] of list) if (!named.has(name) && !response.hasHeader(name)) response.setHeader(name, value);
      }
    }
    return writeHead.call(this, statusCode, ...rest);
  };
}

/** A copy of `given` with each listed header it lacks (in any case) and setHeader did not set. */
function withMissing(response: HeadWriter, given: Record<string, unknown>, lists: readonly HeaderList[]): Record<string, unknown> {
  const out = { ...given };
  for (const list of lists) {
    next: for (const [name, value] of list) {
      for (const key in out) if (key.length === name.length && key.toLowerCase() === name) continue next;
      if (!response.hasHeader(name)) out[name] = value;
    }
  }
  return out;
}

/** The lower-cased names of writeHead's flat list `[name, value, name, value, …]`. */
function rawNames(raw: readonly unknown[]): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) if (typeof raw[i] === 'string') names.add((raw[i] as string).toLowerCase());
  return names;
}
