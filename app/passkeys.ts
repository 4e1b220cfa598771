/**
 * The app's passkeys (`latchkey/passkeys`, the app's HTTP contract "Second factors"): the relying party is
 * PUBLIC_URL, its host name the RP ID and itself the one origin a browser may sign for (SEC-82,
 * WebAuthn L2 §5.1.3); the credentials live in the user store beside the accounts (SEC-83), the
 * challenges in the sessions store as hashed one-time tokens beside the mailed links (SEC-82), so
 * SQLite, PostgreSQL and Redis all work as they do for links. Browsers run WebAuthn only in a
 * secure context: over https, or http on a loopback host. A PUBLIC_URL that is neither (say
 * `http://0.0.0.0:3000`) turns passkeys off, with one warning at start, rather than the whole app.
 * An IP address (the default `http://127.0.0.1:3000`) is warned about too: browsers refuse one as
 * RP ID, so passkeys need a host name there (`PUBLIC_URL=http://localhost:3000`).
 *
 * @module app/passkeys
 */
import { createPasskeys, type Passkeys } from 'latchkey/passkeys';
import { APP_NAME, type AppConfig } from './config.ts';
import type { AppStores } from './stores.ts';

/** The app's passkeys, or why there are none. */
export type AppPasskeys =
  | { readonly passkeys: Passkeys; readonly reason: null; readonly warning: string | null }
  | { readonly passkeys: null; readonly reason: string; readonly warning: null };

export function openPasskeys(config: AppConfig, stores: AppStores): AppPasskeys {
  const url = new URL(config.publicUrl);
  try {
    const passkeys = createPasskeys({ rpId: url.hostname, rpName: APP_NAME, origin: url.origin, credentials: stores.users, challenges: stores.sessions });
    // The server side works on an IP address (and the tests use it); browsers do not, and the page script hides the buttons.
    const ip = /^[0-9.]+$|^\[/.test(url.hostname);
    return { passkeys, reason: null, warning: ip ? `browsers refuse WebAuthn on an IP address: give PUBLIC_URL a host name (http://localhost:${url.port || 80}) for passkeys` : null };
  } catch (error) {
    // Only the origin can be wrong here: the stores are the app's own and checked by their types.
    return { passkeys: null, warning: null, reason: `passkeys are off: PUBLIC_URL ${url.origin} is not a secure context for WebAuthn (${(error as Error).message})` };
  }
}

/** A passkey's id, as a path segment names it: base64url, at most 1366 characters (WebAuthn §5.1: 1023 bytes). */
export const PASSKEY_ID = /^[A-Za-z0-9_-]{1,1366}$/;

/** The longest name of a passkey (the credential store's limit). */
export const MAX_PASSKEY_NAME = 100;

/** The user's label for a passkey, trimmed: its text, or an error message. */
export function passkeyName(value: string | undefined, fallback: string | null): { ok: true; name: string } | { ok: false; message: string } {
  const name = (value ?? '').trim();
  if (name === '' && fallback !== null) return { ok: true, name: fallback };
  if (name === '') return { ok: false, message: 'Enter a name for the passkey.' };
  if (name.length > MAX_PASSKEY_NAME) return { ok: false, message: `The name must be at most ${MAX_PASSKEY_NAME} characters.` };
  // Control characters would make the name unreadable in a list and in a mail (SEC-72's spirit).
  if (/[\u0000-\u001f\u007f]/.test(name)) return { ok: false, message: 'The name must not contain control characters.' };
  return { ok: true, name };
}
