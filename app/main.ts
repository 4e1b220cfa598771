/**
 * `npm start`: the reference app on @hono/node-server (the app's HTTP contract, "Starting it").
 * Configuration problems and a database that cannot be opened stop start-up with one line each
 * on stderr and exit code 1. `PORT=0` takes a free port; the line printed names the real one.
 * SIGTERM or SIGINT: stop accepting, let requests in flight finish (at most 10 s, then close what
 * is left), let queued mail leave (at most 5 s), close the stores, exit 0. An unhandled rejection is logged and the process goes on
 * serving (SEC-66). Log lines (JSON, at LOG_LEVEL) go to stderr; stdout has only the line naming
 * the URL. Started with `--expose-gc`, as npm start does, it gives a burst's memory back once
 * requests stop (idle-gc.ts).
 *
 * @module app/main
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Accounts } from 'latchkey';
import { createApp } from './app.ts';
import { loadConfig, mallocWarning } from './config.ts';
import { collectAfterBursts, type IdleCollector } from './idle-gc.ts';
import { createLogger, type Logger } from './log.ts';
import type { Mailer } from './mail/mailer.ts';
import { openStores, type AppStores } from './stores.ts';

/** How long in-flight requests get to finish at shutdown: well under the usual 30 s SIGKILL grace. */
const DRAIN_MS = 10_000;

// Errors only until the configuration (LOG_LEVEL) is read.
let logger: Logger = createLogger({ level: 'error' });
process.on('unhandledRejection', (reason) => {
  const error = reason instanceof Error ? { error: reason.name, message: reason.message, stack: reason.stack } : { reason: String(reason) };
  logger.log('error', 'unhandled_rejection', error);
});

function fail(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

// Installed before anything is opened, so that a signal during start-up still ends cleanly.
let server: Server | null = null;
let stores: AppStores | null = null;
let mailer: Mailer | null = null;
let accounts: Accounts | null = null;
let idle: IdleCollector | null = null;
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${signal}: finishing requests in flight, then stopping\n`);
  idle?.stop();
  if (server) {
    const listening = server;
    const force = setTimeout(() => listening.closeAllConnections(), DRAIN_MS);
    // close() stops accepting and closes the keep-alive connections idle at that moment; one
    // busy then goes idle once its answer is sent, and would otherwise wait out its 5 s keep-alive.
    const closeIdle = setInterval(() => listening.closeIdleConnections(), 100);
    await new Promise<void>((resolve) => listening.close(() => resolve()));
    clearTimeout(force);
    clearInterval(closeIdle);
  }
  // The accounts' background work (a reset request's lookup, token and mail) ends, then mail queued
  // by the last requests gets a few seconds to leave, before the stores close under them.
  await Promise.race([accounts?.idle(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  await mailer?.close();
  await stores?.close().catch((error: Error) => process.stderr.write(`closing the stores failed: ${error.message}\n`));
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

const loaded = loadConfig(process.env);
if (!loaded.ok) {
  for (const problem of loaded.problems) process.stderr.write(`${problem}\n`);
  process.exit(1);
}
let config = loaded.config;
logger = createLogger({ level: config.logLevel });
for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
const malloc = mallocWarning(process.env);
if (malloc !== null) process.stderr.write(`warning: ${malloc}\n`);

stores = await openStores(config).catch((error: Error) => fail(error.message));
const opened = stores;

// The server listens first, so that PORT=0 is resolved before the app is built: the app's origin
// (PUBLIC_URL's default, which the CSRF check compares with `Origin`) needs the real port.
let handle: ((request: Request, env: unknown) => Response | Promise<Response>) | null = null;
const listening = serve({
  fetch: (request, env) => (handle ? handle(request, env) : new Response('Starting', { status: 503, headers: { 'retry-after': '1' } })),
  port: config.port,
  hostname: config.host,
}) as Server;
try {
  await Promise.race([once(listening, 'listening'), once(listening, 'error').then(([error]) => Promise.reject(error))]);
} catch (error) {
  await opened.close().catch(() => {});
  fail(`PORT: cannot listen on ${config.host}:${config.port} (${(error as Error).message})`);
}
server = listening;
// With --expose-gc (npm start passes it), the memory of a burst goes back once requests stop.
idle = collectAfterBursts(listening, {
  onCollected: ({ ms, rssBefore, rssAfter }) =>
    logger.log('debug', 'idle_gc', { ms: Math.round(ms), rss_before_mib: Math.round(rssBefore / 1048576), rss_after_mib: Math.round(rssAfter / 1048576) }),
});
const port = (listening.address() as AddressInfo).port;
if (config.port === 0) {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  config = Object.freeze({ ...config, port, publicUrl: process.env.PUBLIC_URL ? config.publicUrl : `http://${host}:${port}` });
}
const { app, mailer: queue, accounts: built, warnings } = await createApp({ config, stores: opened }).catch(async (error: Error) => {
  await opened.close().catch(() => {});
  return fail(`cannot start the app: ${error.message}`);
});
for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
mailer = queue;
accounts = built;
handle = (request, env) => app.fetch(request, env);
const shown = config.host.includes(':') ? `[${config.host}]` : config.host;
process.stdout.write(`latchkey reference app on http://${shown}:${port}\n`);
