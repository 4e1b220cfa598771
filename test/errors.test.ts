/**
 * latchkey's error classes (src/errors.ts): each has a literal `code`, so a `switch` on it narrows
 * and is checked for exhaustiveness by the compiler, `name` set and `cause` kept; only the
 * "try again later" ones are service-unavailable (503), and a schema too new is not one of them.
 *
 * @module test/errors
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HasherBusyError,
  isServiceUnavailable,
  LatchkeyError,
  SchemaVersionError,
  ServiceUnavailableError,
  StoreTimeoutError,
  StoreUnavailableError,
  type AnyLatchkeyError,
  type LatchkeyErrorCode,
} from '../src/errors.ts';

/** Whether the error means 503: a switch the compiler checks covers every code (`never` below). */
function retryable(error: AnyLatchkeyError): boolean {
  const code: LatchkeyErrorCode = error.code;
  switch (code) {
    case 'ERR_LATCHKEY_UNAVAILABLE':
    case 'ERR_LATCHKEY_STORE_UNAVAILABLE':
    case 'ERR_LATCHKEY_STORE_TIMEOUT':
    case 'ERR_LATCHKEY_HASHER_BUSY':
      return true;
    case 'ERR_LATCHKEY':
    case 'ERR_LATCHKEY_SCHEMA_TOO_NEW':
    case 'ERR_LATCHKEY_UNSUPPORTED_RUNTIME':
      return false;
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}

describe('errors', () => {
  it('every class has its literal code and name, keeps its cause, and is a LatchkeyError', () => {
    const cause = new Error('driver');
    const cases: Array<[AnyLatchkeyError, string]> = [
      [new LatchkeyError('x', { cause }), 'ERR_LATCHKEY'],
      [new ServiceUnavailableError('x', { cause }), 'ERR_LATCHKEY_UNAVAILABLE'],
      [new StoreUnavailableError('x', { cause }), 'ERR_LATCHKEY_STORE_UNAVAILABLE'],
      [new StoreTimeoutError('x', { cause }), 'ERR_LATCHKEY_STORE_TIMEOUT'],
      [new HasherBusyError('x', { cause }), 'ERR_LATCHKEY_HASHER_BUSY'],
    ];
    for (const [error, code] of cases) {
      assert.equal(error.code, code);
      assert.equal(error.name, error.constructor.name);
      assert.equal(error.cause, cause);
      assert.ok(error instanceof LatchkeyError);
    }
  });

  it('a schema newer than the code is coded ERR_LATCHKEY_SCHEMA_TOO_NEW and not retryable (no 503)', () => {
    const error = new SchemaVersionError('latchkey_meta', '99', 3);
    assert.equal(error.code, 'ERR_LATCHKEY_SCHEMA_TOO_NEW');
    assert.equal(error.name, 'SchemaVersionError');
    assert.equal(error.message, 'latchkey_meta says schema version 99; this latchkey knows 3: upgrade latchkey');
    assert.equal(isServiceUnavailable(error), false);
    assert.equal(retryable(error), false);
  });

  it('the 503 errors are exactly the retryable codes', () => {
    for (const error of [new ServiceUnavailableError('x'), new StoreUnavailableError('x'), new StoreTimeoutError('x'), new HasherBusyError('x')]) {
      assert.equal(isServiceUnavailable(error), true);
      assert.equal(retryable(error), true);
    }
    assert.equal(retryable(new LatchkeyError('x')), false);
  });
});
