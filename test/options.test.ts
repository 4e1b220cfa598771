import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../src/duration.ts';
import { createLoginManager } from '../src/manager.ts';
import { MemoryStore } from '../src/testing/memory-store.ts';
import { checkRequestOrigin } from '../src/csrf.ts';
import { wantsJson } from '../src/request.ts';
import { anonymousUser } from '../src/anonymous.ts';
import { withNodeEnv } from './support/env.ts';

const base = () => ({ store: new MemoryStore(), secret: 's'.repeat(32), loadUser: () => null });

describe('parseDuration', () => {
  it('reads the units the app contract lists', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('30d'), 2_592_000_000);
    assert.equal(parseDuration(1234), 1234);
  });

  it('refuses anything else', () => {
    for (const bad of ['', '30', '1.5h', '-1m', '30 m', '30M', '1w', 'abc', -1, 1.5, NaN, Infinity, null, undefined, {}, ['30m']]) {
      assert.equal(parseDuration(bad), null, String(bad));
    }
  });
});

describe('createLoginManager options (STYLE §7)', () => {
  it('needs loadUser or requestLoader: flask-login 175 raises "Missing user_loader or request_loader"', () => {
    assert.throws(() => createLoginManager({ store: new MemoryStore(), secret: 's'.repeat(32) }), /loadUser or requestLoader/);
  });

  it('throws TypeError at construction for every misuse, never on the request path', () => {
    const bad: Array<Record<string, unknown>> = [
      { secret: 'short' },
      { secret: [] },
      { store: {} },
      { store: null },
      { sessionProtection: 'paranoid' },
      { idleTimeout: '1.5h' },
      { idleTimeout: '2d', absoluteTimeout: '1d' },
      { rememberDuration: '500d' },
      { sameSite: 'None' },
      { loginView: 'login' },
      { cookieNames: { session: 'same', remember: 'same' } },
      { cookieNames: { session: 'bad name' } },
      { trustedOrigins: ['https://app.example.com/path'] },
      { forceHostForRedirects: 'evil.com/path' },
      { loadUser: 'not a function' },
      { unauthorizedHandler: 42 },
    ];
    for (const override of bad) {
      assert.throws(() => createLoginManager({ ...base(), ...override } as never), TypeError, JSON.stringify(override));
    }
  });

  it('freezes the resolved options and does not keep the caller\'s object', () => {
    const options = { ...base(), idleTimeout: '5m' };
    const manager = createLoginManager(options);
    assert.ok(Object.isFrozen(manager.options));
    assert.equal(manager.options.idleTimeout, 300_000);
    options.idleTimeout = '1m';
    assert.equal(manager.options.idleTimeout, 300_000);
    assert.equal(manager.options.sessionProtection, 'basic');
    assert.equal(manager.options.absoluteTimeout, 86_400_000);
  });

  it('shows neither the secret keys nor the raw store in manager.options (issue 11)', () => {
    const manager = createLoginManager(base());
    assert.equal('keys' in manager.options, false);
    assert.equal('store' in manager.options, false);
    assert.equal('secret' in manager.options, false);
  });

  it('encodeCookie/decodeCookie round-trip and refuse tampering (flask-login 1291-1343)', () => {
    const manager = createLoginManager(base());
    const cookie = manager.encodeCookie('1');
    assert.equal(manager.decodeCookie(cookie), '1');
    assert.equal(manager.decodeCookie('Foo|BAD_BASH'), null);
    assert.equal(manager.decodeCookie('no bar'), null);
    assert.equal(manager.decodeCookie(cookie.replace(/^./, 'x')), null);
  });
});

describe('anonymous user (flask-login 1395)', () => {
  it('is not active, not authenticated, anonymous, with no id', () => {
    assert.deepEqual({ ...anonymousUser }, { isAuthenticated: false, isActive: false, isAnonymous: true, id: null });
    assert.ok(Object.isFrozen(anonymousUser));
  });
});

describe('checkRequestOrigin (SEC-45)', () => {
  const req = (headers: Record<string, string>) => new Request('https://app.example.com/x', { method: 'POST', headers });
  const allowed = ['https://app.example.com'];

  it('allows the app\'s own origin and clients that send neither header', () => {
    assert.equal(checkRequestOrigin(req({ origin: 'https://app.example.com' }), allowed), null);
    assert.equal(checkRequestOrigin(req({ 'sec-fetch-site': 'same-origin' }), allowed), null);
    assert.equal(checkRequestOrigin(req({ 'sec-fetch-site': 'none' }), allowed), null);
    assert.equal(checkRequestOrigin(req({}), allowed), null);
  });

  it('refuses other origins, look-alikes, a scheme downgrade, null and cross-site fetch metadata', () => {
    const refused: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: 'https://app.example.com.evil.com' },
      { origin: 'http://app.example.com' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refused) {
      assert.notEqual(checkRequestOrigin(req(headers), allowed), null, JSON.stringify(headers));
    }
  });
});

