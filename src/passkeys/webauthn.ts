/**
 * `@simplewebauthn/server`, loaded at the first ceremony rather than when `latchkey/passkeys` is
 * imported. It verifies attestations and assertions and brings its ASN.1 and X.509 stack along:
 * about 24 MiB of resident memory in a process that imports it (measured with Node 24), which an
 * app that offers passkeys but has not yet seen one should not pay at start-up (issue 12's memory
 * goal). One import, shared by every ceremony of the process; a failed import is retried next time.
 *
 * @module passkeys/webauthn
 */

type WebAuthnServer = typeof import('@simplewebauthn/server');

let loading: Promise<WebAuthnServer> | null = null;

/** The library, imported once. */
export function webauthn(): Promise<WebAuthnServer> {
  loading ??= import('@simplewebauthn/server').catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}
