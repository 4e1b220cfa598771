/**
 * The reference app's configuration, from environment variables (the app's HTTP contract, "Starting
 * it"). Everything is checked at start; each problem is one line naming the variable, and the app
 * refuses to start while there is any. Nothing re-reads the environment later.
 *
 * @module app/config
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseDuration } from 'latchkey';
import { LOG_LEVELS, type LogLevel } from './log.ts';

/** The site's name: shown in pages, and refused as part of passwords (SEC-08) by the app and the CLI alike. */
export const APP_NAME = 'Latchkey';

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** `sqlite:<path>` or `postgres://…`. */
  readonly databaseUrl: string;
  /** Where sessions, remember tokens and throttle counters live: same as databaseUrl, or `redis://…`. */
  readonly sessionStoreUrl: string;
  readonly secretKey: string;
  /** The app's origin, e.g. `http://127.0.0.1:3000`. */
  readonly publicUrl: string;
  /** How many proxies in front are trusted with X-Forwarded-For and X-Forwarded-Proto; 0: none. */
  readonly trustProxy: number;
  readonly idleTimeout: number;
  readonly absoluteTimeout: number;
  readonly rememberDuration: number;
  /** latchkey's per-instance session cache (R-07: ≤ 5 s of revocation lag on other instances); 0: off. */
  readonly sessionCacheTtl: number;
  /** The accounts' cache of `loadUser` results (R-07: ≤ 5 s); 0: off. */
  readonly userCacheTtl: number;
  readonly passwordMinLength: number;
  /** Registrations one IP may make per hour before 429 (SEC-53). `REGISTRATIONS_PER_HOUR`, default 20. */
  readonly registrationsPerHour: number;
  readonly production: boolean;
  /**
   * `LOG_LEVEL`: `debug`, `info` (default: security events and one line per request), `warn`
   * (security warnings and errors, no request lines), `error`, or `silent`. Lines are JSON, on
   * stderr (app/log.ts, app/security-log.ts).
   */
  readonly logLevel: LogLevel;
  /** `SMTP_URL` (`smtp://` or `smtps://`), or null: mail goes to the dev outbox (never in production). */
  readonly smtpUrl: string | null;
  /** `MAIL_FROM`: the sender of every mail. Default `Latchkey <no-reply@HOSTNAME-OF-PUBLIC_URL>`. */
  readonly mailFrom: string;
  /** `EMAIL_VERIFICATION`: `off`, `optional` (default: the seed flow, plus a verification mail) or `required` (SEC-15, SEC-62). */
  readonly emailVerification: EmailVerification;
  /** Lines to print at start (a generated key, and so on). */
  readonly warnings: readonly string[];
}

export const EMAIL_VERIFICATION_MODES = ['off', 'optional', 'required'] as const;
export type EmailVerification = (typeof EMAIL_VERIFICATION_MODES)[number];

export type ConfigResult = { ok: true; config: AppConfig } | { ok: false; problems: string[] };

const BOOLEAN: Readonly<Record<string, boolean>> = { '1': true, true: true, yes: true, on: true, '0': false, false: false, no: false, off: false, '': false };

/**
 * Reads the configuration from `env`. `SECRET_KEY`, when unset outside production, is generated
 * once into `DATA_DIR/secret_key` (mode 0600, DATA_DIR made 0700 if missing) and reused on the next start.
 */
