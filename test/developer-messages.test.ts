/**
 * Failures that say what to do (the newcomer's first hour): a secret left undefined by an unset
 * environment variable, an old Node, and the CSRF 403's developer message default. Each message
 * names the cause and the fix; none shows a secret. The Node 20 run of the built package is in
 * test/consumer.test.ts; here `requireNode` is handed old versions directly.
 *
 * @module test/developer-messages
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { UnsupportedRuntimeError } from '../src/index.ts';
import { createLoginManager } from '../src/manager.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';
import { createLoginThrottle } from '../src/throttle.ts';
import { requireNode } from '../src/lib/runtime.ts';
import { withNodeEnv } from './support/env.ts';

const MAKE = `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;
const manager = (extra: Record<string, unknown>) => createLoginManager({ store: new MemoryStore(), loadUser: () => null, ...extra } as any);
const throttle = (secret: unknown) => createLoginThrottle({ store: new MemoryStore(), secret } as any);

/** Asserts a TypeError whose message starts as given and ends with the command that makes a secret. */
function throwsSecret(make: () => unknown, start: string): void {
  assert.throws(make, (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.ok(error.message.startsWith(start), error.message);
    assert.ok(error.message.endsWith(`pass 32+ random bytes, e.g. from \`${MAKE}\``), error.message);
    return true;
  });
}

describe('an unusable secret says what was passed and how to make one', () => {
  it('createLoginManager: undefined (an unset environment variable), null, empty, short, a number, an empty list', () => {
    throwsSecret(() => manager({}), 'secret is undefined');
    throwsSecret(() => manager({ secret: process.env.LATCHKEY_TEST_UNSET_SECRET }), 'secret is undefined');
    throwsSecret(() => manager({ secret: null }), 'secret is null');
    throwsSecret(() => manager({ secret: '' }), 'secret is an empty string');
    throwsSecret(() => manager({ secret: 'short' }), 'secret is 5 bytes, fewer than 32');
    throwsSecret(() => manager({ secret: new Uint8Array(31) }), 'secret is 31 bytes, fewer than 32');
    throwsSecret(() => manager({ secret: 42 }), 'secret is a number');
    throwsSecret(() => manager({ secret: [] }), 'secret is an empty list');
    throwsSecret(() => manager({ secret: [randomBytes(32), undefined] }), 'secret is undefined');
  });

  it('createLoginThrottle: the same messages, prefixed with the factory', () => {
    throwsSecret(() => throttle(undefined), 'createLoginThrottle: secret is undefined');
    throwsSecret(() => throttle('x'.repeat(31)), 'createLoginThrottle: secret is 31 bytes, fewer than 32');
  });

  it('never shows the short secret it refuses (attacker reading logs)', () => {
    const secret = 'hunter2-but-too-short';
    for (const make of [() => manager({ secret }), () => throttle(secret)]) {
      assert.throws(make, (error: Error) => !error.message.includes(secret));
    }
  });

  it('accepts what the suggested command prints: 43 base64url characters', () => {
    const printed = randomBytes(32).toString('base64url');
    assert.doesNotThrow(() => manager({ secret: printed }));
    assert.doesNotThrow(() => throttle(printed));
  });
});

describe('explainCsrfFailures: the CSRF 403 speaks to the developer unless NODE_ENV=production', () => {
  const secret = 's'.repeat(32);

  it('is on without NODE_ENV and in development, off in production, and an explicit value wins', () => {
    assert.equal(withNodeEnv(undefined, () => manager({ secret }).options.explainCsrfFailures), true);
    assert.equal(withNodeEnv('development', () => manager({ secret }).options.explainCsrfFailures), true);
    assert.equal(withNodeEnv('production', () => manager({ secret, trustedOrigins: ['https://a.example'] }).options.explainCsrfFailures), false);
    assert.equal(withNodeEnv('production', () => manager({ secret, trustedOrigins: ['https://a.example'], explainCsrfFailures: true }).options.explainCsrfFailures), true);
    assert.equal(withNodeEnv(undefined, () => manager({ secret, explainCsrfFailures: false }).options.explainCsrfFailures), false);
  });

  it('is read once, at construction: setting NODE_ENV later changes nothing', () => {
    const made = withNodeEnv('production', () => manager({ secret, trustedOrigins: ['https://a.example'] }));
    withNodeEnv(undefined, () => assert.equal(made.options.explainCsrfFailures, false));
  });

  it('must be a boolean (TypeError)', () => {
    assert.throws(() => manager({ secret, explainCsrfFailures: 'yes' }), /explainCsrfFailures must be a boolean/);
  });
});

describe('requireNode: an entry imported on an old Node names what it needs and the fix', () => {
  it('throws UnsupportedRuntimeError (ERR_LATCHKEY_UNSUPPORTED_RUNTIME) below Node 24, naming entry, need, version and fix', () => {
    for (const version of ['20.20.2', '22.12.0', '23.11.1', '18.0.0']) {
      assert.throws(() => requireNode('latchkey/sqlite', 'node:sqlite', version), (error: Error) => {
        assert.ok(error instanceof UnsupportedRuntimeError);
        assert.equal((error as UnsupportedRuntimeError).code, 'ERR_LATCHKEY_UNSUPPORTED_RUNTIME');
        assert.equal(error.message, `latchkey/sqlite needs Node.js 24 or later (node:sqlite); this is Node ${version}: install Node 24 LTS or later (https://nodejs.org/en/download)`);
        return true;
      });
    }
  });

  it('passes on Node 24, 26 and later, and on this process', () => {
    for (const version of ['24.0.0', '24.21.0', '26.9.0', '30.1.0']) assert.doesNotThrow(() => requireNode('latchkey', 'x', version));
    assert.doesNotThrow(() => requireNode('latchkey', 'x'));
  });
});