describe('the CSRF origin check\'s target origin comes from configuration (SEC-45)', () => {
  /** A JSON POST whose Origin is the origin of the URL it went to: what a request to whatever Host looks like. */
  const jsonPost = (url: string) => new Request(url, { method: 'POST', headers: { origin: new URL(url).origin, 'content-type': 'application/json' } });

  it('SEC-45: with NODE_ENV=production and no trustedOrigins, createLoginManager throws a TypeError naming trustedOrigins and why', () => {
    withNodeEnv('production', () => {
      assert.throws(() => createLoginManager(base()), (error: Error) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /trustedOrigins/);
        assert.match(error.message, /Host header \(SEC-45\)/);
        assert.match(error.message, /trustHostHeaderForOrigin/);
        return true;
      });
      assert.throws(() => createLoginManager({ ...base(), trustedOrigins: [] }), TypeError);
    });
  });

  it('SEC-45: in production, configured trustedOrigins are the only origin: a request under another Host is refused', async () => {
    const manager = withNodeEnv('production', () => createLoginManager({ ...base(), trustedOrigins: ['https://app.example.com'] }));
    assert.deepEqual(await manager.forRequest(jsonPost('https://app.example.com/x')).checkCsrf(() => undefined), { ok: true });
    // The attacker's page on evil.example posts to the app reached under the attacker's host name.
    const check = await manager.forRequest(jsonPost('https://evil.example/x')).checkCsrf(() => undefined);
    assert.equal(check.ok, false);
  });

  it('SEC-45: trustHostHeaderForOrigin: true is the explicit production opt-out; it must be a boolean', async () => {
    const manager = withNodeEnv('production', () => createLoginManager({ ...base(), trustHostHeaderForOrigin: true }));
    assert.deepEqual(await manager.forRequest(jsonPost('https://app.example.com/x')).checkCsrf(() => undefined), { ok: true });
    withNodeEnv('production', () => {
      for (const value of ['true', 1, null]) {
        assert.throws(() => createLoginManager({ ...base(), trustHostHeaderForOrigin: value as never }), TypeError, String(value));
      }
    });
  });

  it('SEC-45: outside production, no trustedOrigins keeps development easy: the request\'s own origin is accepted', async () => {
    for (const env of [undefined, 'development', 'test']) {
      const manager = withNodeEnv(env, () => createLoginManager(base()));
      assert.deepEqual(await manager.forRequest(jsonPost('http://localhost:5173/x')).checkCsrf(() => undefined), { ok: true }, String(env));
      const crossSite = new Request('http://localhost:5173/x', { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' } });
      assert.equal((await manager.forRequest(crossSite).checkCsrf(() => undefined)).ok, false, String(env));
    }
  });
});

describe('wantsJson (app-contract "Representations")', () => {
  const req = (headers: Record<string, string>) => new Request('http://x/', { headers });
  it('is true for JSON bodies and clients that do not list text/html', () => {
    assert.equal(wantsJson(req({ accept: '*/*' })), true);
    assert.equal(wantsJson(req({})), true);
    assert.equal(wantsJson(req({ accept: 'text/html', 'content-type': 'application/json' })), true);
    assert.equal(wantsJson(req({ accept: 'text/html,application/xhtml+xml,*/*;q=0.8' })), false);
  });
});

describe('secondStepTimeout (SEC-80: the pending second step lives at most 15 minutes)', () => {
  it('SEC-80: defaults to 5 minutes and accepts up to 15 minutes, as a duration or ms', () => {
    assert.equal(createLoginManager(base()).options.secondStepTimeout, 300_000);
    assert.equal(createLoginManager({ ...base(), secondStepTimeout: '15m' }).options.secondStepTimeout, 900_000);
    assert.equal(createLoginManager({ ...base(), secondStepTimeout: 900_000 }).options.secondStepTimeout, 900_000);
    assert.equal(createLoginManager({ ...base(), secondStepTimeout: '1s' }).options.secondStepTimeout, 1000);
  });

  it('SEC-80: anything longer than 15 minutes, shorter than a second, or not a duration throws TypeError', () => {
    for (const bad of ['16m', 900_001, '1h', '999ms', 0, -1, 'five minutes', '5', 1.5, null, {}] as unknown[]) {
      assert.throws(() => createLoginManager({ ...base(), secondStepTimeout: bad as string }), TypeError, String(bad));
    }
  });
});
