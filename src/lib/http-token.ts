/**
 * The HTTP token (RFC 9110 §5.6.2): the syntax of a header field's name (§5.1) and of a cookie's
 * name (RFC 6265bis §4.1.1), checked by cookie.ts and lib/write-head.
 *
 * @module lib/http-token
 */

/** One or more token characters, nothing else. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
