/**
 * crypto pool starvation. argon2id runs on libuv's thread pool (4 threads by default), which
 * fs, zlib and dns.lookup share; the hasher runs at most 2 hashes at once (SEC-12), so a login
 * flood leaves threads for the rest. Asserted by order and progress, never by time: while a flood
 * of logins keeps the hasher saturated, rounds of `/healthz`, fs, zlib and dns work, each started
 * after the one before finished, all complete before half of the flood has been answered.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PASSWORD, setup } from './support.ts';

const FLOOD = 48; // below the hasher's queue of 64: every login waits its turn, none is refused
const ROUNDS = 10;

test('R-12: during a login flood that saturates the hasher, /healthz, fs, zlib and dns work keep completing', async (t) => {
  const app = await setup(t);
  let answered = 0;
  // Each login is for a different unknown account, so no throttle stops it before the hasher
  // (an unknown account costs one verification, SEC-14).
  const flood = Array.from({ length: FLOOD }, async (_, i) => {
    const res = await app.request('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: `nobody${i}@example.com`, password: PASSWORD }) });
    await res.arrayBuffer();
    answered++;
    return res.status;
  });
  await Promise.race(flood); // the hasher is at work, and the other logins queue behind it

  const data = Buffer.alloc(64 * 1024, 'latchkey ');
  const progress: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const health = await app.request('/healthz');
    assert.equal(health.status, 200, `round ${round}: /healthz ${health.status}`);
    await health.arrayBuffer();
    await readFile(new URL(import.meta.url));
    await promisify(gzip)(data);
    await lookup('localhost');
    progress.push(answered);
  }

  const statuses = await Promise.all(flood);
  assert.deepEqual(new Set(statuses), new Set([401]), 'every login of the flood was answered, none with a 5xx');
  assert.ok((progress.at(-1) as number) <= FLOOD / 2, `the ${ROUNDS} rounds finished after ${progress.at(-1)} of ${FLOOD} logins had answered: ${progress.join(' ')}`);
});
