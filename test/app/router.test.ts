/**
 * app/router: the app's router keeps the answer of each fixed path and must still answer exactly
 * as Hono's TrieRouter does, for every path and method, and keep nothing a request makes up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrieRouter } from 'hono/router/trie-router';
import { FixedPathRouter } from '../../app/router.ts';

/** The shapes of the app's routes: a wildcard middleware, fixed paths, and parameters beside a fixed sibling. */
const ROUTES: [string, string][] = [
  ['ALL', '/*'],
  ['GET', '/protected'],
  ['OPTIONS', '/protected'],
  ['ALL', '/protected'],
  ['POST', '/account/sessions/revoke-others'],
  ['POST', '/account/sessions/:id/revoke'],
  ['ALL', '/account/sessions/:id/revoke'],
  ['GET', '/verify-email/:token'],
  ['POST', '/verify-email/resend'],
  ['GET', '/'],
];
const PATHS = ['/protected', '/protected/', '/account/sessions/revoke-others', '/account/sessions/abc/revoke', '/verify-email/resend', '/verify-email/t0ken', '/', '/nowhere', '/PROTECTED'];
const METHODS = ['GET', 'POST', 'OPTIONS', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND'];

function both() {
  const fixed = new FixedPathRouter<string>();
  const trie = new TrieRouter<string>();
  ROUTES.forEach(([method, path], i) => {
    fixed.add(method, path, `${i}:${method} ${path}`);
    trie.add(method, path, `${i}:${method} ${path}`);
  });
  return { fixed, trie };
}

describe('app router (FixedPathRouter)', () => {
  it('answers every method and path as the TrieRouter does, the first time and every time after', () => {
    const { fixed, trie } = both();
    for (let round = 0; round < 3; round++) {
      for (const method of METHODS) for (const path of PATHS) assert.deepEqual(fixed.match(method, path), trie.match(method, path), `${method} ${path}, round ${round}`);
    }
  });

  it('gives a fixed path the same answer object each time, and a path with a parameter a new one', () => {
    const { fixed } = both();
    assert.equal(fixed.match('GET', '/protected'), fixed.match('GET', '/protected'));
    assert.notEqual(fixed.match('POST', '/account/sessions/abc/revoke'), fixed.match('POST', '/account/sessions/abc/revoke'));
  });

  it('as the attacker: made-up paths and methods are never kept, so requests cannot grow it', () => {
    const { fixed } = both();
    for (let i = 0; i < 10_000; i++) fixed.match(i % 2 ? 'GET' : `X${i}`, i % 2 ? `/made-up/${i}` : '/protected');
    // Kept answers come back as the same object; these come back new each time.
    assert.notEqual(fixed.match('GET', '/made-up/1'), fixed.match('GET', '/made-up/1'));
    assert.notEqual(fixed.match('X2', '/protected'), fixed.match('X2', '/protected'));
  });

  it('forgets kept answers when a route is added after a request', () => {
    const { fixed, trie } = both();
    const before = fixed.match('GET', '/protected');
    fixed.add('GET', '/protected', 'late');
    trie.add('GET', '/protected', 'late');
    assert.notEqual(fixed.match('GET', '/protected'), before);
    assert.deepEqual(fixed.match('GET', '/protected'), trie.match('GET', '/protected'));
    assert.ok(JSON.stringify(fixed.match('GET', '/protected')).includes('late'));
  });
});
