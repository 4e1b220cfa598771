/**
 * The request-body reader of every POST route (the security requirements §M). It reads at most 16 KB (SEC-74:
 * 413 above that, before parsing anything), accepts JSON (`application/json`, UTF-8) or a browser
 * form (urlencoded or multipart), and turns the body into flat, typed fields:
 * - every field is a string, except flags (`remember`): JSON `true`/`false`, form `on`/`true`/`1`
 *   or `off`/`false`/`0`/empty, and the few JSON objects a route names (`credential`: the
 *   browser's WebAuthn response, whose own shape latchkey/passkeys checks). Arrays, objects,
 *   numbers, null anywhere else are refused with 400 and the field named (SEC-72:
 *   `{"password":{"$ne":null}}` never reaches a comparison);
 * - JSON keys the route does not take are refused (no mass assignment: `role`, `emailVerified`,
 *   `__proto__`); form fields it does not take are ignored, since only named fields are read;
 * - at most 50 fields, each once: `email=a&email=b` and duplicate JSON keys are 400, because two
 *   parsers downstream could pick different ones (SEC-74, the security requirements §2 "pollution");
 * - malformed JSON, invalid UTF-8, bad percent-encoding and lone surrogates are 400, never 500
 *   (SEC-76, SEC-09).
 * A client that wants JSON must send JSON (SEC-46: 415), as must anything that is not a form.
 *
 * @module app/body
 */
import { hasJsonBody } from 'latchkey';
import { fieldErrors, isJson, problem } from './answers.ts';
import type { AppContext, FieldErrors, Handler, Input } from './types.ts';

/** 16 KB: far above any form of the app, far below what would cost memory (SEC-74). */
export const MAX_BODY = 16 * 1024;
/** SEC-74: the largest form of the app has 6 fields. */
const MAX_FIELDS = 50;

/** What a route takes: each field a text, a flag, or a JSON object (JSON bodies only). `_csrf` is always allowed. */
export type FieldSpec = Readonly<Record<string, 'text' | 'flag' | 'object'>>;

/** A text field of the input, or undefined. */
export function text(input: Input, name: string): string | undefined {
  const value = input.fields[name];
  return typeof value === 'string' ? value : undefined;
}

/** An `object` field of the input, or undefined. */
export function objectField(input: Input, name: string): Readonly<Record<string, unknown>> | undefined {
  const value = input.fields[name];
  return typeof value === 'object' ? value : undefined;
}

type Parsed = { ok: true; entries: [string, unknown][]; json: boolean } | { ok: false; status: number; message: string };
const fail = (status: number, message: string): Parsed => ({ ok: false, status, message });

/** Middleware: reads the body into `c.get('input')`, or answers 400/413/415. */
export function readInput(spec: FieldSpec): Handler {
  const allowed: FieldSpec = { ...spec, _csrf: 'text' };
  return async function readInputMiddleware(c, next) {
    const bytes = await readLimited(c);
    if (bytes === null) return problem(c, 413, `The request body is too large (at most ${MAX_BODY / 1024} KB).`);
    const contentType = c.req.header('content-type');
    if (bytes.byteLength === 0 && contentType === undefined) {
      c.set('input', { fields: Object.create(null), csrf: null, bodiless: true });
      return next();
    }
    const parsed = await parse(c, bytes, contentType ?? '');
    if (!parsed.ok) return problem(c, parsed.status, parsed.message);
    const result = check(parsed.entries, allowed, parsed.json);
    if ('errors' in result) return problem(c, 400, 'Some fields are not valid.', { errors: result.errors });
    const csrf = result.fields._csrf;
    c.set('input', { fields: result.fields, csrf: typeof csrf === 'string' ? csrf : null, bodiless: false });
    return next();
  };
}

/** The body, or null when it is larger than {@link MAX_BODY}; stops reading at the limit. */
async function readLimited(c: AppContext): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && (!/^\d{1,15}$/.test(declared) || Number(declared) > MAX_BODY)) return null;
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