export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): ConfigResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const production = env.NODE_ENV === 'production';

  const port = Number(env.PORT ?? '3000');
  if (!/^\d{1,5}$/.test(env.PORT ?? '3000') || port > 65535) problems.push(`PORT: "${env.PORT}" is not a port number (0-65535)`);
  const host = env.HOST ?? '127.0.0.1';
  if (host === '' || /[\s/]/.test(host)) problems.push(`HOST: "${host}" is not a host name or address`);
  // The default PUBLIC_URL is made of PORT and HOST: when they are wrong, that is the one problem to report.
  const addressOk = problems.length === 0;

  const dataDir = resolve(cwd, env.DATA_DIR ?? './data');
  const databaseUrl = env.DATABASE_URL ?? `sqlite:${join(dataDir, 'app.db')}`;
  if (!/^sqlite:.+/.test(databaseUrl) && !isPostgresUrl(databaseUrl)) {
    problems.push(`DATABASE_URL: "${redact(databaseUrl)}" must be sqlite:<path> or postgres://…`);
  }
  const sessionStoreUrl = env.SESSION_STORE ?? databaseUrl;
  if (sessionStoreUrl !== databaseUrl && !isRedisUrl(sessionStoreUrl) && !isPostgresUrl(sessionStoreUrl) && !/^sqlite:.+/.test(sessionStoreUrl)) {
    problems.push(`SESSION_STORE: "${redact(sessionStoreUrl)}" must be redis://…, postgres://… or sqlite:<path>`);
  }

  const duration = (name: string, fallback: string): number => {
    const raw = env[name] ?? fallback;
    const ms = parseDuration(raw);
    if (ms === null || ms < 1000) {
      problems.push(`${name}: "${raw}" is not a duration such as 500ms, 90s, 30m, 24h or 30d (at least 1s)`);
      return parseDuration(fallback) as number;
    }
    return ms;
  };
  const idleTimeout = duration('SESSION_IDLE_TIMEOUT', '30m');
  const absoluteTimeout = duration('SESSION_ABSOLUTE_TIMEOUT', '24h');
  if (idleTimeout > absoluteTimeout) problems.push('SESSION_IDLE_TIMEOUT: must not be longer than SESSION_ABSOLUTE_TIMEOUT');
  const rememberDuration = duration('REMEMBER_DURATION', '30d');
  if (rememberDuration > 400 * 86_400_000) problems.push('REMEMBER_DURATION: browsers cap cookies at 400 days');

  const cacheTtl = (name: string, fallback: string): number => {
    const raw = env[name] ?? fallback;
    const ms = raw === '0' ? 0 : parseDuration(raw);
    if (ms === null || ms > 5000) {
      problems.push(`${name}: "${raw}" must be 0 (off) or a duration up to 5s: a logout or password change must reach every instance within 5 s`);
      return 0;
    }
    return ms;
  };
  // Off unless asked for: with it, a logout on another instance is refused here only after the ttl.
  const sessionCacheTtl = cacheTtl('SESSION_CACHE_TTL', '0');
  // On: sessions are still read on every request, and whatever must end access (a password change,
  // a deactivation) ends the sessions too; only the user's own fields may show 5 s late.
  const userCacheTtl = cacheTtl('USER_CACHE_TTL', '5s');

  const minRaw = env.PASSWORD_MIN_LENGTH ?? '15';
  const passwordMinLength = Number(minRaw);
  if (!/^\d{1,3}$/.test(minRaw) || passwordMinLength < 8 || passwordMinLength > 64) {
    problems.push(`PASSWORD_MIN_LENGTH: "${minRaw}" must be a whole number from 8 to 64 (NIST SP 800-63B-4 never allows less than 8)`);
  }

  const logLevel = (env.LOG_LEVEL ?? 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: "${env.LOG_LEVEL}" must be one of ${LOG_LEVELS.join(', ')}`);
  const registrationsRaw = env.REGISTRATIONS_PER_HOUR ?? '20';
  const registrationsPerHour = Number(registrationsRaw);
  if (!/^\d{1,6}$/.test(registrationsRaw) || registrationsPerHour < 1) {
    problems.push(`REGISTRATIONS_PER_HOUR: "${registrationsRaw}" must be a whole number from 1 to 999999`);
  }

  // A boolean (true: one proxy) or how many proxies run in front, as latchkey's trustProxy (SEC-53).
  const trustRaw = (env.TRUST_PROXY ?? '').toLowerCase();
  const trustFlag = BOOLEAN[trustRaw];
  const trustProxy = trustFlag === undefined ? (/^\d{1,2}$/.test(trustRaw) ? Number(trustRaw) : -1) : Number(trustFlag);
  if (trustProxy < 0 || trustProxy > 10) {
    problems.push(`TRUST_PROXY: "${env.TRUST_PROXY}" must be true, false, or the number of proxies in front of the app (0 to 10)`);
  }

  const publicUrl = env.PUBLIC_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const parsed = URL.parse(publicUrl);
  if ((env.PUBLIC_URL !== undefined || addressOk) && (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== publicUrl.replace(/\/$/, ''))) {
    problems.push(`PUBLIC_URL: "${publicUrl}" must be an origin such as https://app.example.com (no path)`);
  }

  const mail = mailSettings(env, production, parsed?.hostname ?? 'localhost', problems);

  let secretKey = env.SECRET_KEY ?? '';
  if (env.SECRET_KEY !== undefined) {
    if (Buffer.byteLength(secretKey) < 32) problems.push('SECRET_KEY: must be at least 32 bytes of random data (e.g. `openssl rand -hex 32`)');
  } else if (production) {
    problems.push('SECRET_KEY: required when NODE_ENV=production (a generated key would change with every new machine and log everyone out)');
  } else if (problems.length === 0) {
    const file = join(dataDir, 'secret_key');
    try {
      if (existsSync(file)) {
        secretKey = readFileSync(file, 'utf8').trim();
      } else {
        ensureDataDir(dataDir);
        secretKey = randomBytes(32).toString('hex');
        writeFileSync(file, `${secretKey}\n`, { mode: 0o600 });
        chmodSync(file, 0o600);
        warnings.push(`SECRET_KEY is not set: generated one into ${file}. Set SECRET_KEY in production.`);
      }
      if (Buffer.byteLength(secretKey) < 32) problems.push(`SECRET_KEY: the key in ${file} is shorter than 32 bytes`);
    } catch (error) {
      problems.push(`DATA_DIR: cannot keep the generated secret key in ${dataDir} (${(error as Error).message})`);
    }
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: Object.freeze({
      port,
      host,
      dataDir,
      databaseUrl,
      sessionStoreUrl,
      secretKey,
      publicUrl: publicUrl.replace(/\/$/, ''),
      trustProxy,
      idleTimeout,
      absoluteTimeout,
      rememberDuration,
      sessionCacheTtl,
      userCacheTtl,
      passwordMinLength,
      registrationsPerHour,
      production,
      logLevel,
      ...mail,
      warnings,
    }),
  };
}

