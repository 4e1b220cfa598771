/**
 * A TCP port on 127.0.0.1 that nothing listens on right now: the kernel picks one and we release
 * it. Shared by the tests that start servers of their own (Redis fixtures, the app for the
 * browser tests) and by the benchmarks.
 *
 * @module test/support/ports
 */
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function sparePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || address === null) throw new Error('no spare port');
  return address.port;
}
