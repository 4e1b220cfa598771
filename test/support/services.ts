/**
 * Real backing services for the store tests (PostgreSQL, Redis): where they are, and one rule for
 * when they are missing. On a developer machine a missing service skips its tests with the reason
 * printed; in CI (`CI=true`) it fails the run, so that a broken service container can never turn
 * the PostgreSQL or Redis suites into a silent green skip.
 *
 * @example
 * ```ts
 * const service = await requireService('postgres', probePostgres);
 * if (!service.available) console.log(`# skipping PostgresStore tests: ${service.reason}`);
 * describe('PostgresStore', { skip: service.available ? false : service.reason }, () => { … });
 * ```
 *
 * @module test/support/services
 */
import pg from 'pg';
import { createClient } from 'redis';

/** The test database; trust auth, a scratch database. Override with `TEST_POSTGRES_URL`. */
export const POSTGRES_URL: string = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The test Redis. Override with `TEST_REDIS_URL`. */
export const REDIS_URL: string = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How long a probe may take before the service counts as unavailable (ms). */
const PROBE_TIMEOUT = 2_000;

/** The URL without its password, for messages that end up in CI logs. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** A one-line reason; an AggregateError (every address of `localhost` refused) has no message of its own. */
function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(describeError).join('; ');
  return error instanceof Error ? error.message || error.name : String(error);
}

/** Whether a service answered its probe; when it did not, why, for the skip message. */
export type ServiceStatus = { available: true } | { available: false; reason: string };

/**
 * Runs `probe` (connect, send one command, disconnect) with a 2 s deadline. Resolves
 * `{ available: true }` when it succeeds. When it fails or times out: throws in CI
 * (`process.env.CI === 'true'`), so the test file fails; elsewhere resolves `{ available: false,
 * reason }`, and the caller skips its suite with `describe(name, { skip: reason })` and prints the
 * reason with `console.log`. The probe should close whatever it opened, also on failure; a probe
 * still running at the deadline is abandoned, not cancelled, so give its client a connect timeout.
 */
export async function requireService(
  name: 'postgres' | 'redis',
  probe: () => Promise<void>,
): Promise<ServiceStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    // Not unref'd: a probe that hangs without a handle of its own must still end in a reason.
    timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT} ms`)), PROBE_TIMEOUT);
  });
  try {
    await Promise.race([Promise.resolve().then(probe), deadline]);
    return { available: true };
  } catch (error) {
    const url = redact(name === 'postgres' ? POSTGRES_URL : REDIS_URL);
    const detail = describeError(error);
    const reason = `${name} is not reachable at ${url}: ${detail}`;
    if (process.env.CI === 'true') {
      throw new Error(`${reason} (CI=true: the ${name} tests must run in CI, not be skipped)`, { cause: error });
    }
    return { available: false, reason };
  } finally {
    clearTimeout(timer);
  }
}

/** Probe for requireService('postgres', …): connect, SELECT 1, disconnect. */
export async function probePostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

/** Probe for requireService('redis', …): connect without retrying, PING, disconnect. */
export async function probeRedis(): Promise<void> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 1_000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.sendCommand(['PING']);
  } finally {
    if (client.isOpen) await client.close();
  }
}