/**
 * `SMTP_URL`, `MAIL_FROM` and `EMAIL_VERIFICATION` (the app's HTTP contract). Production refuses to start
 * without SMTP_URL: the console outbox would swallow every reset link, and nobody could get back in.
 */
function mailSettings(env: NodeJS.ProcessEnv, production: boolean, publicHost: string, problems: string[]): Pick<AppConfig, 'smtpUrl' | 'mailFrom' | 'emailVerification'> {
  const smtpUrl = env.SMTP_URL ?? null;
  if (smtpUrl !== null) {
    const url = URL.parse(smtpUrl);
    if (url === null || !/^smtps?:$/.test(url.protocol) || url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '') {
      problems.push(`SMTP_URL: "${redact(smtpUrl)}" must be smtp://[user:pass@]host:port or smtps://[user:pass@]host:port`);
    }
  } else if (production) {
    problems.push('SMTP_URL: required when NODE_ENV=production (without it no reset or verification mail could leave; the console outbox is for development only)');
  }
  const mailFrom = env.MAIL_FROM ?? `Latchkey <no-reply@${publicHost}>`;
  // One address, optionally with a display name; no line break could add a header (CWE-93).
  if (!/^(?:[^<>\r\n]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(mailFrom.trim())) {
    problems.push(`MAIL_FROM: "${mailFrom}" must be an address such as no-reply@example.com or "Example <no-reply@example.com>"`);
  }
  const emailVerification = (env.EMAIL_VERIFICATION ?? 'optional').toLowerCase() as EmailVerification;
  if (!EMAIL_VERIFICATION_MODES.includes(emailVerification)) {
    problems.push(`EMAIL_VERIFICATION: "${env.EMAIL_VERIFICATION}" must be one of ${EMAIL_VERIFICATION_MODES.join(', ')}`);
  }
  return { smtpUrl, mailFrom: mailFrom.trim(), emailVerification };
}

/**
 * Creates DATA_DIR, and any missing parent, readable by the app's user only (0700): it holds the
 * secret key and the SQLite database (issue 10, finding 11). A folder that exists is left as its
 * owner made it; the files the app writes in it are 0600 whatever the folder's mode.
 */
export function ensureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

/** The file path of a `sqlite:` URL, relative paths against `cwd`. */
export function sqlitePath(url: string, cwd = process.cwd()): string {
  const path = url.slice('sqlite:'.length);
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url) && URL.canParse(url);
}

function isRedisUrl(url: string): boolean {
  return /^rediss?:\/\//.test(url) && URL.canParse(url);
}

/** A URL for messages, without its password (SEC-69: no secret in a log line); the stores' messages too. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/** The glibc tunables npm start sets (package.json), named by the warning below. */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=4194304:glibc.malloc.hugetlb=1';

/**
 * What npm start's environment sets for glibc's malloc, read once when the process starts (the
 * app cannot set it for itself), so that argon2id's 19 MiB blocks do not stay resident:
 * - `MALLOC_ARENA_MAX=1`: without it every libuv thread that hashed keeps an arena of its own with
 *   up to two blocks in it: 4 threads took a hashing process from 73 to 211 MiB, for good.
 * - `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304`: a fixed threshold, so that each block is
 *   mapped for its hash and unmapped after it. glibc's own threshold moves up to the largest block
 *   freed so far; once something freed a larger one, blocks landed in the heap, and smaller
 *   allocations between them kept 66 MiB of freed blocks resident after a login load.
 *   `glibc.malloc.hugetlb=1` maps them with transparent huge pages, so that the fresh mapping
 *   costs 3 % CPU per hash instead of 28 % (bench/README.md).
 * Anyone starting the server (app/main.ts) some other way is told what is missing; the
 * short-lived CLI is not.
 */
export function mallocWarning(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform, glibc = isGlibc()): string | null {
  if (platform !== 'linux' || !glibc) return null;
  const missing = [
    ...(env.MALLOC_ARENA_MAX === undefined ? ['MALLOC_ARENA_MAX=1 (without it each thread that runs argon2id keeps its own malloc arena, up to ~40 MiB each, for good)'] : []),
    ...(/(^|:)glibc\.malloc\.mmap_threshold=/.test(env.GLIBC_TUNABLES ?? '') ? [] : [`GLIBC_TUNABLES=${MALLOC_TUNABLES} (without it freed argon2id blocks can stay in the heap)`]),
  ];
  if (missing.length === 0) return null;
  return `malloc is not set up for argon2id: start the app with ${missing.join(' and ')} in its environment, as npm start does.`;
}

let glibcRuntime: boolean | undefined;
/** Whether this Node runs on glibc (Node's diagnostic report names its version), asked once. */
export function isGlibc(): boolean {
  glibcRuntime ??= typeof (process.report?.getReport() as { header?: { glibcVersionRuntime?: unknown } } | undefined)?.header?.glibcVersionRuntime === 'string';
  return glibcRuntime;
}
