/**
 * The password's minimum length counts what the user typed (SEC-05; issue 10, finding 6): NFKC,
 * kept for hashing (SEC-09), expands "ﷺ" into 18 code points and "㌀㌁㌂㌃" into 15, and must not
 * let one character meet the 15 of the contract, at registration or at a password change.
 *
 * @module test/app/password-length
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, seedUser, setup } from './support.ts';

const EXPANDING = ['\uFDFA', '\u3300\u3301\u3302\u3303'];

test('finding 6: POST /register refuses "ﷺ" and "㌀㌁㌂㌃" as too short (400), and neither logs in afterwards (SEC-05)', async (t) => {
  const app = await setup(t);
  for (const [i, password] of EXPANDING.entries()) {
    const email = `short${i}@example.com`;
    const { status, body } = await app.client().json('/register', { email, name: 'Short', password });
    assert.equal(status, 400, password);
    assert.match(body.errors.password, /at least 15 characters/, password);
    assert.equal((await app.client().json('/login', { login: email, password })).status, 401, 'no account was made');
  }
  // 15 emoji typed (30 UTF-16 units) are 15 characters: long enough.
  const fifteen = '🦊🐢🦉🐙🦋🌵🍄🌻🍉🥨🧀🎻🪁🚲⛵';
  assert.equal((await app.client().json('/register', { email: 'emoji@example.com', name: 'Emoji', password: fifteen })).status, 201);
  const fourteen = [...fifteen].slice(0, 14).join('');
  const { status, body } = await app.client().json('/register', { email: 'emoji14@example.com', name: 'Emoji', password: fourteen });
  assert.equal(status, 400);
  assert.match(body.errors.password, /at least 15 characters/);
});

test('finding 6: POST /account/password refuses "ﷺ" and "㌀㌁㌂㌃" as the new password, and the old one still works (SEC-05)', async (t) => {
  const app = await setup(t);
  await seedUser(app);
  const client = app.client();
  await client.login();
  for (const password of EXPANDING) {
    const { status, body } = await client.json('/account/password', { current_password: PASSWORD, new_password: password });
    assert.equal(status, 400, password);
    assert.match(body.errors.new_password ?? body.message, /at least 15 characters/, password);
  }
  assert.equal((await app.client().json('/login', { login: 'ann@example.com', password: PASSWORD })).status, 200);
});
