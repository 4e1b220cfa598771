/**
 * lib/write-head on real node:http responses: headers added when the head is written, unless the
 * answer sets them itself (in any case, in the head or earlier with setHeader), without setHeader
 * on the common path (whose use sends writeHead down node:http's slow path), and without changing
 * an object the app passes to writeHead.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { addHeadersOnWrite, headerList, type HeaderList } from '../src/lib/write-head.ts';

const SECURITY: HeaderList = headerList({
  'x-content-type-options': 'nosniff',
  'Referrer-Policy': 'strict-origin-when-cross-origin', // kept in lower case
  'cache-control': 'no-store',
});

/** Serves one request with `handle`, and answers the headers the client received. */
function serveOnce(t: TestContext, handle: (res: ServerResponse) => void, requestHeaders: Record<string, string> = {}): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const server = createServer((_req, res) => {
      try {
        handle(res);
      } catch (error) {
        res.destroy();
        reject(error); // a throwing answer fails the test instead of leaving the client waiting
      }
    });
    server.listen(0, '127.0.0.1');
    t.after(() => server.close());
    once(server, 'listening').then(() => send((server.address() as AddressInfo).port, requestHeaders, resolve, reject), reject);
  });
}

function send(port: number, requestHeaders: Record<string, string>, resolve: (headers: IncomingHttpHeaders) => void, reject: (error: unknown) => void): void {
  request({ host: '127.0.0.1', port, path: '/', headers: requestHeaders }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.headers));
  })
    .on('error', reject)
    .end();
}

/** Records what setHeader had stored when the real writeHead ran: nothing, on the fast path. */
function probeWriteHead(res: ServerResponse, seen: string[][]): void {
  const real = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    seen.push(this.getHeaderNames());
    return real.apply(this, args);
  } as ServerResponse['writeHead'];
}

test('adds the missing headers to writeHead(status, headers), through its fast path, without changing the given object', async (t) => {
  const shared = Object.freeze({ 'content-type': 'application/json' });
  const seen: string[][] = [];
  const headers = await serveOnce(t, (res) => {
    probeWriteHead(res, seen);
    addHeadersOnWrite(res, SECURITY);
    res.writeHead(200, shared).end('{}');
  });
  assert.equal(headers['content-type'], 'application/json');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'strict-origin-when-cross-origin');
  assert.equal(headers['cache-control'], 'no-store');
  assert.deepEqual(seen, [[]], 'nothing went through setHeader');
  assert.deepEqual(Object.keys(shared), ['content-type'], 'the caller’s object is not changed');
});

test('the answer’s own header wins, whatever its case: in writeHead’s object, or set earlier with setHeader (SEC-59’s own Referrer-Policy)', async (t) => {
  const headers = await serveOnce(t, (res) => {
    addHeadersOnWrite(res, SECURITY);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Type': 'text/plain' }).end('x');
  });
  assert.equal(headers['cache-control'], 'max-age=60');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  assert.equal(headers['x-content-type-options'], 'nosniff');
});

test('every form of writeHead gets them: no headers, a status message, a flat list of names and values, and the implicit head of end()', async (t) => {
  const forms: Array<[string, (res: ServerResponse) => void]> = [
    ['writeHead(status)', (res) => res.writeHead(204).end()],
    ['writeHead(status, message, headers)', (res) => res.writeHead(200, 'Fine', { 'cache-control': 'private' }).end('x')],
    ['flat raw list', (res) => res.writeHead(200, ['Cache-Control', 'private', 'x-a', '1']).end('x')],
    ['implicit head', (res) => res.end('x')],
  ];
  for (const [what, answer] of forms) {
    const headers = await serveOnce(t, (res) => {
      addHeadersOnWrite(res, SECURITY);
      answer(res);
    });
    assert.equal(headers['x-content-type-options'], 'nosniff', what);
    assert.equal(headers['referrer-policy'], 'strict-origin-when-cross-origin', what);
    const own = what === 'writeHead(status)' || what === 'implicit head' ? 'no-store' : 'private';
    assert.equal(headers['cache-control'], own, what);
  }
});

test('calls add up on one hook (a name in two lists takes the first value), and a call once the head is sent changes nothing and does not throw', async (t) => {
  let late: unknown = 'not called';
  let hooks = 0;
  const headers = await serveOnce(t, (res) => {
    addHeadersOnWrite(res, headerList({ 'x-first': '1', 'x-both': 'first' }));
    const hook = res.writeHead;
    addHeadersOnWrite(res, headerList({ 'x-second': '2', 'x-both': 'second' }));
    hooks = res.writeHead === hook ? 1 : 2;
    res.writeHead(200, {});
    try {
      addHeadersOnWrite(res, headerList({ 'x-late': '3' }));
      late = null;
    } catch (error) {
      late = error;
    }
    res.end('x');
  });
  assert.equal(headers['x-first'], '1');
  assert.equal(headers['x-second'], '2');
  assert.equal(headers['x-both'], 'first');
  assert.equal(hooks, 1, 'the second call wraps writeHead no further');
  assert.equal(headers['x-late'], undefined);
  assert.equal(late, null);
});

test('as the attacker: a client’s own Cache-Control or Referrer-Policy request header changes nothing in the answer', async (t) => {
  const headers = await serveOnce(
    t,
    (res) => {
      addHeadersOnWrite(res, SECURITY);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('x');
    },
    { 'cache-control': 'max-age=99999', 'referrer-policy': 'unsafe-url' },
  );
  assert.equal(headers['cache-control'], 'no-store');
  assert.equal(headers['referrer-policy'], 'strict-origin-when-cross-origin');
});

test('headerList checks once what every response would otherwise check: names are tokens, values have no CR, LF or NUL, no name twice (TypeError)', () => {
  assert.deepEqual([...headerList({ 'X-Frame-Options': 'DENY' })], [['x-frame-options', 'DENY']]);
  assert.ok(Object.isFrozen(headerList({ a: 'b' })));
  const bad: unknown[] = [null, [], 'x-a: 1', { 'bad name': 'x' }, { '': 'x' }, { 'x-a': 'one\r\nset-cookie: stolen=1' }, { 'x-a': 'nul\0' }, { 'x-a': 1 }, { 'X-A': '1', 'x-a': '2' }];
  for (const input of bad) assert.throws(() => headerList(input as Record<string, string>), TypeError, JSON.stringify(input));
});

test('as the attacker: addHeadersOnWrite refuses a list headerList did not check, so no unchecked value reaches a head (TypeError)', async (t) => {
  const forged = [['x-a', 'one\r\nset-cookie: stolen=1']] as unknown as HeaderList;
  let refused: unknown = null;
  const headers = await serveOnce(t, (res) => {
    try {
      addHeadersOnWrite(res, forged);
    } catch (error) {
      refused = error;
    }
    res.end('x');
  });
  assert.ok(refused instanceof TypeError);
  assert.equal(headers['set-cookie'], undefined);
  assert.throws(() => addHeadersOnWrite(null as unknown as ServerResponse, SECURITY), TypeError);
});