async function parse(c: AppContext, bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<Parsed> {
  const [type = '', ...params] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const request = c.get('auth')?.request ?? c.req.raw;
  if (hasJsonBody(request)) {
    const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return fail(415, 'JSON must be sent as UTF-8.');
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      return fail(400, 'The request body is not valid UTF-8.');
    }
    return parseJson(text);
  }
  const form = type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data';
  if (!form || isJson(c)) {
    return fail(415, 'Send JSON with Content-Type: application/json, or a form (application/x-www-form-urlencoded or multipart/form-data).');
  }
  if (type === 'multipart/form-data') return parseMultipart(bytes, contentType);
  try {
    return { ok: true, entries: parseUrlencoded(UTF8.decode(bytes)), json: false };
  } catch {
    return fail(400, 'The form data is not correctly encoded (invalid percent-encoding or UTF-8).');
  }
}

function parseJson(text: string): Parsed {
  let value: unknown;
  try {
    // JSON.parse defines `__proto__` as an own key, never the prototype: no pollution (SEC-74).
    value = JSON.parse(text);
  } catch {
    return fail(400, 'The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(400, 'The request body must be a JSON object.');
  const keys = topLevelKeys(text);
  const entries = keys.map((key): [string, unknown] => [key, (value as Record<string, unknown>)[key]]);
  return { ok: true, entries, json: true };
}

/**
 * The keys of a valid JSON object text in order, duplicates included (JSON.parse keeps only the
 * last). A linear scan: strings are skipped whole, so nesting depth costs nothing.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(i, j + 1)) as string);
        expectKey = false;
      }
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (ch === '}' || ch === ']') {
      depth--;
    } else if (ch === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

/** `application/x-www-form-urlencoded`, strictly: `decodeURIComponent` throws on `%E0%A4%A` and `%FF`. */
function parseUrlencoded(text: string): [string, string][] {
  const entries: [string, string][] = [];
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const [name, value] = eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    entries.push([decodeURIComponent(name.replaceAll('+', ' ')), decodeURIComponent(value.replaceAll('+', ' '))]);
    if (entries.length > MAX_FIELDS) break; // enough to refuse; do not decode the rest
  }
  return entries;
}

async function parseMultipart(bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<Parsed> {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
  } catch {
    return fail(400, 'The multipart form data is malformed.');
  }
  // A file is not a field value: reported as the wrong type below.
  return { ok: true, entries: [...form.entries()], json: false };
}

const FLAG_ON = new Set(['on', 'true', '1']);
const FLAG_OFF = new Set(['', 'off', 'false', '0']);

/** Field count, duplicates, unknown JSON keys and types; every problem named by its field. */
function check(entries: [string, unknown][], spec: FieldSpec, json: boolean): { fields: Input['fields'] } | { errors: FieldErrors } {
  const errors = fieldErrors();
  if (entries.length > MAX_FIELDS) {
    errors._body = `Too many fields (at most ${MAX_FIELDS}).`;
    return { errors };
  }
  const fields = Object.create(null) as Record<string, Input['fields'][string]>;
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    if (seen.has(name)) {
      errors[name] = 'This field must be sent only once.';
      continue;
    }
    seen.add(name);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) {
      if (json) errors[name] = 'Unknown field.';
      continue;
    }
    if (kind === 'object') {
      // A form cannot carry one; in JSON, only an object (not an array, not null) is one.
      if (json && typeof value === 'object' && value !== null && !Array.isArray(value)) fields[name] = value as Record<string, unknown>;
      else errors[name] = json ? 'Must be a JSON object.' : 'Must be sent as JSON.';
    } else if (kind === 'flag') {
      if (json ? typeof value === 'boolean' : typeof value === 'string' && (FLAG_ON.has(value) || FLAG_OFF.has(value))) {
        fields[name] = typeof value === 'boolean' ? value : FLAG_ON.has(value as string);
      } else {
        errors[name] = json ? 'Must be true or false.' : 'Must be "on" or left out.';
      }
    } else if (typeof value !== 'string') {
      errors[name] = 'Must be a string.';
    } else if (!value.isWellFormed()) {
      errors[name] = 'Contains malformed Unicode (an unpaired surrogate).';
    } else {
      fields[name] = value;
    }
  }
  return Object.keys(errors).length > 0 ? { errors } : { fields };
}
